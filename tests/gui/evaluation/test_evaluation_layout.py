"""The evaluation view as a person sees it at 1280x800: the PR plot tall enough to read, the summary
without horizontal scrolling or "nan", file names (not image ids) in the error and confusion lists."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from pixels import drawn_whole
from test_evaluation_view import run_evaluation, small_project  # noqa: F401 - fixture


def open_evaluation(qtbot, store, first: tuple[str, str] | None = None):
    """The window at 1280x800 with a project, then (first: a Model menu item and the dock it opens)
    that dock, then the Evaluation dock, opened from the Model menu as a person opens them."""
    from gui.evaluation.panel import EvaluationPanel
    from gui.main_window import MainWindow
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_project(store)
    panel = win.findChild(EvaluationPanel)
    for prefix, dock in ([first] if first else []) + [("Evaluate predictions", "evaluation")]:
        next(a for a in win.menu("&Model").actions() if a.text().startswith(prefix)).trigger()
        qtbot.waitUntil(lambda d=win.findChild(QDockWidget, dock): d.isVisible())
        qtbot.wait(50)
    return win, panel


@pytest.fixture
def small_screen(qtbot, small_project, settings_dir):  # noqa: F811 - the fixture imported above
    """The window at 1280x800 with a project, then the Evaluation dock opened from the Model menu."""
    win, panel = open_evaluation(qtbot, small_project["store"])
    run_evaluation(qtbot, panel)
    yield win, panel, small_project
    panel.shutdown()
    win.close()


def test_the_pr_plot_is_at_least_250_px_high_with_the_dock_open(qtbot, small_screen):
    win, panel, _ = small_screen
    dock = win.findChild(QDockWidget, "evaluation")
    assert dock.isVisible() and win.dockWidgetArea(dock) == Qt.RightDockWidgetArea
    assert win.canvas.height() >= 0.6 * win.height()  # the canvas keeps most of the window
    assert win.canvas.width() >= 0.3 * win.width()
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.pr_chart.isVisible())
    qtbot.wait(50)
    assert panel.pr_chart.isVisible() and panel.pr_chart.height() >= 250 and panel.pr_chart.width() >= 250
    if not panel.f1_chart.isVisible():  # too short to stack both at their size: the F1 plot is a tab away
        panel._chart_tabs.setCurrentWidget(panel.f1_chart)
        qtbot.wait(50)
    assert panel.f1_chart.isVisible() and panel.f1_chart.height() >= 250 and panel.f1_chart.width() >= 250
    scroll = dock.widget()  # the dock's scroll area never scrolls: everything fits the dock
    assert not scroll.horizontalScrollBar().isVisible() and not scroll.verticalScrollBar().isVisible()
    for button in (panel.evaluate_button, panel.best_button, panel.export_csv_button):
        assert button.isVisible() and button.width() >= button.minimumSizeHint().width()
    controls = panel.status.parentWidget().parentWidget().parentWidget()  # the controls' scroll area
    assert not controls.verticalScrollBar().isVisible()  # the whole status sentence shows
    assert panel.status.height() >= panel.status.heightForWidth(panel.status.width())


def test_the_summary_fits_without_scrolling_sideways_and_never_says_nan(qtbot, small_screen):
    _, panel, _ = small_screen
    panel.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: panel.class_table.isVisible())
    qtbot.wait(50)
    for table in (panel.stats_table, panel.class_table):
        assert not table.horizontalScrollBar().isVisible()
    t, fm = panel.class_table, panel.class_table.fontMetrics()
    shown = [c for c in range(t.columnCount()) if not t.isColumnHidden(c)]
    assert {0, 1, 2, t.columnCount() - 2, t.columnCount() - 1} <= set(shown)  # class, AP, AP50, the counts
    for c in shown:  # no figure elided to "0..."
        assert all(t.columnWidth(c) >= fm.horizontalAdvance(t.item(r, c).text()) + 6 for r in range(t.rowCount()))
    names = [panel.stats_table.item(r, c).text() for r in range(6) for c in (0, 2)]
    assert names[:4] == ["AP", "AR@1", "AP50", "AR@10"]
    assert "IoU=0.50:0.95" in panel.stats_table.item(0, 0).toolTip()
    panel.set_threshold(1.0)  # nothing scores 1.0: no prediction is kept, precision is undefined
    assert "TP 0   FP 0   FN 4" in panel.counts_label.text()
    assert "nan" not in panel.counts_label.text() and "precision -" in panel.counts_label.text()
    cells = [panel.stats_table.item(r, c).text() for r in range(6) for c in range(4)]
    cells += [panel.class_table.item(r, c).text() for r in range(2) for c in range(panel.class_table.columnCount())]
    assert not [c for c in cells if "nan" in c.lower()]


def test_error_and_confusion_lists_name_the_files(qtbot, small_screen):
    win, panel, p = small_screen
    panel.set_threshold(0.0)
    panel.tabs.setCurrentIndex(3)
    model = panel.errors_model
    column = [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount())].index("Image")
    assert [model.data(model.index(r, column)) for r in range(model.rowCount())] == ["im1.png", "im2.png"]
    view = panel.errors_view
    assert view.columnWidth(column) >= view.fontMetrics().horizontalAdvance("im1.png")  # not elided
    panel.open_object(model, 1)
    qtbot.waitUntil(lambda: win.session.image_id == p["images"][2], timeout=5000)  # the row opens its image
    panel.tabs.setCurrentIndex(2)
    panel.open_cell(1, 0)  # label b predicted as a: image 2
    cell = panel.cell_model
    assert cell.data(cell.index(0, column)) == "im1.png"
    header, rows = panel.csv_table("errors")
    assert header[column] == "Image" and rows[0][column] == "im1.png"


def test_in_a_tall_narrow_dock_the_controls_go_on_top_and_the_plots_stack(qtbot):
    from gui.evaluation.panel import EvaluationPanel

    class Window:  # the panel needs only show_image from its window
        def show_image(self, *_):
            pass
    panel = EvaluationPanel(Window())
    qtbot.addWidget(panel)
    panel.resize(460, 900)
    panel.show()
    qtbot.waitExposed(panel)
    panel.tabs.setCurrentIndex(1)
    qtbot.wait(50)
    assert panel.tabs.y() > panel.evaluate_button.mapTo(panel, panel.evaluate_button.rect().topLeft()).y()
    assert panel.pr_chart.y() < panel.f1_chart.y() and panel.pr_chart.height() >= 250
    panel.resize(1280, 330)
    qtbot.wait(50)
    assert panel.tabs.x() > panel.evaluate_button.mapTo(panel, panel.evaluate_button.rect().topLeft()).x()
    assert panel.pr_chart.x() < panel.f1_chart.x() and panel.pr_chart.height() >= 250


def test_the_summary_shows_the_tide_breakdown_beside_the_figures(qtbot, small_screen):
    """small_project by design: image 2's b predicted as a (classification), image 3's prediction on
    an empty image (background), image 4's label that nothing finds (missed)."""
    _, panel, _ = small_screen
    panel.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: panel.tide_table.isVisible())
    t = panel.tide_table
    shown = {t.item(r, 0).text(): (int(t.item(r, 1).text()), float(t.item(r, 2).text())) for r in range(t.rowCount())}
    assert {k: v[0] for k, v in shown.items()} == {"classification": 1, "localisation": 0, "both": 0,
                                                   "duplicate": 0, "background": 1, "missed": 1}
    tide = panel.report.tide
    assert all(abs(shown[k][1] - tide.dap[k]) < 0.006 for k in shown)  # dAP as the engine computed it
    assert max(tide.dap.values()) > 0
    worst = max(shown, key=lambda k: shown[k][1])
    assert t.item([t.item(r, 0).text() for r in range(t.rowCount())].index(worst), 0).font().bold()
    assert not t.horizontalScrollBar().isVisible() and not t.verticalScrollBar().isVisible()
    s = panel.stats_table  # side by side with the 12 figures, both whole
    assert t.y() == s.y() and t.x() >= s.x() + s.width()
    assert t.x() + t.width() <= panel.class_table.x() + panel.class_table.width() + 2
    header, rows = panel.csv_table("tide")
    assert header == ["error", "count", "dAP"] and [r[1] for r in rows] == ["1", "0", "0", "0", "1", "1"]


def test_each_axis_label_of_the_plots_says_the_value_at_its_place(qtbot, small_screen, axis_labels):
    """The labels drawn along both axes of the PR and F1 plots step evenly from 0 to 1."""
    win, panel, _ = small_screen
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.pr_chart.isVisible())
    qtbot.wait(50)
    for chart in (panel.pr_chart, panel.f1_chart):
        if not chart.isVisible():  # the dock too short to stack both: the F1 plot is a tab away
            panel._chart_tabs.setCurrentWidget(chart)
            qtbot.waitUntil(chart.isVisible)
            qtbot.wait(50)
        for values in axis_labels(chart):
            assert values[0] == 0.0 and values[-1] == 1.0


def test_opened_above_the_training_dock_the_view_keeps_its_form_whole_and_readable(qtbot, small_project,  # noqa: F811
                                                                                  settings_dir):
    """At 1280x800 with Training open below: the bottom docks give up height to the dock just opened,
    the controls stay in rows above the tabs (the column beside them would not fit the dock's width:
    it scrolled sideways), and the status sentence is drawn whole, not under the counts above it."""
    from gui.dock_placement import BOTTOM_BESIDE_SIDE
    win, panel = open_evaluation(qtbot, small_project["store"], ("Train on this project", "training"))
    training = win.findChild(QDockWidget, "training")
    try:
        run_evaluation(qtbot, panel)
        # As on a project of 300 images: the sentence takes two lines in this dock.
        panel.status.setText(panel.status.text().replace("4 images", "300 images") + " " + panel.status.text())
        qtbot.wait(100)
        assert training.isVisible() and training.height() <= BOTTOM_BESIDE_SIDE * win.height() + 2
        dock = win.findChild(QDockWidget, "evaluation")
        assert not dock.widget().horizontalScrollBar().isVisible()
        assert not panel._wide
        counts, status = panel.counts_label, panel.status
        assert status.height() >= status.heightForWidth(status.width())
        assert status.geometry().top() >= counts.geometry().bottom()
        controls = status.parentWidget().parentWidget().parentWidget()
        assert not controls.verticalScrollBar().isVisible()
        assert controls.viewport().height() >= status.geometry().bottom()
        for label in (counts, status):  # on screen as the labels paint themselves: nothing covers either
            assert drawn_whole(win, label, inset=0)
    finally:
        panel.shutdown()
        win.close()


def test_a_status_of_two_lines_is_drawn_whole_after_the_layout_changed_its_arrangement(qtbot):
    """The controls go from rows to a column and back (as a dock is resized); whatever the layout handed
    out on the way is kept alive (as a Python wrapper can be): the new status still gets its two lines."""
    from PySide6.QtWidgets import QScrollArea
    from gui.evaluation.panel import EvaluationPanel
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    panel = EvaluationPanel(None)
    scroll.setWidget(panel)
    qtbot.addWidget(scroll)
    scroll.resize(576, 700)
    scroll.show()
    qtbot.waitExposed(scroll)
    kept, take = [], panel._grid.takeAt
    panel._grid.takeAt = lambda i: kept.append(take(i)) or kept[-1]
    for wide in (True, False):
        panel._arrange(wide)
        qtbot.wait(20)
    panel.status.setText("bbox evaluation of 300 images (hotcoco, 0.06 s). AP 0.331, AP50 0.699. Scored: all 300 "
                         "images, and a few more words so that the sentence takes two lines at this width.")
    qtbot.wait(50)
    status = panel.status
    assert status.heightForWidth(status.width()) > status.fontMetrics().height() * 1.5  # two lines
    assert status.height() >= status.heightForWidth(status.width())
    panel.shutdown()
