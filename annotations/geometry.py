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


def crop_rle(rle: dict) -> tuple[int, int, np.ndarray]:
    """(x0, y0, mask cropped to its bbox): cheap to draw and to edit."""
    x, y, w, h = (int(v) for v in rle_bbox(rle))
    if w == 0 or h == 0:
        return 0, 0, np.zeros((0, 0), np.uint8)
    return x, y, decode_rle(rle)[y:y + h, x:x + w]


def paste_mask(x0: int, y0: int, crop: np.ndarray, height: int, width: int) -> dict:
    """Inverse of crop_rle: a crop placed at (x0, y0) in an image-sized mask."""
    full = np.zeros((height, width), np.uint8)
    h, w = crop.shape
    xs, ys = max(x0, 0), max(y0, 0)
    xe, ye = min(x0 + w, width), min(y0 + h, height)
    if xe > xs and ye > ys:
        full[ys:ye, xs:xe] = crop[ys - y0:ye - y0, xs - x0:xe - x0]
    return encode_mask(full)


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
