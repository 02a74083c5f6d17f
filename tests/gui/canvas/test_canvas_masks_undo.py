"""Brush and eraser strokes, polygon <-> mask, and undo/redo restoring the store exactly."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from annotations import geometry
from annotations.model import MASK, POLYGON, Annotation
from annotations.store import Store
from canvas_helpers import click, drag, grab, key, snapshot
from conftest import IMAGE_H, IMAGE_W


def capsule(p, q, r, h=IMAGE_H, w=IMAGE_W) -> np.ndarray:
    """Pixels whose centre lies within r of segment p-q (what a brush stroke is defined to cover)."""
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    px, py = p
    dx, dy = q[0] - px, q[1] - py
    t = np.clip(((xx - px) * dx + (yy - py) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
    return ((xx - (px + t * dx)) ** 2 + (yy - (py + t * dy)) ** 2 <= r * r).astype(np.uint8)


def test_brush_stroke_creates_a_mask_with_the_right_area(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("brush")
    canvas.set_brush_radius(5)
    canvas.set_current_category(dog)
    drag(qtbot, canvas, (20, 30), (60, 30), steps=8)
    anns = store.annotations()
    assert len(anns) == 1 and anns[0].kind == MASK and anns[0].category_id == dog
    mask = geometry.decode_rle(anns[0].rle)
    assert mask.shape == (IMAGE_H, IMAGE_W)
    assert np.array_equal(mask, capsule((20, 30), (60, 30), 5))
    # and close to the continuous area of a 40 x 10 capsule
    assert anns[0].area == pytest.approx(40 * 10 + math.pi * 25, rel=0.03)
    assert anns[0].bbox == pytest.approx(geometry.rle_bbox(anns[0].rle))


def test_eraser_removes_pixels_and_undo_redo_restore_them(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("brush")
    canvas.set_brush_radius(6)
    drag(qtbot, canvas, (20, 30), (80, 30), steps=6)
    painted = snapshot(store)
    canvas.set_tool("eraser")
    canvas.set_brush_radius(3)
    drag(qtbot, canvas, (50, 15), (50, 45), steps=6)
    after = store.annotations()[0]
    expected = capsule((20, 30), (80, 30), 6) & (1 - capsule((50, 15), (50, 45), 3))
    assert np.array_equal(geometry.decode_rle(after.rle), expected)
    assert after.area == expected.sum()
    erased = snapshot(store)
    canvas.undo_stack.undo()
    assert snapshot(store) == painted and canvas.annotations() == painted
    canvas.undo_stack.redo()
    assert snapshot(store) == erased and canvas.annotations() == erased
    # the stroke is kept as the pixels it flipped, not as two copies of the mask
    from gui.commands import mask_pixels_changed
    cmd = canvas.undo_stack.command(canvas.undo_stack.index() - 1)
    assert mask_pixels_changed(cmd) == int(capsule((20, 30), (80, 30), 6).sum() - expected.sum())
    assert set(cmd._diffs[after.id]) == {"rle", "area"}  # bbox unchanged by this stroke


def test_brushing_into_a_selected_mask_extends_it(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("brush")
    canvas.set_brush_radius(4)
    drag(qtbot, canvas, (20, 20), (30, 20))
    drag(qtbot, canvas, (100, 90), (100, 100))  # still selected: same annotation grows
    anns = store.annotations()
    assert len(anns) == 1
    assert np.array_equal(geometry.decode_rle(anns[0].rle),
                          capsule((20, 20), (30, 20), 4) | capsule((100, 90), (100, 100), 4))


def test_polygon_to_mask_and_back(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    pid = store.add_annotation(Annotation(None, ids[0], cat, kind=POLYGON, polygons=[[10, 10, 60, 10, 60, 40, 10, 40]]))
    canvas = make_canvas(store, ids[0])
    canvas.polygon_to_mask([pid])
    a = store.annotation(pid)
    assert a.kind == MASK and a.polygons is None and a.area == 50 * 30
    canvas.mask_to_polygon([pid])
    b = store.annotation(pid)
    assert b.kind == POLYGON and b.rle is None
    assert geometry.polygon_area(b.polygons) == pytest.approx(50 * 30)
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert store.annotation(pid).polygons == [[10, 10, 60, 10, 60, 40, 10, 40]]


def test_undo_and_redo_restore_the_store_exactly(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    canvas = make_canvas(store, ids[0])
    states = [snapshot(store)]
    canvas.set_tool("rectangle")
    drag(qtbot, canvas, (10, 10), (50, 40))
    states.append(snapshot(store))
    canvas.set_tool("polygon")
    for x, y in ((70, 10), (120, 10), (100, 60)):
        click(qtbot, canvas, x, y)
    key(qtbot, canvas, Qt.Key_Return)
    states.append(snapshot(store))
    canvas.set_tool("select")
    drag(qtbot, canvas, (100, 20), (110, 40))  # move the polygon
    states.append(snapshot(store))
    canvas.relabel(canvas.selected_ids(), dog)
    states.append(snapshot(store))
    click(qtbot, canvas, 20, 20)
    key(qtbot, canvas, Qt.Key_Delete)
    states.append(snapshot(store))
    assert len(states[-1]) == 1 and len({repr(s) for s in states}) == len(states)
    for expected in reversed(states[:-1]):
        canvas.undo_stack.undo()
        assert snapshot(store) == expected
        assert canvas.annotations() == expected
    for expected in states[1:]:
        canvas.undo_stack.redo()
        assert snapshot(store) == expected
        assert canvas.annotations() == expected


def test_undo_is_at_least_200_steps_deep(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    box = store.add_annotation(Annotation(None, ids[0], cat, bbox=(10, 10, 20, 20)))
    canvas = make_canvas(store, ids[0])
    canvas.select_annotations([box])
    for i in range(210):
        key(qtbot, canvas, Qt.Key_Down if i % 7 < 3 else Qt.Key_Right)  # 90 down, 120 right
    assert store.annotation(box).bbox == (130, 100, 20, 20)
    assert canvas.undo_stack.count() == 210
    while canvas.undo_stack.canUndo():
        canvas.undo_stack.undo()
    assert store.annotation(box).bbox == (10, 10, 20, 20)
    while canvas.undo_stack.canRedo():
        canvas.undo_stack.redo()
    assert store.annotation(box).bbox == (130, 100, 20, 20)


def test_the_store_holds_the_work_after_the_canvas_is_closed(qtbot, project, make_canvas, tmp_path):
    store, ids, (cat, _) = project
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("rectangle")
    drag(qtbot, canvas, (10, 10), (50, 40))
    canvas.set_tool("brush")
    drag(qtbot, canvas, (100, 80), (120, 80))
    expected = snapshot(store)
    canvas.close()
    root = store.root
    store.close()
    with Store.open(root, create=False) as again:
        assert snapshot(again) == expected
        assert [a.kind for a in again.annotations()] == ["box", "mask"]


def test_a_stroke_in_progress_is_drawn_and_stored_only_on_release(qtbot, project, make_canvas):
    from canvas_helpers import grab, move, press, release, vp
    store, ids, (cat, _) = project  # cat is red, image 0 is grey 80
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("brush")
    canvas.set_brush_radius(4)
    press(qtbot, canvas, 20, 20)
    for x in (30, 40, 50, 60):
        move(qtbot, canvas, x, 20)
    px = grab(canvas)
    for x in (20, 45, 60):
        p = px[vp(canvas, x, 20).y(), vp(canvas, x, 20).x()].astype(int)
        assert p[0] > p[1] + 40, f"stroke not drawn at x={x}"
    far = px[vp(canvas, 40, 60).y(), vp(canvas, 40, 60).x()]
    assert tuple(far) == (80, 80, 80)
    assert store.annotations() == []
    release(qtbot, canvas, 60, 20)
    assert len(store.annotations()) == 1


def test_the_eraser_finds_the_mask_under_the_cursor_and_removes_it_when_empty(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    m = np.zeros((IMAGE_H, IMAGE_W), np.uint8)
    m[20:24, 20:24] = 1
    a = store.add_annotation(Annotation(None, ids[0], cat, kind=MASK, rle=geometry.encode_mask(m)))
    canvas = make_canvas(store, ids[0])
    assert canvas.selected_ids() == []
    canvas.set_tool("eraser")
    canvas.set_brush_radius(6)
    drag(qtbot, canvas, (22, 22), (22.5, 22))
    assert store.annotation(a) is None  # nothing left: the annotation goes
    canvas.undo_stack.undo()
    assert np.array_equal(geometry.decode_rle(store.annotation(a).rle), m)


def test_a_mask_pasted_onto_a_smaller_image_is_clipped_to_it(qtbot, project, make_canvas):
    from annotations.imageio import write_rgb
    from annotations.model import ImageRecord
    store, ids, (cat, _) = project
    m = np.zeros((IMAGE_H, IMAGE_W), np.uint8)
    m[30:50, 60:100] = 1  # 20 x 40
    a = store.add_annotation(Annotation(None, ids[0], cat, kind=MASK, rle=geometry.encode_mask(m)))
    write_rgb(store.root / "small.png", np.zeros((40, 80, 3), np.uint8))
    small = store.add_image(ImageRecord(None, "small.png", 80, 40))
    canvas = make_canvas(store, ids[0])
    canvas.select_annotations([a])
    canvas.copy_selection()
    canvas.show_image(small)
    (new,) = canvas.paste()
    b = store.annotation(new)
    assert b.rle["size"] == [40, 80]
    assert b.area == 10 * 20 and b.bbox == (60, 30, 20, 10)


@pytest.fixture
def large_mask_project(tmp_path):
    """A 4000x3000 image (its pixels are a small file: only the record's size matters) with one mask."""
    from annotations.imageio import write_rgb
    from annotations.model import Category, ImageRecord
    root = tmp_path / "large"
    store = Store.open(root)
    write_rgb(root / "small.png", np.zeros((30, 40, 3), np.uint8))
    cat = store.add_category(Category(None, "thing"))
    image_id = store.add_image(ImageRecord(None, "small.png", 4000, 3000))
    m = np.zeros((3000, 4000), np.uint8)
    m[2950:2990, 3920:3985] = 1  # by the bottom-right corner
    m[1000:1200, 2000:2300] = 1
    ann = store.add_annotation(Annotation(None, image_id, cat, kind=MASK, rle=geometry.encode_mask(m)))
    yield store, image_id, ann, m
    store.close()


@pytest.mark.parametrize("erase", [False, True])
def test_stroke_on_a_large_image_near_its_edge_undoes_and_redoes_exactly(qtbot, large_mask_project, make_canvas,
                                                                         erase):
    store, image_id, ann_id, m = large_mask_project
    canvas = make_canvas(store, image_id)
    canvas.set_zoom(4.0)
    canvas.view.centerOn(3950, 2950)
    canvas.select_annotations([ann_id])
    canvas.set_tool("eraser" if erase else "brush")
    canvas.set_brush_radius(8)
    before = snapshot(store)
    drag(qtbot, canvas, (3880, 2940), (3996, 2996), steps=6)  # the stroke runs off the corner
    after = snapshot(store)
    # the points the canvas got (viewport pixels mapped back to the image), one capsule per mouse move
    pts = [(3880 + (3996 - 3880) * k / 6, 2940 + (2996 - 2940) * k / 6) for k in range(7)]
    pts = [(q.x(), q.y()) for q in (canvas.view.mapToScene(canvas.view.mapFromScene(*p)) for p in pts)]
    stroke = np.zeros((3000, 4000), np.uint8)
    for p, q in zip(pts, pts[1:]):  # drawn in the corner only (the stroke lies there)
        stroke[2800:, 3700:] |= capsule((p[0] - 3700, p[1] - 2800), (q[0] - 3700, q[1] - 2800), 8, 200, 300)
    expected = m & (1 - stroke) if erase else m | stroke
    assert (expected != m).sum() > 500
    assert np.array_equal(geometry.decode_rle(after[0].rle), expected)
    assert after[0].area == expected.sum() and after[0].bbox == pytest.approx(geometry.rle_bbox(after[0].rle))
    for _ in range(2):
        canvas.undo_stack.undo()
        assert snapshot(store) == before and canvas.annotations() == before
        assert np.array_equal(geometry.decode_rle(store.annotation(ann_id).rle), m)
        canvas.undo_stack.redo()
        assert snapshot(store) == after and canvas.annotations() == after
        assert np.array_equal(geometry.decode_rle(store.annotation(ann_id).rle), expected)
    from gui.commands import mask_pixels_changed
    cmd = canvas.undo_stack.command(canvas.undo_stack.index() - 1)
    assert mask_pixels_changed(cmd) == int((m ^ expected).sum())
    assert cmd._diffs[ann_id]["rle"][0].delta.size < 200  # the stroke's flips, not the frame's


def test_a_stroke_shows_its_mask_from_its_preview_exactly_as_decoded(qtbot, project, make_canvas, monkeypatch):
    """On release the mask's item takes the stroke preview's image (nothing is decoded for it), and
    the canvas shows the same pixels as when the mask is drawn from its stored RLE."""
    from gui.canvas import painting
    store, ids, (cat, _) = project
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("brush")
    canvas.set_brush_radius(6)
    drag(qtbot, canvas, (20, 30), (80, 30), steps=6)  # a new mask
    canvas.set_tool("eraser")
    canvas.set_brush_radius(3)
    decoded = []
    real = geometry.crop_rle
    monkeypatch.setattr(geometry, "crop_rle", lambda rle: decoded.append(1) or real(rle))
    drag(qtbot, canvas, (50, 15), (50, 45), steps=6)  # an edit of it: the press decodes, the release not
    assert len(decoded) == 1
    (ann,) = store.annotations()
    assert np.array_equal(geometry.decode_rle(ann.rle),
                          capsule((20, 30), (80, 30), 6) & (1 - capsule((50, 15), (50, 45), 3)))
    canvas.set_tool("select")
    canvas.select_annotations([])
    qtbot.wait(10)
    shown = grab(canvas)
    painting.MASKS._images.clear()
    item = canvas._items[ann.id]
    item._key = None
    item.set_annotation(ann, canvas._ctx)  # drawn again from the stored RLE
    qtbot.wait(10)
    again = grab(canvas)
    assert np.array_equal(shown, again)
    assert (shown != grab_without(canvas, item)).any()  # the mask is on screen at all


def grab_without(canvas, item) -> np.ndarray:
    item.setVisible(False)
    try:
        return grab(canvas)
    finally:
        item.setVisible(True)
