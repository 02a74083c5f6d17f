"""A switch's first frame from the store's arrays (annotations/outlines.py), before any item exists:
each shape's appearance, whether it is shown, the captions' columns and the shapes layer's raster.

The raster is drawn as the layer draws it (render_raster: the same pens, brushes and order, bigger
shapes under smaller ones) from outlines generalised for its scale, as map renderers do: a ring's
points are thinned to about one per STEP_PX device pixels of its outline (every k-th point kept, at
least three), so no edge moves by more than a pixel on screen (tests/gui/canvas/test_first_frame.py). An
outline traced pixel by pixel (a mask made polygon) shown at fit loses most of its points; 2000
polygons of 50 vertices at 0.135 keep about three quarters. The items made after the frame hold the
full outlines, and everything drawn from then on (an edit, a zoom) is drawn from them.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from annotations.model import MASK
from annotations.outlines import Outlines

from .painting import Appearance, RenderContext, appearance_of, box_path, look_key, ring_paths, ring_polygons
from .shapes_layer import layer_rect, render_raster

STEP_PX = 2.0  # device pixels of outline per point kept in the first frame's raster


def looks_of(outlines: Outlines, ctx: RenderContext) -> list[Appearance]:
    """Each shape's appearance (painting.appearance, from the arrays)."""
    return [appearance_of(look_key(cat, status, kind, score), ctx) for cat, kind, status, score
            in zip(outlines.category_ids.tolist(), outlines.kinds, outlines.statuses, outlines.scores)]


def shown_rows(outlines: Outlines, hidden_annotations, hidden_categories, all_hidden: bool) -> np.ndarray:
    """Whether each shape is drawn (the session's rule, session.shown, for all rows at once)."""
    if all_hidden:
        return np.zeros(len(outlines.ids), bool)
    return ~(np.isin(outlines.ids, list(hidden_annotations)) | np.isin(outlines.category_ids, list(hidden_categories)))


def thinned(ring_points: np.ndarray, points: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(point counts, points) of the rings with every k-th point kept, k such that the kept points lie
    about STEP_PX apart on screen at `scale` (at least three points a ring; k = 1 when already sparse)."""
    n_rings = len(ring_points)
    if not n_rings:
        return ring_points, points
    ring_of = np.repeat(np.arange(n_rings), ring_points)
    starts = np.concatenate([[0], np.cumsum(ring_points)[:-1]])
    step = np.hypot(*np.diff(points, axis=0).T)
    same = ring_of[1:] == ring_of[:-1]
    perimeter = np.bincount(ring_of[1:][same], step[same], minlength=n_rings) * scale
    k = np.floor(STEP_PX * ring_points / np.maximum(perimeter, 1e-9)).astype(np.int64)
    k = np.clip(np.minimum(k, ring_points // 3), 1, None)
    if (k == 1).all():
        return ring_points, points
    index = np.arange(len(points)) - starts[ring_of]
    keep = index % k[ring_of] == 0
    return np.bincount(ring_of[keep], minlength=n_rings), points[keep]


def first_raster(outlines: Outlines, looks: list[Appearance], shown: np.ndarray, width: int, height: int,
                 scale: float, dpr: float) -> QImage:
    """The shapes layer's raster of these shapes at `scale` and `dpr` (module docstring)."""
    n = len(outlines.ids)
    boxes = outlines.boxes
    order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")  # items.z_for, ties in store order
    outlined = np.fromiter((k != MASK for k in outlines.kinds), bool, n)
    drawn = order[shown[order] & outlined[order]].tolist()
    # Outlines made in store order, where the rings lie in the arrays, then taken in drawing order.
    lengths, pts = thinned(outlines.ring_points, outlines.points, scale * dpr)
    rings_of_row = np.bincount(outlines.ring_rows, minlength=n)
    one = rings_of_row[outlines.ring_rows] == 1  # per ring: its shape has no other (most: a polygon)
    point_in_one = np.repeat(one, lengths)
    shape = dict(zip(outlines.ring_rows[one].tolist(), ring_polygons(lengths[one], pts[point_in_one])))
    if not one.all():
        several = np.nonzero(rings_of_row > 1)[0]
        shape.update(zip(several.tolist(), ring_paths(rings_of_row[several].tolist(), lengths[~one],
                                                      pts[~point_in_one])))
    styles: dict[int, tuple] = {}
    drawing = []
    for k in drawn:
        look = looks[k]
        style = styles.get(id(look))
        if style is None:
            style = styles[id(look)] = look.style
        path = shape.get(k)
        drawing.append((style, path if path is not None else box_path(boxes[k].tolist())))
    return render_raster(layer_rect(width, height), scale, dpr, drawing)
