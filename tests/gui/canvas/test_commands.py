"""The undoable store commands on their own, as the panels use them too."""
from __future__ import annotations

from PySide6.QtGui import QUndoStack

from annotations.model import MASK, Annotation
from annotations.store import copy_annotation
from gui import commands
from gui.commands import AddAnnotations, ChangeAnnotations, RemoveAnnotations


def test_change_keeps_only_the_fields_that_differ_and_round_trips(project):
    store, ids, (cat, dog) = project
    a = store.annotation(store.add_annotation(Annotation(None, ids[0], cat, bbox=(1, 2, 3, 4), extra={"k": 1})))
    b = copy_annotation(a, category_id=dog, bbox=(5, 6, 7, 8), area=None)
    stack = QUndoStack()
    cmd = ChangeAnnotations(store, [a], [b], "Relabel")
    assert set(cmd._diffs[a.id]) == {"category_id", "bbox", "area"}
    stack.push(cmd)
    now = store.annotation(a.id)
    assert (now.category_id, now.bbox, now.area, now.extra) == (dog, (5, 6, 7, 8), 56.0, {"k": 1})
    stack.undo()
    assert store.annotation(a.id) == a
    stack.redo()
    assert store.annotation(a.id) == now


def test_a_mask_change_is_stored_as_the_flipped_pixels(project):
    import numpy as np
    from annotations import geometry
    store, ids, (cat, _) = project
    m = np.zeros((120, 160), np.uint8)
    m[10:50, 10:50] = 1
    a = store.annotation(store.add_annotation(Annotation(None, ids[0], cat, kind=MASK, rle=geometry.encode_mask(m))))
    m2 = m.copy()
    m2[40:60, 40:60] = 1
    rle2 = geometry.encode_mask(m2)
    cmd = ChangeAnnotations(store, [a], [copy_annotation(a, rle=rle2, bbox=geometry.rle_bbox(rle2), area=None)])
    assert commands.mask_pixels_changed(cmd) == int((m ^ m2).sum())
    stack = QUndoStack()
    stack.push(cmd)
    assert np.array_equal(geometry.decode_rle(store.annotation(a.id).rle), m2)
    stack.undo()
    assert store.annotation(a.id) == a


def test_add_and_remove_keep_ids_across_undo_redo(project):
    store, ids, (cat, _) = project
    stack = QUndoStack()
    add = AddAnnotations(store, [Annotation(None, ids[0], cat, bbox=(1, 1, 5, 5))])
    stack.push(add)
    (new_id,) = add.ids
    stack.undo()
    assert store.annotation(new_id) is None
    stack.redo()
    kept = store.annotation(new_id)
    assert kept is not None
    stack.push(RemoveAnnotations(store, [new_id]))
    assert store.annotation(new_id) is None
    stack.undo()
    assert store.annotation(new_id) == kept


def test_a_refused_write_becomes_a_message_not_an_exception(project):
    store, ids, (cat, _) = project
    stack = QUndoStack()
    heard = []
    unlisten = commands.listen(store, heard.append)
    add = AddAnnotations(store, [Annotation(None, ids[0], cat, bbox=(1, 1, 5, 5))])
    stack.push(add)
    assert heard == [set(add.ids)]
    stack.undo()
    store.delete_images([ids[0]])  # the image goes meanwhile (another part of the app)
    stack.redo()
    assert "Add" in add.error and store.annotations() == []
    assert stack.count() == 0  # the obsolete command left the stack
    unlisten()


def test_a_command_pushed_by_a_panel_refreshes_the_canvas_at_once(project, make_canvas):
    store, ids, (cat, dog) = project
    a = store.annotation(store.add_annotation(Annotation(None, ids[0], cat, bbox=(10, 10, 20, 20))))
    canvas = make_canvas(store, ids[0])
    canvas.undo_stack.push(ChangeAnnotations(store, [a], [copy_annotation(a, category_id=dog)], "Relabel"))
    assert canvas.annotations()[0].category_id == dog  # no event loop turn needed
    canvas.undo_stack.undo()
    assert canvas.annotations() == [a]
