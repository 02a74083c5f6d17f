"""The session is the one owner of the window's state: what the canvas, the annotation list, its
relabel box and the status bar show always agree; hide and lock come back with the project; the
features reach each other through services."""
from __future__ import annotations

import logging

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from gui.panels.annotation_list import COL_CATEGORY, COL_LOCK, COL_SHOW

from window_helpers import canvas_view, drag, image_point, image_with_shapes, press


def _agree(win, ids):
    """The four views of the selection, as a person would read them."""
    panel = win.annotation_list
    cat = win.store.annotation(ids[0]).category_id if ids else None
    return {
        "canvas": sorted(win.canvas.selected_ids()) == sorted(ids),
        "list": sorted(panel.selected_ids()) == sorted(ids),
        "status": win.labelling.selection_label.text() == (f"{len(ids)} selected" if ids else ""),
        "relabel box": not ids or panel.relabel_box.currentData() == cat,
        "buttons": panel.delete_button.isEnabled() == bool(ids) and panel.relabel_button.isEnabled() == bool(ids),
    }


def _row_click(qtbot, panel, ann_id, column=COL_CATEGORY):
    item = panel.item_for(ann_id)
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    x = panel.tree.header().sectionViewportPosition(column) + 8
    qtbot.mouseClick(panel.tree.viewport(), Qt.LeftButton, pos=QPoint(x, rect.center().y()))


def test_selection_relabel_box_list_and_status_bar_always_agree(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win)
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid and win.canvas.image_ready, timeout=5000)
    before = {a.id for a in win.store.annotations(image_id=iid)}
    cats = [c.id for c in win.store.categories()]

    # Draw a box with the second category: the new box is selected everywhere.
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_2)
    press(qtbot, win, Qt.Key_R)
    drag(qtbot, win.canvas, (5, 5), (40, 30))
    qtbot.waitUntil(lambda: len(win.store.annotations(image_id=iid)) == len(before) + 1, timeout=3000)
    (new,) = [a.id for a in win.store.annotations(image_id=iid) if a.id not in before]
    assert win.store.annotation(new).category_id == cats[1]
    qtbot.waitUntil(lambda: all(_agree(win, [new]).values()), timeout=3000)

    # Select another shape by clicking it on the canvas.
    other = next(a for a in win.store.annotations(image_id=iid) if a.id != new and a.category_id != cats[1])
    press(qtbot, win, Qt.Key_V)
    x, y, w, h = other.bbox
    widget, pos = image_point(win.canvas, x + w / 2, y + h / 2)
    hit = win.canvas.hit(win.canvas.view.mapToScene(pos))
    assert hit is not None
    qtbot.mouseClick(widget, Qt.LeftButton, pos=pos)
    target = hit.ann_id
    qtbot.waitUntil(lambda: win.canvas.selected_ids() == [target], timeout=3000)
    assert _agree(win, [target]) == dict.fromkeys(_agree(win, [target]), True)

    # Select the new box again through the list.
    _row_click(qtbot, win.annotation_list, new)
    qtbot.waitUntil(lambda: win.canvas.selected_ids() == [new], timeout=3000)
    assert all(_agree(win, [new]).values()), _agree(win, [new])

    # Esc on the canvas deselects: nothing is selected anywhere.
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_Escape)
    qtbot.waitUntil(lambda: win.session.selection == [], timeout=3000)
    assert all(_agree(win, []).values()), _agree(win, [])


def test_hidden_and_locked_shapes_come_back_with_the_project(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win)
    win.show_image(iid)
    panel = win.annotation_list
    qtbot.waitUntil(lambda: len(panel.ids()) >= 2, timeout=3000)
    a, b = panel.ids()[:2]
    _row_click(qtbot, panel, a, COL_SHOW)
    _row_click(qtbot, panel, b, COL_LOCK)
    first_cat = win.store.categories()[0].id
    win.categories.set_visible(first_cat, False)
    assert a in win.session.hidden_annotations and b in win.session.locked_annotations
    assert first_cat in win.session.hidden_categories
    win.close()

    win2 = make_window(demo_project)
    win2.show_image(iid)
    qtbot.waitUntil(lambda: win2.canvas.current_image_id == iid, timeout=3000)
    assert a in win2.session.hidden_annotations and b in win2.session.locked_annotations
    assert first_cat in win2.session.hidden_categories
    assert not win2.canvas._items[a].isVisible()
    assert win2.annotation_list.item_for(a).checkState(COL_SHOW) == Qt.Unchecked
    assert win2.annotation_list.item_for(b).checkState(COL_LOCK) == Qt.Checked


def test_training_asks_the_model_service_and_the_model_dock_comes_to_front(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    win.annotation_dock.raise_()
    qtbot.waitUntil(lambda: _front_tab(win, "Model") == "Annotations", timeout=3000)
    calls = []
    panel = win.feature("model")
    panel.load = lambda: calls.append((panel.model_combo.currentData(), panel.checkpoint_edit.text()))
    win.feature("training").use_checkpoint("fcos_compact_fpn", "/runs/best.pt")
    assert calls and calls[0][1] == "/runs/best.pt"
    qtbot.waitUntil(lambda: _front_tab(win, "Model") == "Model", timeout=3000)  # in front of its neighbours
    assert not panel.visibleRegion().isEmpty()


def _front_tab(win, title):
    """The title of the front tab of the dock tab bar that holds `title`."""
    from PySide6.QtWidgets import QTabBar
    for bar in win.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if title in titles:
            return bar.tabText(bar.currentIndex())
    return None


def test_cancelling_the_demo_leaves_nothing_and_is_no_warning(qtbot, make_window, tmp_path, monkeypatch):
    from gui.main_window import MainWindow
    win = MainWindow()
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.show()
    path = tmp_path / "demo"
    started = []
    real_run_job = win.run_job

    def run_and_cancel(job, title):
        job.cancel()  # the user pressed Cancel at once
        started.append(job)
        return real_run_job(job, title)
    monkeypatch.setattr(win, "run_job", run_and_cancel)
    win.open_demo_project(path)
    qtbot.waitUntil(lambda: "cancelled" in win.statusBar().currentMessage(), timeout=20000)
    assert started and not path.exists()
    assert not [b for b in win.findChildren(QMessageBox) if b.isVisible()]
    assert win.store is None
    win.close()


def test_a_failed_job_is_logged_with_its_traceback(qtbot, make_window, demo_project, tmp_path):
    from annotations.applog import setup_logging
    from gui.jobs import Job
    log_file = setup_logging()
    assert log_file is not None
    win = make_window(demo_project)

    def boom(ctx):
        raise ValueError("the export went wrong here")
    job = Job(boom)
    with qtbot.waitSignal(job.failed, timeout=5000):
        win.run_job(job, "Export for the test")
    for h in logging.getLogger().handlers:
        h.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "Export for the test failed" in text and "Traceback" in text and "the export went wrong here" in text
    assert any(a.text() == "Open log folder" for a in win.menu("&Help").actions())


def test_a_job_a_dock_starts_itself_is_logged_too(qtbot, qapp):
    from annotations.applog import setup_logging
    from gui.jobs import Job
    log_file = setup_logging()

    def ranking_went_wrong(ctx):
        raise ValueError("a dock's own job failed")
    job = Job(ranking_went_wrong)
    with qtbot.waitSignal(job.failed, timeout=5000):
        job.start()
    for h in logging.getLogger().handlers:
        h.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "ranking_went_wrong failed" in text and "a dock's own job failed" in text and "Traceback" in text


def test_undo_texts_survive_their_actions_being_deleted_first(qtbot, make_window, demo_project):
    import shiboken6
    win = make_window(demo_project)
    iid = image_with_shapes(win)
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid, timeout=3000)
    ann = win.store.annotations(image_id=iid)[0]
    other = next(c.id for c in win.store.categories() if c.id != ann.category_id)
    win.labelling.relabel([ann.id], other)
    assert win.actions["edit.undo"].text() == "Undo Relabel"
    undo = win.actions["edit.undo"]
    shiboken6.delete(undo)  # as when the display goes away and Qt deletes the actions first
    win.session.undo_stack.undo()  # the stack still tells its text: no "C++ object already deleted"
    assert win.store.annotation(ann.id).category_id == ann.category_id
    win.actions["edit.undo"] = win.labelling.action("edit.undo", win.session.undo_stack.undo, "&Edit")


def test_a_read_only_project_opens_says_so_and_refuses_edits(qtbot, make_window, demo_project):
    from annotations.store import Store
    from gui.main_window import MainWindow
    win = MainWindow()
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.show()
    win.open_project(Store.open(demo_project, create=False, read_only=True))
    assert win.store.read_only and "(read-only)" in win.windowTitle()
    assert win.labelling.saved_label.text() == "Read-only project"
    qtbot.waitUntil(lambda: any(b.isVisible() and "cannot be written" in b.text()
                                for b in win.findChildren(QMessageBox)), timeout=3000)
    iid = win.store.image_ids()[0]
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid, timeout=3000)
    ann = win.store.annotations(image_id=iid)[0]
    other = next(c.id for c in win.store.categories() if c.id != ann.category_id)
    win.labelling.relabel([ann.id], other)  # refused with a message, nothing changes
    assert win.store.annotation(ann.id).category_id == ann.category_id
    win.close()


def test_the_edits_service_offers_what_its_protocol_names(make_window, demo_project):
    import inspect

    from gui.features import Edits
    win = make_window(demo_project)
    edits = win.services.get("edits")
    names = [n for n, v in vars(Edits).items() if inspect.isfunction(v) and not n.startswith("_")]
    assert len(names) == 4 and all(callable(getattr(edits, n, None)) for n in names)
