"""The evaluation view in the real window: evaluate a small project, move the threshold slider, click
a confusion cell and an error row, and land on the right image; export plots and tables."""
import csv

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from annotations.imageio import write_rgb
from annotations.model import PREDICTION, Annotation, Category, ImageRecord, ModelRun


@pytest.fixture
def small_project(store):
    """Two classes, four 64x64 images. By design (IoU 0.5):
    image 1: label a (TP by the 0.9 prediction), label b (TP by the 0.6 prediction, IoU 380/420);
    image 2: label b predicted as a at 0.8 (wrong class); image 3: no label, b predicted at 0.3
    (background); image 4: label b that nothing finds."""
    a, b = store.add_categories([Category(None, "a"), Category(None, "b")])
    images = []
    for i in range(4):
        name = f"im{i}.png"
        write_rgb(store.root / name, np.full((64, 64, 3), 40 * i, np.uint8))
        images.append(store.add_image(ImageRecord(None, name, 64, 64, "val")))
    im1, im2, im3, im4 = images
    labels = store.add_annotations([
        Annotation(None, im1, a, bbox=(4, 4, 20, 20)), Annotation(None, im1, b, bbox=(30, 30, 20, 20)),
        Annotation(None, im2, b, bbox=(10, 10, 30, 30)), Annotation(None, im4, b, bbox=(20, 20, 20, 20))])
    run = store.add_run(ModelRun(None, "toy-detector"))
    pred = lambda img, cat, box, score: Annotation(None, img, cat, bbox=box, score=score, status=PREDICTION,  # noqa: E731
                                                  source="toy-detector", run_id=run)
    preds = store.add_annotations([pred(im1, a, (4, 4, 20, 20), 0.9), pred(im2, a, (10, 10, 30, 30), 0.8),
                                   pred(im1, b, (31, 30, 20, 20), 0.6), pred(im3, b, (0, 0, 16, 16), 0.3)])
    return {"store": store, "images": images, "labels": labels, "preds": preds, "run": run, "cats": (a, b)}


@pytest.fixture
def window_with_panel(qtbot, small_project):
    from gui.evaluation.panel import EvaluationPanel
    from gui.main_window import MainWindow
    win = MainWindow()
    win.resize(1280, 800)  # the size these tests' coordinates assume
    qtbot.addWidget(win)
    win.open_project(small_project["store"])
    panel = win.findChild(EvaluationPanel)
    action = next(a for a in win.menu("&Model").actions() if a.text().startswith("Evaluate predictions"))
    win.show()
    qtbot.waitExposed(win)
    action.trigger()  # as a person opens it, from the menu of the window on screen
    qtbot.waitUntil(lambda: panel.visibleRegion().boundingRect().height() > 100, timeout=3000)
    yield win, panel, small_project
    panel.shutdown()
    win.close()


def run_evaluation(qtbot, panel):
    assert panel.run_combo.count() == 1 and panel.evaluate_button.isEnabled()
    with qtbot.waitSignal(panel.evaluated, timeout=30000):
        qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    return panel.report


def test_evaluate_slider_and_confusion_click(qtbot, window_with_panel):
    win, panel, p = window_with_panel
    report = run_evaluation(qtbot, panel)
    assert panel.stats_table.item(0, 1).text() == f"{report.coco.stats[0]:.3f}"
    assert panel.class_table.rowCount() == 2
    # Best pooled F1: 0.9 TP, 0.8 FP, 0.6 TP, 0.3 FP with 4 labels -> F1 .4, .333, .571, .5: best at 0.6.
    assert panel.threshold() == pytest.approx(0.6)
    assert "TP 2   FP 1   FN 2" in panel.counts_label.text()
    np.testing.assert_array_equal(panel.heatmap.matrix, [[1, 0, 0], [1, 1, 1], [0, 0, 0]])

    # The slider, driven by keys: Home -> 0 keeps every prediction.
    panel.slider.setFocus()
    qtbot.keyClick(panel.slider, Qt.Key_Home)
    assert panel.threshold() == 0.0
    np.testing.assert_array_equal(panel.heatmap.matrix, [[1, 0, 0], [1, 1, 1], [0, 1, 0]])
    assert "TP 2   FP 2   FN 2" in panel.counts_label.text()
    for _ in range(70):  # up to 0.70: only the 0.9 and 0.8 predictions stay
        qtbot.keyClick(panel.slider, Qt.Key_Right)
    assert panel.threshold() == pytest.approx(0.7)
    np.testing.assert_array_equal(panel.heatmap.matrix, [[1, 0, 0], [1, 0, 2], [0, 0, 0]])
    assert panel.last_update_ms < 200

    # Click the (label b, predicted a) cell: it lists the confusion and opens image 2.
    panel.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.heatmap.isVisible())
    im2 = p["images"][1]
    rect = panel.heatmap.cell_rect(1, 0)
    with qtbot.waitSignal(win.session.selection_changed, timeout=5000):
        qtbot.mouseClick(panel.heatmap, Qt.LeftButton, pos=rect.center())
    assert (win.session.image_id, win.session.selection) == (im2, [p["preds"][1], p["labels"][2]])
    assert panel.cell_model.rowCount() == 1
    # The missed-label cell (b, background) at 0.7 holds labels 2 (image 1) and 4 (image 4).
    with qtbot.waitSignal(win.session.selection_changed, timeout=5000):
        qtbot.mouseClick(panel.heatmap, Qt.LeftButton, pos=panel.heatmap.cell_rect(1, 2).center())
    assert sorted(panel.cell_model.row(i)["gt_id"] for i in range(2)) == [p["labels"][1], p["labels"][3]]



def test_the_view_opens_at_the_best_f1_score_exactly_not_at_the_slider_step_near_it(qtbot, window_with_panel):
    """The best F1 lies at score 0.6034; a wrong prediction at 0.601 sits between it and the slider's
    0.60. The counts are the best F1's (as `main.py evaluate` prints them), before and after the slider
    moves away and Best F1 brings it back."""
    win, panel, p = window_with_panel
    store, (a, _b) = p["store"], p["cats"]
    tp = store.annotation(p["preds"][2])
    tp.score = 0.6034
    store.update_annotation(tp)
    store.add_annotation(Annotation(None, p["images"][2], a, bbox=(40, 40, 16, 16), score=0.601, status=PREDICTION,
                                    source="toy-detector", run_id=p["run"]))
    report = run_evaluation(qtbot, panel)
    assert report.curves[None].best_threshold == pytest.approx(0.6034)
    for _ in range(2):
        assert panel.threshold() == pytest.approx(0.6034)
        assert "TP 2   FP 1   FN 2" in panel.counts_label.text()
        assert panel.threshold_label.text() == "score >= 0.6034"
        assert panel.slider.value() == 603  # the nearest slider position shows it
        panel.slider.setFocus()
        qtbot.keyClick(panel.slider, Qt.Key_Left)  # one step (0.01) down: the 0.601 prediction counts
        assert panel.threshold() == pytest.approx(0.593)
        assert "TP 2   FP 2   FN 2" in panel.counts_label.text()
        qtbot.mouseClick(panel.best_button, Qt.LeftButton)

def test_error_browser_opens_images_sorted_by_score(qtbot, window_with_panel):
    win, panel, p = window_with_panel
    run_evaluation(qtbot, panel)
    panel.set_threshold(0.0)
    panel.tabs.setCurrentIndex(3)
    qtbot.waitUntil(lambda: panel.errors_view.isVisible())
    assert panel.errors_model.rowCount() == 2
    # Sorted by score, highest first: the 0.8 wrong-class prediction, then the 0.3 background one.
    first, second = panel.errors_model.row(0), panel.errors_model.row(1)
    assert (first["reason"], first["score"]) == ("wrong_class", 0.8)
    assert (second["reason"], second["score"]) == ("background", 0.3)
    view = panel.errors_view
    pos = view.visualRect(panel.errors_model.index(1, 0)).center()
    with qtbot.waitSignal(win.session.selection_changed, timeout=5000):
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=pos)
    assert (win.session.image_id, win.session.selection) == (p["images"][2], [p["preds"][3]])
    # Missed labels, sorted by IoU with the nearest prediction of their class.
    panel.error_kind.setCurrentIndex(1)
    panel.error_sort.setCurrentIndex(1)
    assert [panel.errors_model.row(i)["gt_id"] for i in range(panel.errors_model.rowCount())] == \
        [p["labels"][2], p["labels"][3]]


def test_tables_curves_and_exports(qtbot, window_with_panel, tmp_path):
    win, panel, p = window_with_panel
    report = run_evaluation(qtbot, panel)
    # Per-class table sorts by AP when its header is clicked.
    header = panel.class_table.horizontalHeader()
    x = header.sectionViewportPosition(1) + header.sectionSize(1) // 2
    qtbot.mouseClick(header.viewport(), Qt.LeftButton, pos=QPoint(x, header.height() // 2))
    aps = [panel.class_table.item(r, 1).text() for r in range(2)]
    assert aps == sorted(aps) or aps == sorted(aps, reverse=True)
    # Curves: the mean curve by default; choosing classes redraws; hovering names the threshold.
    assert len(panel.pr_chart.series()) == 1
    panel.choose_classes([-1, p["cats"][1]])
    assert len(panel.pr_chart.series()) == 2
    panel.tabs.setCurrentIndex(1)
    qtbot.mouseClick(panel.all_classes_button, Qt.LeftButton)
    assert len(panel.pr_chart.series()) == 3 and len(panel.chosen_classes()) == 3
    panel.choose_classes([p["cats"][1]])
    qtbot.waitUntil(lambda: panel.pr_chart.isVisible())
    series = panel.pr_chart.series()[0]
    # Class b: 3 labels, the 0.6 prediction finds one -> precision 1 up to recall 1/3, at score 0.6.
    curve = report.coco.pr_curve(p["cats"][1], iou=0.5).reached()
    assert curve.recall[-1] == pytest.approx(0.33) and set(curve.scores) == {0.6}
    pos = panel.pr_chart.position_of(series, 0.2, 1.0)
    qtbot.mouseMove(panel.pr_chart.viewport(), QPoint(3, 3))
    qtbot.mouseMove(panel.pr_chart.viewport(), pos)
    qtbot.waitUntil(lambda: "score threshold 0.600" in panel.hover_label.text())
    text = panel.hover_label.text()
    assert "precision 1.000" in text
    recall = float(text.split("recall ")[1].split()[0])
    assert abs(recall - 0.2) < 0.05  # the nearest curve point to the pointer, a pixel or two off
    # Exports.
    for which in ("pr", "f1", "confusion"):
        panel.export_plot(which, tmp_path / f"{which}.png")
        assert not QImage(str(tmp_path / f"{which}.png")).isNull()
    panel.export_plot("pr", tmp_path / "pr.svg")
    assert "<svg" in (tmp_path / "pr.svg").read_text()
    panel.export_csv("classes", tmp_path / "classes.csv")
    rows = list(csv.reader((tmp_path / "classes.csv").open()))
    assert rows[0][:2] == ["Class", "AP"] and {r[0] for r in rows[1:]} == {"a", "b"}
    panel.export_csv("confusion", tmp_path / "cm.csv")
    cm = list(csv.reader((tmp_path / "cm.csv").open()))
    assert cm[0] == ["label \\ predicted", "a", "b", "background"] and len(cm) == 4
    panel.export_csv("summary", tmp_path / "summary.csv")
    summary = list(csv.reader((tmp_path / "summary.csv").open()))
    assert float(summary[1][1]) == pytest.approx(report.coco.stats[0], abs=1e-6)
    assert not list(tmp_path.glob(".*tmp*"))


def test_empty_split_and_cancel(qtbot, window_with_panel):
    win, panel, p = window_with_panel
    panel.split_combo.setCurrentIndex(1)  # train: no images there
    qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
    assert "train split has no images" in panel.status.text() and panel.report is None
    panel.split_combo.setCurrentIndex(2)  # val: all four
    job = panel.start_evaluation()
    panel.cancel_evaluation()
    assert job.wait(30) and panel.report is None and panel.evaluate_button.isEnabled()


def test_jobs_do_not_pile_up_and_closing_the_project_stops_one(qtbot, window_with_panel):
    from gui.jobs import Job
    win, panel, p = window_with_panel
    for _ in range(3):
        run_evaluation(qtbot, panel)
    qtbot.waitUntil(lambda: not panel.findChildren(Job), timeout=5000)
    job = panel.start_evaluation()
    win.close_project()
    assert job.wait(30)
    assert panel.store is None and panel.report is None and panel.run_combo.count() == 0


def test_the_status_says_what_to_do_next_for_the_open_project(qtbot, window_with_panel, tmp_path):
    """With a run: choose it and press Evaluate. Without one: how to make predictions. No project: open
    one. (It said "Open a project with predictions" with such a project open.)"""
    from annotations.store import Store
    win, panel, p = window_with_panel
    assert panel.status.text() == "Choose a run and press Evaluate."
    with Store.open(tmp_path / "no_runs") as bare:
        bare.add_image(ImageRecord(None, "a.png", 8, 8))
        win.open_project(bare)
        assert "no predictions yet" in panel.status.text() and "Predict" in panel.status.text()
        panel.set_store(None)
        assert panel.status.text().startswith("Open a project")
