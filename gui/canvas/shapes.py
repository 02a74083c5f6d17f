"""Pure edits of annotation geometry (no Qt): each returns a changed copy, the input is untouched.

Coordinates are image pixels with (0, 0) at the top-left corner of the first pixel, as in COCO.
"""
from __future__ import annotations

import math

import numpy as np

from annotations import geometry
from annotations.model import BOX, MASK, POLYGON, Annotation
from annotations.store import copy_annotation

# Box handles, in order: corners clockwise from top-left, then edge midpoints top, right, bottom, left.
# Each names which edges it moves: (left, top, right, bottom).
_HANDLE_EDGES = ((1, 1, 0, 0), (0, 1, 1, 0), (0, 0, 1, 1), (1, 0, 0, 1),
                 (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 0, 0, 0))


def box_handles(bbox) -> list[tuple[float, float]]:
    x, y, w, h = bbox
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h),
            (x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)]


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def normalized_rect(x0, y0, x1, y1, width, height) -> tuple[float, float, float, float]:
    """Two corners -> (x, y, w, h) inside the image."""
    xa, xb = sorted((_clamp(x0, 0, width), _clamp(x1, 0, width)))
    ya, yb = sorted((_clamp(y0, 0, height), _clamp(y1, 0, height)))
    return (xa, ya, xb - xa, yb - ya)


def resized_box(ann: Annotation, handle: int, x: float, y: float, width: int, height: int) -> Annotation:
    bx, by, bw, bh = ann.bbox
    left, top, right, bottom = bx, by, bx + bw, by + bh
    ml, mt, mr, mb = _HANDLE_EDGES[handle]
    if ml:
        left = x
    if mt:
        top = y
    if mr:
        right = x
    if mb:
        bottom = y
    return copy_annotation(ann, bbox=normalized_rect(left, top, right, bottom, width, height), area=None)


def clamped_delta(bbox, dx: float, dy: float, width: int, height: int) -> tuple[float, float]:
    """The move (dx, dy) shortened so the box stays inside the image."""
    x, y, w, h = bbox
    dx = _clamp(dx, -x, max(width - (x + w), -x))
    dy = _clamp(dy, -y, max(height - (y + h), -y))
    return dx, dy


def _shift_rings(rings, dx, dy):
    if rings is None:
        return None
    out = []
    for r in rings:
        a = np.asarray(r, float).reshape(-1, 2) + (dx, dy)
        out.append([round(v, 3) for v in a.ravel().tolist()])
    return out


def translated(ann: Annotation, dx: float, dy: float, width: int, height: int) -> Annotation:
    """Moved by (dx, dy), kept inside the image; masks move by whole pixels."""
    if ann.kind == MASK and ann.rle is not None:
        dx, dy = round(dx), round(dy)
        x0, y0, crop = geometry.crop_rle(ann.rle)
        h, w = ann.rle["size"]
        dx, dy = (int(v) for v in clamped_delta((x0, y0, crop.shape[1], crop.shape[0]), dx, dy, w, h))
        rle = geometry.paste_mask(x0 + dx, y0 + dy, crop, h, w)
        return copy_annotation(ann, rle=rle, bbox=geometry.rle_bbox(rle), area=geometry.rle_area(rle))
    dx, dy = clamped_delta(ann.bbox, dx, dy, width, height)
    x, y, w, h = ann.bbox
    bbox = (x + dx, y + dy, w, h)
    if ann.kind == POLYGON and ann.polygons:
        return copy_annotation(ann, polygons=_shift_rings(ann.polygons, dx, dy),
                               holes=_shift_rings(ann.holes, dx, dy), bbox=bbox)
    return copy_annotation(ann, bbox=bbox)


def _ring_points(ring) -> np.ndarray:
    return np.asarray(ring, float).reshape(-1, 2)


_GRID = (np.arange(7) + 0.5) / 7  # where handles_have_room looks for a free spot, as fractions of the box
ROOMY = 4  # a shape this many tolerances wide and high has room, whatever its outline


def handles_have_room(ann: Annotation, tol: float) -> bool:
    """Whether the shape keeps a spot clear of its handles (farther than `tol` from every vertex or
    box handle and than tol / 2 from every polygon edge, as the select tool grabs them), where a
    press moves it. A small shape at a low zoom has none: its handles cover it, so it is moved
    whole, and its handles are neither drawn nor grabbed until a closer zoom gives them room."""
    x, y, w, h = ann.bbox
    if w > ROOMY * tol and h > ROOMY * tol:
        return True
    if math.hypot(w, h) <= tol:  # every point of it lies within tol of every vertex and box handle
        return False
    return _clearance(ann) > tol


_CLEARANCES: dict[int, tuple] = {}  # annotation id -> (its rings, its box, clearance): kept while they are
_CLEARANCES_MAX = 50_000


def _clearance(ann: Annotation) -> float:
    """The largest tol for which the shape has room (handles_have_room): over a grid of its inside,
    the best spot's distance to the nearest vertex or box handle, or twice that to the nearest edge.
    It depends on the geometry alone, so a zoom step asks for no new one (2000 small shapes
    selected cost 0.2 s a zoom step when it was worked out for each)."""
    key = (ann.polygons, ann.holes, tuple(ann.bbox))
    cached = _CLEARANCES.get(ann.id)
    if cached is not None and cached[0] is key[0] and cached[1] is key[1] and cached[2] == key[2]:
        return cached[3]
    value = _clearance_of(ann)
    if len(_CLEARANCES) >= _CLEARANCES_MAX:
        _CLEARANCES.clear()
    if ann.id is not None:
        _CLEARANCES[ann.id] = (*key, value)
    return value


def _clearance_of(ann: Annotation) -> float:
    x, y, w, h = ann.bbox
    gx, gy = np.meshgrid(x + _GRID * w, y + _GRID * h)
    px, py = gx.ravel(), gy.ravel()
    if ann.kind == BOX:
        hx, hy = np.asarray(box_handles(ann.bbox)).T
        return float(np.hypot(px[:, None] - hx, py[:, None] - hy).min(1).max())
    if ann.kind != POLYGON or not ann.polygons:
        return math.inf
    inside = np.zeros(px.shape, bool)
    clear = np.full(px.shape, np.inf)
    outer = len(ann.polygons)
    for k, ring in enumerate(ann.polygons + (ann.holes or [])):
        a = _ring_points(ring)
        b = np.roll(a, -1, axis=0)
        ab = b - a
        crosses = (a[:, 1] > py[:, None]) != (b[:, 1] > py[:, None])
        x_at = a[:, 0] + (py[:, None] - a[:, 1]) * ab[:, 0] / np.where(ab[:, 1] == 0, 1, ab[:, 1])
        inside ^= (crosses & (px[:, None] < x_at)).sum(1) % 2 == 1
        if k >= outer:
            continue  # a hole's outline has no handles
        clear = np.minimum(clear, np.hypot(px[:, None] - a[:, 0], py[:, None] - a[:, 1]).min(1))
        t = np.clip(((px[:, None] - a[:, 0]) * ab[:, 0] + (py[:, None] - a[:, 1]) * ab[:, 1])
                    / np.maximum((ab ** 2).sum(1), 1e-12), 0, 1)
        edge = np.hypot(a[:, 0] + t * ab[:, 0] - px[:, None], a[:, 1] + t * ab[:, 1] - py[:, None]).min(1)
        clear = np.minimum(clear, 2 * edge)
    return float(clear[inside].max()) if inside.any() else 0.0


def _with_rings(ann: Annotation, rings: list[list[float]]) -> Annotation:
    rings = [[round(v, 3) for v in r] for r in rings]
    return copy_annotation(ann, polygons=rings, bbox=geometry.polygon_bbox(rings), area=None)


def vertex_at(ann: Annotation, x: float, y: float, tol: float) -> tuple[int, int] | None:
    """(ring, vertex) of the polygon vertex nearest (x, y) within `tol`, else None."""
    best, found = tol, None
    for ri, ring in enumerate(ann.polygons or []):
        p = _ring_points(ring)
        d = np.hypot(p[:, 0] - x, p[:, 1] - y)
        i = int(d.argmin())
        if d[i] <= best:
            best, found = float(d[i]), (ri, i)
    return found


def edge_at(ann: Annotation, x: float, y: float, tol: float) -> tuple[int, int, float, float] | None:
    """(ring, index after which to insert, x, y of the nearest point) on a polygon edge within `tol`."""
    best, found = tol, None
    for ri, ring in enumerate(ann.polygons or []):
        a = _ring_points(ring)
        b = np.roll(a, -1, axis=0)
        ab = b - a
        len2 = (ab ** 2).sum(1)
        t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / np.maximum(len2, 1e-12), 0, 1)
        px, py = a[:, 0] + t * ab[:, 0], a[:, 1] + t * ab[:, 1]
        d = np.hypot(px - x, py - y)
        i = int(d.argmin())
        if d[i] <= best:
            best, found = float(d[i]), (ri, i, float(px[i]), float(py[i]))
    return found


def moved_vertex(ann: Annotation, ring: int, index: int, x: float, y: float, width: int, height: int) -> Annotation:
    rings = [list(r) for r in ann.polygons]
    rings[ring][2 * index] = _clamp(x, 0, width)
    rings[ring][2 * index + 1] = _clamp(y, 0, height)
    return _with_rings(ann, rings)


def inserted_vertex(ann: Annotation, ring: int, after: int, x: float, y: float) -> Annotation:
    rings = [list(r) for r in ann.polygons]
    rings[ring][2 * after + 2:2 * after + 2] = [x, y]
    return _with_rings(ann, rings)


def deleted_vertex(ann: Annotation, ring: int, index: int) -> Annotation | None:
    """The polygon without that vertex; a ring left with < 3 points goes; None if no ring is left."""
    rings = [list(r) for r in ann.polygons]
    del rings[ring][2 * index:2 * index + 2]
    rings = [r for r in rings if len(r) >= 6]
    return _with_rings(ann, rings) if rings else None


def polygon_as_mask(ann: Annotation, width: int, height: int) -> Annotation:
    rle = geometry.annotation_rle(ann, height, width)
    return copy_annotation(ann, kind=MASK, rle=rle, polygons=None, holes=None,
                           bbox=geometry.rle_bbox(rle), area=geometry.rle_area(rle))


def mask_as_polygon(ann: Annotation) -> Annotation | None:
    """Outline of the mask (holes kept); None when the mask is empty."""
    outers, holes = geometry.rle_to_polygons(ann.rle)
    if not outers:
        return None
    return copy_annotation(ann, kind=POLYGON, rle=None, polygons=outers, holes=holes or None,
                           bbox=geometry.polygon_bbox(outers), area=None)


def stamp_segment(buf: np.ndarray, x0: int, y0: int, p, q, radius: float, value: int) -> None:
    """Set to `value` the pixels of `buf` (whose top-left is image pixel (x0, y0)) with their centre
    within `radius` of the segment p-q (a capsule; a dot when p == q)."""
    r = float(radius)
    xa, xb = min(p[0], q[0]) - r, max(p[0], q[0]) + r
    ya, yb = min(p[1], q[1]) - r, max(p[1], q[1]) + r
    h, w = buf.shape
    c0, c1 = max(int(math.floor(xa)) - x0, 0), min(int(math.ceil(xb)) - x0 + 1, w)
    r0, r1 = max(int(math.floor(ya)) - y0, 0), min(int(math.ceil(yb)) - y0 + 1, h)
    if c1 <= c0 or r1 <= r0:
        return
    cy, cx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
    cx += x0 + 0.5
    cy += y0 + 0.5
    dxs, dys = q[0] - p[0], q[1] - p[1]
    len2 = dxs * dxs + dys * dys
    if len2 > 0:
        t = np.clip(((cx - p[0]) * dxs + (cy - p[1]) * dys) / len2, 0, 1)
    else:
        t = 0.0
    d2 = (cx - (p[0] + t * dxs)) ** 2 + (cy - (p[1] + t * dys)) ** 2
    buf[r0:r1, c0:c1][d2 <= r * r] = value


def new_box(image_id: int, category_id: int, bbox) -> Annotation:
    return Annotation(None, image_id, category_id, kind=BOX, bbox=tuple(float(v) for v in bbox))


def new_polygon(image_id: int, category_id: int, points: list[tuple[float, float]]) -> Annotation:
    ring = [round(float(v), 3) for p in points for v in p]
    return Annotation(None, image_id, category_id, kind=POLYGON, polygons=[ring],
                      bbox=geometry.polygon_bbox([ring]))


def new_mask(image_id: int, category_id: int, rle: dict) -> Annotation:
    return Annotation(None, image_id, category_id, kind=MASK, rle=rle, bbox=geometry.rle_bbox(rle),
                      area=geometry.rle_area(rle))
