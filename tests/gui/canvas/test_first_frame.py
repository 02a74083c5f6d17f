"""A switch shows its first frame before the image's items exist (the shapes layer's raster and the
captions drawn from the store's arrays, first_frame.py), then makes the items after the frame.
What is on screen must be what the items draw, and nothing that needs the items may see part of
them: a click, a store change, another switch."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from annotations.imageio import write_rgb
from annotations.model import MASK, POLYGON, PREDICTION, Annotation, Category, ImageRecord
from annotations.store import Store
from annotations import geometry

from canvas_helpers import click, grab
from gui.canvas.items import ShapeItem

W, H = 1600, 1200  # shown at fit in 720x560: about 0.45 view pixels per image pixel


def _ring(cx, cy, r, n, phase=0.0):
    t = np.linspace(0, 2 * math.pi, n, endpoint=False) + phase
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).round(2).ravel().tolist()


@pytest.fixture
def scene(tmp_path):
    """Two images: a blank one, and one with polygons (a few with a hole), boxes, predictions (one
    under the caption threshold), a mask and a shape of a hidden category."""
    store = Store.open(tmp_path / "p")
    cat, dog, bird = store.add_categories([Category(None, "cat", color="#ff0000"), Category(None, "dog", color="#00ff00"),
                                           Category(None, "bird", color="#4060ff")])
    for name in ("a.png", "b.png", "c.png"):
        write_rgb(tmp_path / "p" / name, np.full((H, W, 3), 90, np.uint8))
    ids = [store.add_image(ImageRecord(None, name, W, H)) for name in ("a.png", "b.png", "c.png")]
    rng = np.random.default_rng(5)
    anns = []
    for k in range(120):
        cx, cy, r = rng.uniform(80, W - 80), rng.uniform(80, H - 80), rng.uniform(15, 70)
        holes = [_ring(cx, cy, r / 3, 6)] if k % 10 == 0 else None
        anns.append(Annotation(None, ids[1], (cat, dog)[k % 2], kind=POLYGON, polygons=[_ring(cx, cy, r, 7 + k % 5)],
                               holes=holes))
    for k in range(30):
        x, y = rng.uniform(0, W - 120), rng.uniform(0, H - 90)
        anns.append(Annotation(None, ids[1], cat, bbox=(x, y, rng.uniform(20, 110), rng.uniform(20, 80))))
    for k, score in enumerate((0.9, 0.8, 0.3)):
        anns.append(Annotation(None, ids[1], dog, bbox=(100 + 200 * k, 900, 150, 120), status=PREDICTION, score=score,
                               source="model"))
    m = np.zeros((H, W), np.uint8)
    m[300:420, 1200:1400] = 1
    anns.append(Annotation(None, ids[1], cat, kind=MASK, rle=geometry.encode_mask(m)))
    anns.append(Annotation(None, ids[1], bird, kind=POLYGON, polygons=[_ring(800, 600, 200, 9)]))
    store.add_annotations(anns)
    yield store, ids, bird
    store.close()


def _show(make_canvas, store, ids, hidden=()):
    canvas = make_canvas(store, ids[0])
    canvas.fit()
    canvas.set_hidden(set(hidden), set())
    return canvas


def _pending(canvas) -> bool:
    return canvas._pending_items is not None


def _full_frame(canvas) -> np.ndarray:
    """The view drawn again from the items alone."""
    canvas.finish_items()
    canvas._shapes.invalidate_all()
    canvas._captions.changed()
    return grab(canvas)


def test_the_first_frame_shows_what_the_items_draw(make_canvas, scene):
    store, ids, bird = scene
    canvas = _show(make_canvas, store, ids, hidden={bird})
    canvas.show_image(ids[1])
    assert _pending(canvas)  # the items are not made yet ...
    first = grab(canvas)  # ... and the frame shows every shape (its raster adopted, not drawn from items)
    assert _pending(canvas) and canvas._shapes.sharp_frames == 0
    full = _full_frame(canvas)
    assert canvas._shapes.sharp_frames == 1
    assert len(canvas.annotations()) == len(store.annotations(image_id=ids[1]))
    drawn = (np.abs(full.astype(int) - 90).max(2) > 0)
    assert drawn.mean() > 0.2  # shapes, captions and the mask cover a good part of the view
    differ = np.abs(first.astype(int) - full.astype(int)).max(2) > 0
    assert differ.sum() == 0, f"{differ.sum()} pixels differ between the first frame and the items' frame"


def test_a_dense_outline_is_thinned_for_the_first_frame_by_less_than_a_pixel(make_canvas, scene, tmp_path):
    store, ids, _ = scene
    traced = []  # outlines traced pixel by pixel (a mask turned polygon): 4 points per view pixel at fit
    for k in range(12):
        x0, y0, w, h = 100 + 120 * k, 150 + 60 * (k % 4), 80 + 10 * k, 300
        pts = [(x0 + t, y0) for t in range(w)] + [(x0 + w, y0 + t) for t in range(h)] \
            + [(x0 + w - t, y0 + h) for t in range(w)] + [(x0, y0 + h - t) for t in range(h)]
        traced.append(Annotation(None, ids[2], 1, kind=POLYGON, polygons=[[float(v) for p in pts for v in p]]))
    store.add_annotations(traced)
    canvas = _show(make_canvas, store, ids)
    canvas.show_image(ids[2])
    first = grab(canvas)
    full = _full_frame(canvas)
    differ = np.abs(first.astype(int) - full.astype(int)).max(2) > 0
    r, g, b = (full[..., c].astype(int) for c in range(3))
    stroke = (r > 200) & (g < 60) & (b < 60)  # the 1-pixel outlines, opaque red; the fills are translucent
    assert stroke.sum() > 2000 and 0 < differ.sum() < 0.2 * stroke.sum()
    near = stroke.copy()  # every pixel that differs lies within a pixel of the full outline
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(np.roll(stroke, dy, 0), dx, 1)
    assert not (differ & ~near).any()


def test_items_are_made_after_the_frame_and_at_once_by_a_click(qtbot, make_canvas, scene):
    store, ids, _ = scene
    canvas = _show(make_canvas, store, ids)
    canvas.show_image(ids[1])
    grab(canvas)
    qtbot.waitUntil(lambda: not _pending(canvas), timeout=5000)  # batches made after frames
    assert sorted(canvas.annotations(), key=lambda a: a.id) == store.annotations(image_id=ids[1])
    canvas.show_image(ids[0])
    canvas.show_image(ids[1])
    assert _pending(canvas)
    click(qtbot, canvas, 800, 600)  # a click before any batch: the items are made for it, and it selects
    assert not _pending(canvas)
    assert canvas.selected_ids() == [canvas.hit(QPointF(800, 600)).ann_id]


def test_another_switch_before_the_items_leaves_no_stale_item(qtbot, make_canvas, scene):
    store, ids, _ = scene
    canvas = _show(make_canvas, store, ids)
    canvas.show_image(ids[1])
    canvas.finish_items()  # the first image's shape items are the spares of the next switches
    canvas.show_image(ids[2])
    canvas.show_image(ids[0])
    canvas.show_image(ids[1])  # spares from image 1, never reshaped, taken again
    canvas.finish_items()
    in_scene = sorted(it.ann_id for it in canvas.scene.items() if type(it) is ShapeItem)
    assert in_scene == sorted(a.id for a in store.annotations(image_id=ids[1]) if a.kind != MASK)
    canvas.show_image(ids[0])
    canvas.finish_items()
    assert not [it for it in canvas.scene.items() if type(it) is ShapeItem]


def test_a_store_change_before_the_items_are_made_is_shown(qtbot, make_canvas, scene):
    store, ids, _ = scene
    canvas = _show(make_canvas, store, ids)
    canvas.show_image(ids[1])
    anns = store.annotations(image_id=ids[1])
    moved = anns[3]
    moved_to = Annotation(moved.id, moved.image_id, moved.category_id, kind=POLYGON, polygons=[_ring(300, 300, 40, 8)])
    store.update_annotation(moved_to)  # another part of the app writes while the items are pending
    store.delete_annotations([anns[5].id])
    qtbot.waitUntil(lambda: not _pending(canvas), timeout=5000)
    assert sorted(canvas.annotations(), key=lambda a: a.id) == store.annotations(image_id=ids[1])
    item = canvas._items[moved.id]
    assert item.path().boundingRect().intersects(QRectF(260, 260, 80, 80))
    assert canvas.hit(QPointF(300, 300)).ann_id == moved.id


def test_the_captions_of_the_first_frame_are_the_items_captions(make_canvas, scene):
    store, ids, _ = scene
    canvas = _show(make_canvas, store, ids)
    canvas.show_image(ids[1])
    t = canvas.view.viewportTransform()
    clip = QRectF(0, 0, canvas.view.viewport().width(), canvas.view.viewport().height())
    first = canvas._captions.placements(t, clip)
    canvas.finish_items()
    canvas._captions.changed()
    assert canvas._captions.placements(t, clip) == first
    assert len(first) > 20 and {text for _, text, _, _ in first} >= {"cat", "dog", "dog 0.90"}


def test_a_project_that_cannot_be_read_leaves_a_notice_not_a_broken_canvas(qtbot, make_canvas, scene, monkeypatch):
    import sqlite3
    store, ids, _ = scene
    canvas = _show(make_canvas, store, ids)
    canvas.show_image(ids[1])
    canvas.finish_items()
    failed = []
    canvas.image_failed.connect(lambda i, m: failed.append(i))

    def locked(*_a, **_k):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(store, "outlines", locked)
    canvas.show_image(ids[2])  # the switch's own read fails
    assert "Cannot read the shapes of c.png: database is locked" in canvas.notice_text()
    assert failed == [ids[2]] and canvas.annotations() == []
    assert not [it for it in canvas.scene.items() if type(it) is ShapeItem]
    assert canvas.zoom() == pytest.approx(canvas.view.fit_zoom(QRectF(0, 0, W, H)))  # still fitted
    qtbot.waitUntil(lambda: canvas.image_ready, timeout=5000)
    assert "Cannot read the shapes" in canvas.notice_text()  # the pixels show; the notice stays

    monkeypatch.undo()

    def batches(*_a, **_k):  # the first frame is read, the items' rows are not
        raise sqlite3.OperationalError("disk I/O error")
        yield
    monkeypatch.setattr(store, "annotation_batches", batches)
    canvas.show_image(ids[1])
    assert _pending(canvas)
    assert canvas.annotations() == []  # asked for the items: the read fails, the canvas says so
    assert "disk I/O error" in canvas.notice_text() and not _pending(canvas)


def test_the_items_wait_while_the_image_the_user_is_about_to_open_is_read(qtbot, make_canvas, scene, monkeypatch):
    store, ids, _ = scene
    canvas = _show(make_canvas, store, ids)
    reading = [True]
    monkeypatch.setattr(canvas._prefetch, "reading_first", lambda: reading[0])
    canvas.show_image(ids[1])
    grab(canvas)
    qtbot.wait(60)
    assert _pending(canvas)  # no batch while the read asked first runs (the mask's item is the first frame's)
    assert [it.ann.kind for it in canvas._item_map.values()] == [MASK]
    reading[0] = False
    qtbot.waitUntil(lambda: not _pending(canvas), timeout=5000)
    assert len(canvas.annotations()) == len(store.annotations(image_id=ids[1]))
