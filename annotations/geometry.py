"""Geometry on COCO terms, through pycocotools.mask: RLE, polygons, boxes, IoU."""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def _rings(polygons) -> list[list[float]]:
    return [list(map(float, p)) for p in (polygons or []) if len(p) >= 6]


def normalize_rle(rle: dict) -> dict:
    """Any COCO RLE (compressed or uncompressed counts) -> compressed with str counts."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, list):
        rle = mask_utils.frPyObjects(rle, h, w)
        counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [int(h), int(w)], "counts": counts}


def _c(rle: dict) -> dict:
    """RLE in the form the C functions take (bytes counts)."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return mask_utils.frPyObjects(rle, *rle["size"])
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": list(rle["size"]), "counts": counts}


def encode_mask(mask: np.ndarray) -> dict:
    """Binary HxW array -> compressed RLE with str counts."""
    return normalize_rle(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))


def decode_rle(rle: dict) -> np.ndarray:
    """RLE -> HxW uint8 array of 0/1."""
    return mask_utils.decode(_c(rle))


def polygon_to_rle(polygons, height: int, width: int, holes=None) -> dict:
    """Rings -> one compressed RLE of the image size. Without holes the rings are unioned (COCO);
    with holes, all rings follow the even-odd rule (holes cut, islands inside holes stay)."""
    rings = _rings(polygons)
    if not rings:
        return encode_mask(np.zeros((height, width), np.uint8))
    rle = mask_utils.merge(mask_utils.frPyObjects(rings, height, width))
    hole_rings = _rings(holes)
    if hole_rings:  # with holes, rings follow the even-odd rule (an island inside a hole stays set)
        m = np.zeros((height, width), np.uint8)
        for r in mask_utils.frPyObjects(rings + hole_rings, height, width):
            m ^= mask_utils.decode(r)
        return encode_mask(m)
    return normalize_rle(rle)


def rle_area(rle: dict) -> float:
    return float(mask_utils.area(_c(rle)))


def rle_bbox(rle: dict) -> tuple[float, float, float, float]:
    x, y, w, h = mask_utils.toBbox(_c(rle)).tolist()
    return (float(x), float(y), float(w), float(h))


def polygon_bbox(polygons) -> tuple[float, float, float, float]:
    pts = np.concatenate([np.asarray(p, float).reshape(-1, 2) for p in _rings(polygons)])
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def polygon_area(polygons, holes=None) -> float:
    """Shoelace area of the rings minus the holes (exact for non-overlapping rings)."""
    def shoelace(r):
        p = np.asarray(r, float).reshape(-1, 2)
        x, y = p[:, 0], p[:, 1]
        return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return sum(map(shoelace, _rings(polygons))) - sum(map(shoelace, _rings(holes)))


def mask_to_polygons(mask: np.ndarray, tolerance: float = 0.0) -> tuple[list[list[float]], list[list[float]]]:
    """Binary mask -> (outer rings, hole rings), each ring flat [x0, y0, x1, y1, ...].

    Rings follow pixel edges, so polygon_to_rle(outers, h, w, holes) gives back exactly the same
    pixels. `tolerance` > 0 simplifies the rings (Douglas-Peucker, in pixels) at the cost of exactness.
    """
    rings = [r for r in _edge_loops(np.asarray(mask).astype(bool)) if len(r) >= 3]
    if tolerance > 0:
        import cv2  # image library: allowed in annotations (no torch, no Qt)
        rings = [cv2.approxPolyDP(np.asarray(r, np.float32).reshape(-1, 1, 2), tolerance, True).reshape(-1, 2)
                 for r in rings]
        rings = [r for r in rings if len(r) >= 3]
    outers, holes = [], []
    for r in rings:
        r = np.asarray(r, float)
        flat = r.ravel().tolist()
        (outers if _signed_area(r) > 0 else holes).append(flat)
    return outers, holes


def _signed_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _edge_loops(m: np.ndarray) -> list[list[tuple[int, int]]]:
    """Closed loops along the pixel edges between set and unset pixels, the set side on the right
    (outer loops have positive signed area in image coordinates, holes negative). Pixels touching
    only at a corner belong to separate loops."""
    p = np.pad(m, 1)
    edges: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def add(starts, ends):
        for s, e in zip(map(tuple, starts.tolist()), map(tuple, ends.tolist())):
            edges.setdefault(s, []).append(e)

    r, c = np.nonzero(p[1:-1, 1:-1] & ~p[:-2, 1:-1])  # top edges, left to right
    add(np.c_[c, r], np.c_[c + 1, r])
    r, c = np.nonzero(p[1:-1, 1:-1] & ~p[2:, 1:-1])  # bottom edges, right to left
    add(np.c_[c + 1, r + 1], np.c_[c, r + 1])
    r, c = np.nonzero(p[1:-1, 1:-1] & ~p[1:-1, :-2])  # left edges, upwards
    add(np.c_[c, r + 1], np.c_[c, r])
    r, c = np.nonzero(p[1:-1, 1:-1] & ~p[1:-1, 2:])  # right edges, downwards
    add(np.c_[c + 1, r], np.c_[c + 1, r + 1])

    loops = []
    while edges:
        start = next(iter(edges))
        loop, prev, cur = [start], None, start
        while True:
            outs = edges[cur]
            if len(outs) == 1 or prev is None:
                nxt = outs.pop(0)
            else:  # a corner shared by two loops: turn towards the set side (right) to keep them apart
                dx, dy = cur[0] - prev[0], cur[1] - prev[1]
                right = (cur[0] - dy, cur[1] + dx)
                nxt = right if right in outs else outs[0]
                outs.remove(nxt)
            if not outs:
                del edges[cur]
            prev, cur = cur, nxt
            if cur == start:
                break
            loop.append(cur)
        loops.append(_drop_collinear(loop))
    return loops


def _drop_collinear(loop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    n = len(loop)
    keep = []
    for i in range(n):
        a, b, c = loop[i - 1], loop[i], loop[(i + 1) % n]
        if (b[0] - a[0]) * (c[1] - b[1]) != (b[1] - a[1]) * (c[0] - b[0]):
            keep.append(b)
    return keep


def rle_to_polygons(rle: dict, tolerance: float = 0.0):
    return mask_to_polygons(decode_rle(rle), tolerance)


def iou_boxes(a, b) -> np.ndarray:
    """IoU matrix between boxes a (N,4) and b (M,4), xywh."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, 0:1], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, 1:2], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def iou_masks(a: list[dict], b: list[dict], crowd=None) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    crowd = [0] * len(b) if crowd is None else list(crowd)
    return np.asarray(mask_utils.iou([_c(r) for r in a], [_c(r) for r in b], crowd), float).reshape(len(a), len(b))


# ---- masks as run boundaries -------------------------------------------------------------------
# A mask of height h is a column-major sequence of h*w pixels; its RLE is the list of positions
# where the value flips (starting from 0). The XOR of two masks flips where exactly one of them
# flips, so edits, crops and pastes work on those positions, never on the whole frame.

def rle_counts(rle: dict) -> np.ndarray:
    """The uncompressed counts of any COCO RLE (int64), decoded without touching the pixels."""
    counts = rle["counts"]
    if isinstance(counts, (list, np.ndarray)):
        return np.asarray(counts, np.int64)
    b = np.frombuffer(counts.encode("ascii") if isinstance(counts, str) else counts, np.uint8).astype(np.int64) - 48
    if b.size == 0:
        return np.zeros(0, np.int64)
    ends = np.flatnonzero((b & 0x20) == 0)  # the last character of each value
    starts = np.concatenate(([0], ends[:-1] + 1))
    k = np.arange(b.size) - np.repeat(starts, ends - starts + 1)
    x = np.add.reduceat((b & 0x1F) << (5 * k), starts)
    neg = (b[ends] & 0x10) != 0
    x[neg] |= -1 << (5 * (ends[neg] - starts[neg] + 1))
    x[1::2] = np.cumsum(x[1::2])  # from the fourth value on, each is a difference to the one two back
    x[2::2] = np.cumsum(x[2::2])
    return x


def rle_bounds(rle: dict) -> np.ndarray:
    """Sorted column-major positions where the mask flips (0 -> 1 or 1 -> 0)."""
    return np.cumsum(rle_counts(rle))[:-1]


def _runs(bounds: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of ones of a mask of n pixels given by its flip positions."""
    b = np.asarray(bounds, np.int64)
    b = b[b < n]
    if b.size % 2:
        b = np.concatenate((b, [n]))
    return b[0::2], b[1::2]


def rle_from_bounds(bounds: np.ndarray, height: int, width: int) -> dict:
    """Inverse of rle_bounds: compressed RLE with str counts."""
    n = height * width
    b = np.asarray(bounds, np.int64)
    counts = np.diff(np.concatenate(([0], b[b < n], [n])))
    return normalize_rle(mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width))


def xor_bounds(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flip positions of the XOR of two masks: the positions that occur an odd number of times."""
    pts = np.sort(np.concatenate((a, b)), kind="stable")
    if pts.size == 0:
        return pts.astype(np.int64)
    keep = np.flatnonzero(np.diff(np.concatenate(([-1], pts, [-1]))) != 0)  # run starts of equal values
    values, runs = pts[keep[:-1]], np.diff(keep)
    return values[runs % 2 == 1].astype(np.int64)


def bounds_area(bounds: np.ndarray, n: int) -> int:
    """Pixels set in a mask of n pixels given by its flip positions."""
    s, e = _runs(bounds, n)
    return int((e - s).sum())


def crop_bounds(x0: int, y0: int, crop: np.ndarray, height: int) -> np.ndarray:
    """Flip positions, in an image `height` tall, of a crop placed at (x0, y0) (inside the image)."""
    return _columns_bounds(x0, y0, np.asarray(crop).T != 0, height)


def _columns_bounds(x0: int, y0: int, columns: np.ndarray, height: int) -> np.ndarray:
    """crop_bounds of a crop given as its columns (w x h booleans)."""
    w, h = columns.shape
    if w == 0 or h == 0:
        return np.zeros(0, np.int64)
    cols = np.zeros((w, h + 2), np.int8)  # a 0 above and below each column
    cols[:, 1:-1] = columns
    idx = np.flatnonzero(cols[:, 1:] != cols[:, :-1]).astype(np.int64)
    col, row = np.divmod(idx, h + 1)
    pts = (col + x0) * height + y0 + row  # the last row (a flip out of the pad) ends each column
    return xor_bounds(pts, np.zeros(0, np.int64))  # a column that ends where the next starts joins it


def crop_box(rle: dict, x0: int, y0: int, w: int, h: int, bounds: np.ndarray | None = None) -> np.ndarray:
    """The h x w pixels of the mask at (x0, y0) (inside the image), decoded from its runs only
    (`bounds`: its rle_bounds, when the caller has them)."""
    height = int(rle["size"][0])
    s, e = _runs(rle_bounds(rle) if bounds is None else bounds, height * int(rle["size"][1]))  # runs of ones [s, e)
    if w <= 0 or h <= 0 or s.size == 0:
        return np.zeros((max(h, 0), max(w, 0)), np.uint8)
    lo, hi = x0 * height, (x0 + w) * height
    sel = (e > lo) & (s < hi)
    s, e = np.maximum(s[sel], lo), np.minimum(e[sel], hi)
    c0, c1 = s // height, (e - 1) // height
    n = c1 - c0 + 1  # a run crossing columns is split into one piece per column
    col = np.repeat(c0, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    ps = np.maximum(np.repeat(s, n), col * height) - col * height
    pe = np.minimum(np.repeat(e, n), (col + 1) * height) - col * height
    ps, pe = np.clip(ps - y0, 0, h), np.clip(pe - y0, 0, h)
    keep = pe > ps
    flat = (col[keep] - x0) * h  # the pieces as runs of the box's own column-major pixels
    edges = np.empty(2 * int(keep.sum()) + 2, np.int64)
    edges[0], edges[-1] = 0, w * h
    edges[1:-1:2], edges[2:-1:2] = flat + ps[keep], flat + pe[keep]
    values = np.zeros(edges.size - 1, np.uint8)
    values[1::2] = 1
    return np.repeat(values, np.diff(edges)).reshape(w, h).T


def crop_rle(rle: dict) -> tuple[int, int, np.ndarray]:
    """(x0, y0, mask cropped to its bbox): cheap to draw and to edit."""
    x, y, w, h = (int(v) for v in rle_bbox(rle))
    if w == 0 or h == 0:
        return 0, 0, np.zeros((0, 0), np.uint8)
    return x, y, crop_box(rle, x, y, w, h)


def _clip_crop(x0: int, y0: int, crop: np.ndarray, height: int, width: int) -> tuple[int, int, np.ndarray]:
    h, w = crop.shape
    xs, ys, xe, ye = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
    if xe <= xs or ye <= ys:
        return 0, 0, np.zeros((0, 0), np.uint8)
    return xs, ys, crop[ys - y0:ye - y0, xs - x0:xe - x0]


def paste_mask(x0: int, y0: int, crop: np.ndarray, height: int, width: int) -> dict:
    """Inverse of crop_rle: a crop placed at (x0, y0) in an image-sized mask."""
    return rle_from_bounds(crop_bounds(*_clip_crop(x0, y0, crop, height, width), height), height, width)


def paste_into(rle: dict, x0: int, y0: int, crop: np.ndarray) -> dict:
    """The mask with the box at (x0, y0) replaced by `crop` (clipped to the image); the rest is kept."""
    height, width = (int(v) for v in rle["size"])
    x0, y0, crop = _clip_crop(x0, y0, crop, height, width)
    bounds = rle_bounds(rle)
    old = crop_box(rle, x0, y0, crop.shape[1], crop.shape[0], bounds)
    delta = _columns_bounds(x0, y0, old.T != (crop.T != 0), height)
    return rle_from_bounds(xor_bounds(bounds, delta), height, width)


def annotation_rle(ann, height: int, width: int) -> dict:
    """The pixels an annotation covers, whatever its kind."""
    if ann.rle is not None:
        return normalize_rle(ann.rle)
    if ann.polygons:
        return polygon_to_rle(ann.polygons, height, width, ann.holes)
    x, y, w, h = ann.bbox
    return normalize_rle(mask_utils.frPyObjects([[x, y, x + w, y, x + w, y + h, x, y + h]], height, width)[0])


def annotation_area(ann) -> float:
    """COCO's area: mask pixels for RLE, shoelace for polygons, w*h for boxes."""
    if ann.rle is not None:
        return rle_area(ann.rle)
    if ann.polygons:
        return polygon_area(ann.polygons, ann.holes)
    return float(ann.bbox[2] * ann.bbox[3])


def annotation_bbox(ann) -> tuple[float, float, float, float]:
    if ann.rle is not None:
        return rle_bbox(ann.rle)
    if ann.polygons:
        return polygon_bbox(ann.polygons)
    return tuple(map(float, ann.bbox))
