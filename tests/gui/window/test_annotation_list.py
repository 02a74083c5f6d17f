"""The annotation list of the current image: relabel, hide, lock, delete, provenance, and the
Edit menu's undo/redo keys on what it did."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from annotations.model import PREDICTION, Annotation, ModelRun
from gui.panels.annotation_list import COL_CATEGORY, COL_FROM, COL_LOCK, COL_SHOW

from window_helpers import canvas_view, drag, press


def _click_row(qtbot, panel, ann_id, modifier=Qt.NoModifier, column=COL_CATEGORY):
    item = panel.item_for(ann_id)
    panel.tree.scrollToItem(item)  # as a person scrolls to a row before clicking it
    rect = panel.tree.visualItemRect(item)
    x = panel.tree.header().sectionViewportPosition(column) + 8
    qtbot.mouseClick(panel.tree.viewport(), Qt.LeftButton, modifier, pos=QPoint(x, rect.center().y()))


def _shown_image_with(win, n):
    for iid in win.store.image_ids():
        if len(win.store.annotations(image_id=iid)) >= n:
            win.show_image(iid)
            return iid
    raise AssertionError("demo project has no image with enough shapes")


def test_relabel_from_the_list_then_undo_and_redo_with_keys(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = _shown_image_with(win, 2)
    panel = win.annotation_list
    qtbot.waitUntil(lambda: len(panel.ids()) >= 2, timeout=3000)
    a, b = panel.ids()[:2]
    _click_row(qtbot, panel, a)
    _click_row(qtbot, panel, b, Qt.ControlModifier)
    assert set(panel.selected_ids()) == {a, b}
    qtbot.waitUntil(lambda: set(win.canvas.selected_ids()) == {a, b}, timeout=3000)
    assert win.labelling.selection_label.text() == "2 selected"
    original = {i: win.store.annotation(i).category_id for i in (a, b)}
    target = next(c for c in win.store.categories() if c.id not in original.values())
    panel.relabel_box.setCurrentIndex(panel.relabel_box.findData(target.id))
    qtbot.mouseClick(panel.relabel_button, Qt.LeftButton)
    assert {win.store.annotation(i).category_id for i in (a, b)} == {target.id}
    qtbot.waitUntil(lambda: panel.item_for(a).text(COL_CATEGORY) == target.name, timeout=3000)

    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)
    assert {i: win.store.annotation(i).category_id for i in (a, b)} == original
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert {win.store.annotation(i).category_id for i in (a, b)} == {target.id}
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)
    press(qtbot, win, Qt.Key_Y, Qt.ControlModifier)
    assert {win.store.annotation(i).category_id for i in (a, b)} == {target.id}
    assert win.canvas.current_image_id == iid


def test_delete_from_the_list_is_undoable(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = win.canvas.current_image_id
    panel = win.annotation_list
    victim = panel.ids()[0]
    before = win.store.annotation(victim)
    _click_row(qtbot, panel, victim)
    qtbot.mouseClick(panel.delete_button, Qt.LeftButton)
    assert win.store.annotation(victim) is None
    qtbot.waitUntil(lambda: victim not in panel.ids(), timeout=3000)
    win.canvas.undo_stack.undo()
    restored = win.store.annotation(victim)
    assert restored is not None and restored.bbox == before.bbox and restored.image_id == iid
    qtbot.waitUntil(lambda: victim in panel.ids(), timeout=3000)


def test_hide_removes_the_shape_from_the_canvas(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    panel = win.annotation_list
    view = canvas_view(win.canvas)
    win.canvas.select_annotations([])
    qtbot.wait(50)
    shown = view.grab().toImage()
    aid = panel.ids()[0]
    _click_row(qtbot, panel, aid, column=COL_SHOW)
    assert aid in panel.hidden and panel.item_for(aid).checkState(COL_SHOW) == Qt.Unchecked
    win.canvas.select_annotations([])
    qtbot.waitUntil(lambda: view.grab().toImage() != shown, timeout=3000)
    _click_row(qtbot, panel, aid, column=COL_SHOW)
    assert aid not in panel.hidden
    win.canvas.select_annotations([])
    qtbot.waitUntil(lambda: view.grab().toImage() == shown, timeout=3000)


def test_a_locked_shape_does_not_move_or_delete(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    panel = win.annotation_list
    ann = win.store.annotation(panel.ids()[0])
    _click_row(qtbot, panel, ann.id, column=COL_LOCK)
    assert ann.id in panel.locked
    x, y, w, h = ann.bbox
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_V)
    assert win.canvas.tool() == "select"
    drag(qtbot, win.canvas, (x + w / 2, y + h / 2), (x + w / 2 + 15, y + h / 2 + 10))
    qtbot.wait(50)
    win.canvas.select_annotations([ann.id])
    press(qtbot, win, Qt.Key_Delete)
    qtbot.wait(50)
    after = win.store.annotation(ann.id)
    assert after is not None and after.bbox == ann.bbox and after.polygons == ann.polygons

    # Unlocked, the same drag moves it.
    _click_row(qtbot, panel, ann.id, column=COL_LOCK)
    assert ann.id not in panel.locked
    drag(qtbot, win.canvas, (x + w / 2, y + h / 2), (x + w / 2 + 15, y + h / 2 + 10))
    qtbot.waitUntil(lambda: win.store.annotation(ann.id).bbox != ann.bbox, timeout=3000)
    moved = win.store.annotation(ann.id).bbox
    assert abs(moved[0] - (x + 15)) <= 2 and abs(moved[1] - (y + 10)) <= 2


def test_provenance_and_accepting_a_prediction(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = win.canvas.current_image_id
    cat = win.store.categories()[0].id
    run = win.store.add_run(ModelRun(None, "fasterrcnn_tiny"))
    pid = win.store.add_annotation(Annotation(None, iid, cat, bbox=(3, 4, 30, 20), score=0.875,
                                              status=PREDICTION, source="fasterrcnn_tiny", run_id=run))
    panel = win.annotation_list
    qtbot.waitUntil(lambda: panel.item_for(pid) is not None, timeout=3000)
    item = panel.item_for(pid)
    assert item.text(COL_FROM) == "prediction \u00b7 fasterrcnn_tiny 0.88"
    assert item.font(COL_FROM).italic()
    hand = next(i for i in panel.ids() if i != pid)
    assert panel.item_for(hand).text(COL_FROM) == "hand"
    assert panel.title.text().endswith(", 1 prediction")

    _click_row(qtbot, panel, pid)
    assert panel.accept_button.isEnabled()
    qtbot.mouseClick(panel.accept_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.store.annotation(pid).status == "label", timeout=3000)
    accepted = win.store.annotation(pid)
    assert accepted.source == "fasterrcnn_tiny" and accepted.score == 0.875
    qtbot.waitUntil(lambda: panel.item_for(pid).text(COL_FROM) == "fasterrcnn_tiny 0.88", timeout=3000)
