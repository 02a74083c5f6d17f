"""Everyday view and selection tools: hide all / show all (H), only the current category (Shift+H),
select all (Ctrl+A), invert (Ctrl+I), delete all predictions of the image (Ctrl+Shift+Del)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from annotations.model import PREDICTION, Annotation, ModelRun

from window_helpers import canvas_view, image_with_shapes, press


def _shown(win):
    return sorted(i for i, it in win.canvas._items.items() if it.isVisible())


def test_hide_all_and_only_the_current_category(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win, categories=2)
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid, timeout=3000)
    anns = win.store.annotations(image_id=iid)
    everything = sorted(a.id for a in anns)
    assert _shown(win) == everything
    canvas_view(win.canvas).setFocus()
    win.canvas.select_annotations(everything[:1])
    press(qtbot, win, Qt.Key_H)
    assert _shown(win) == [] and win.session.selection == []
    press(qtbot, win, Qt.Key_H)
    assert _shown(win) == everything

    keep = anns[0].category_id
    win.categories.choose(keep)
    press(qtbot, win, Qt.Key_H, Qt.ShiftModifier)
    assert _shown(win) == sorted(a.id for a in anns if a.category_id == keep)
    press(qtbot, win, Qt.Key_H, Qt.ShiftModifier)  # again: everything
    assert _shown(win) == everything and not win.session.hidden_categories


def test_select_all_invert_and_delete_the_images_predictions(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win, categories=2)
    store = win.store
    run = store.add_run(ModelRun(None, "test-model"))
    cat = store.categories()[0].id
    preds = store.add_annotations([Annotation(None, iid, cat, bbox=(5 + 20 * k, 5, 10, 10), score=0.5 + 0.1 * k,
                                              status=PREDICTION, source="test-model", run_id=run) for k in range(3)])
    win.show_image(iid)
    qtbot.waitUntil(lambda: all(p in win.canvas._items for p in preds), timeout=3000)
    labels = sorted(a.id for a in store.annotations(image_id=iid) if a.status != PREDICTION)
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_A, Qt.ControlModifier)
    assert sorted(win.session.selection) == sorted(labels + preds)
    win.canvas.select_annotations(preds[:1])
    press(qtbot, win, Qt.Key_I, Qt.ControlModifier)
    assert sorted(win.session.selection) == sorted(labels + preds[1:])
    press(qtbot, win, Qt.Key_Delete, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: not store.annotations(image_id=iid, status=PREDICTION), timeout=3000)
    assert sorted(a.id for a in store.annotations(image_id=iid)) == labels  # labels stay
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(store.annotations(image_id=iid, status=PREDICTION)) == 3, timeout=3000)
