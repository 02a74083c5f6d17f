"""A zoom step shows the shapes and captions of the previous frame moved with the view, and the
sharp frame follows when the view rests: the settled frame is exactly a fresh rendering, and an
edit during the step is drawn sharp at once."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from annotations.model import Annotation
from gui.canvas.shapes_layer import SETTLE_MS

from canvas_helpers import grab, vp


def _red(px, canvas, x, y) -> bool:
    p = vp(canvas, x, y)
    r, g, b = px[p.y(), p.x()].astype(int)
    return r > g + 40 and r > b + 40


def _fresh(canvas) -> np.ndarray:
    """The view drawn from scratch (no raster kept)."""
    canvas._shapes.invalidate_all()
    canvas._captions._image_key = None
    return grab(canvas)


def test_a_zoom_step_shows_the_last_raster_then_the_sharp_frame(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    store.add_annotation(Annotation(None, ids[0], cat, bbox=(40, 30, 60, 40)))
    canvas = make_canvas(store, ids[0])
    layer, captions = canvas._shapes, canvas._captions
    grab(canvas)
    drawn = layer.sharp_frames
    canvas.set_zoom(4.4)
    px = grab(canvas)
    assert layer.zoom_settle.active and captions.zoom_settle.active and layer.sharp_frames == drawn
    assert _red(px, canvas, 70, 50) and not _red(px, canvas, 20, 100)  # the box, scaled, where it is
    qtbot.wait(SETTLE_MS + 150)
    settled = grab(canvas)
    assert not layer.zoom_settle.active and not captions.zoom_settle.active and layer.sharp_frames == drawn + 1
    assert np.array_equal(settled, _fresh(canvas))  # shapes and captions as if drawn for this zoom alone
    # a jump far beyond a step (fit to 400%) is drawn sharp at once
    canvas.set_zoom(1.0)
    grab(canvas)
    assert not layer.zoom_settle.active and layer.sharp_frames == drawn + 3


def test_an_edit_during_a_zoom_step_is_drawn_sharp_at_once(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    box = store.add_annotation(Annotation(None, ids[0], cat, bbox=(10, 10, 30, 30)))
    canvas = make_canvas(store, ids[0])
    grab(canvas)
    canvas.set_zoom(3.6)
    grab(canvas)
    assert canvas._shapes.zoom_settle.active
    store.update_annotation(replace(store.annotation(box), bbox=(100, 70, 30, 30)))
    qtbot.waitUntil(lambda: canvas._items[box].ann.bbox == (100, 70, 30, 30), timeout=5000)
    px = grab(canvas)
    assert not canvas._shapes.zoom_settle.active
    assert _red(px, canvas, 115, 85) and not _red(px, canvas, 25, 25)


def test_settle_zoom_draws_the_sharp_frame_without_waiting(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    store.add_annotation(Annotation(None, ids[0], cat, kind="polygon", polygons=[[20.0, 20.0, 80.0, 25.0, 50.0, 90.0]]))
    canvas = make_canvas(store, ids[0])
    grab(canvas)
    canvas.set_zoom(4.8)
    grab(canvas)
    canvas.settle_zoom()
    assert np.array_equal(grab(canvas), _fresh(canvas))
