"""The outlines of an image's shapes as arrays, for drawing them without making an Annotation each.

The store keeps, beside each annotation's polygons and holes (JSON, the record), the rings the
canvas draws packed as binary in its table `outlines` (`pack`, written with the annotation by the
store's one row writer): the points of every ring in turn as little-endian float32 x, y (`points`:
what drawing needs, a thousandth of a pixel at 8000 pixels; the record keeps the exact values), and,
for a shape of more than one ring, each ring's point count as little-endian int32 (`rings`; NULL:
one ring).
Reading 2000 polygons of 50 vertices this way costs about a tenth of parsing their JSON, and the
whole image is one frombuffer. Shapes of fewer than PACK_MIN_POINTS points are not packed (their JSON
parses about as fast), nor are rows written before these columns existed: `Store.outlines` packs
those from their JSON as it reads.

    outlines = store.outlines(image_id)      # Outlines, rows by id
    outlines.ids, outlines.boxes, ...        # one entry per shape
    outlines.ring_rows, outlines.ring_points, outlines.points    # the rings, shape after shape
"""
from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np


def drawn_rings(polygons, holes) -> list:
    """The rings an outline is made of: polygons, then holes, those with at least one point; none
    when there are no polygons (the shape is then drawn as its box)."""
    if not polygons:
        return []
    return [r for r in list(polygons) + list(holes or []) if len(r) >= 2]


PACK_MIN_POINTS = 32  # fewer points in all: parsed from the JSON as the outlines are read


def pack(polygons, holes, least: int = PACK_MIN_POINTS) -> tuple[bytes | None, bytes | None]:
    """(points, ring point counts or None for one ring) of these rings (module docstring); (None,
    None) for a shape drawn as its box, one of fewer than `least` points (its JSON is read about as
    fast, and a COCO import of tens of thousands of small polygons neither packs nor stores them
    twice), or one whose coordinates float32 cannot hold. (struct, not numpy: a few microseconds.)"""
    if not polygons or sum(map(len, polygons)) + (sum(map(len, holes)) if holes else 0) < 2 * least:
        return None, None  # (counted before the rings are gathered: most shapes of an import stop here)
    rings = drawn_rings(polygons, holes)
    if not rings or sum(map(len, rings)) < 2 * least:
        return None, None
    try:
        if len(rings) == 1:
            r = rings[0]
            values = r if len(r) % 2 == 0 else r[:-1]
            return struct.pack(f"<{len(values)}f", *values), None
        counts = [len(r) // 2 for r in rings]
        values = []
        for r, n in zip(rings, counts):
            values += r if 2 * n == len(r) else r[:2 * n]
        return struct.pack(f"<{len(values)}f", *values), struct.pack(f"<{len(counts)}i", *counts)
    except (OverflowError, struct.error):  # beyond float32 (a hostile file): the first frame draws its box
        return None, None


class Outlines(NamedTuple):
    """An image's boxes, polygons and masks by id; masks and boxes have no rings."""
    ids: np.ndarray  # int64
    category_ids: np.ndarray  # int64
    kinds: list[str]
    statuses: list[str]
    scores: list  # float or None
    boxes: np.ndarray  # (n, 4) x, y, w, h
    ring_rows: np.ndarray  # (r,) the row each ring belongs to, rows in order
    ring_points: np.ndarray  # (r,) the point count of each ring
    points: np.ndarray  # (p, 2) float32, every ring's points, ring after ring


def outlines_from_rows(rows: list[tuple]) -> Outlines:
    """Outlines from the store's rows (id, category_id, kind, status, score, x, y, w, h, points,
    rings), the last two as `pack` makes them."""
    n = len(rows)
    if not n:
        empty = np.zeros(0, np.int64)
        return Outlines(empty, empty, [], [], [], np.zeros((0, 4)), empty, empty, np.zeros((0, 2), np.float32))
    ids, cats, kinds, statuses, scores, x, y, w, h, blobs, rings = zip(*rows)
    blobs = [b or b"" for b in blobs]
    per_row = np.fromiter(map(len, blobs), np.int64, n) // 8  # points of each row
    has = np.nonzero(per_row)[0]
    ring_rows, ring_points = has, per_row[has]  # one ring each, unless told otherwise
    multi = [k for k in has.tolist() if rings[k]]
    if multi:
        counts = {k: np.frombuffer(rings[k], "<i4").astype(np.int64) for k in multi}
        wrong = [k for k, c in counts.items() if c.sum() != per_row[k] or (c <= 0).any()]
        if wrong:  # ring counts that do not add up to its points (a foreign row): drawn as its box
            rows = [(*r[:9], None, None) if k in wrong else r for k, r in enumerate(rows)]
            return outlines_from_rows(rows)
        ring_points = np.concatenate([counts[k] if k in counts else per_row[k:k + 1] for k in has.tolist()])
        ring_rows = np.repeat(has, [len(counts[k]) if k in counts else 1 for k in has.tolist()])
    return Outlines(
        ids=np.array(ids, np.int64), category_ids=np.array(cats, np.int64),
        kinds=list(kinds), statuses=list(statuses), scores=list(scores),
        boxes=np.array([x, y, w, h], np.float64).T.copy(),
        ring_rows=ring_rows.astype(np.int64), ring_points=ring_points.astype(np.int64),
        points=np.frombuffer(b"".join(blobs), "<f4").reshape(-1, 2))
