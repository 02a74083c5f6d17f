"""The fields of ground truth and results that every pass reads, as arrays, read once.

`read_columns` checks the input column by column at C speed (types by set of types, ids by
membership, numbers by isfinite) and returns the arrays it checked, or None when anything is
doubtful; then the entry-by-entry checks of inputs.py name the first bad entry (or accept what
they accept, e.g. numpy numbers) and `columns_of` reads the fields without checking.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter

import numpy as np

_INT, _NUM = {int}, {int, float}


@dataclass
class Columns:
    image_ids: np.ndarray  # gt["images"] ids
    cat_ids: np.ndarray  # gt["categories"] ids
    g_image: np.ndarray  # per label
    g_cat: np.ndarray
    g_id: np.ndarray
    g_area: np.ndarray
    g_crowd: np.ndarray
    g_difficult: np.ndarray  # "difficult": 1 in the file
    g_box: np.ndarray | None  # N x 4, None where not every label has one
    d_image: np.ndarray  # per result
    d_cat: np.ndarray
    d_score: np.ndarray
    d_box: np.ndarray | None


def column(rows: list[dict], key: str, dtype) -> np.ndarray:
    """One field of every entry (they all have it) as an array."""
    return np.fromiter(map(itemgetter(key), rows), dtype, len(rows))


def boxes(rows: list[dict], key: str = "bbox") -> np.ndarray:
    return np.fromiter(chain.from_iterable(map(itemgetter(key), rows)), np.float64, 4 * len(rows)).reshape(-1, 4)


def flag(rows: list[dict], key: str) -> np.ndarray:
    """An optional 0/1 field (absent = 0) as a boolean array."""
    return np.fromiter(map(dict.get, rows, repeat(key), repeat(0)), bool, len(rows))


def columns_of(gt: dict, dt: list[dict]) -> Columns:
    """Without checks (the input passed inputs.py's); "area" may be absent (matching and VOC AP do
    not read it)."""
    anns = gt["annotations"]
    has_g_box = all(map(dict.__contains__, anns, repeat("bbox")))
    has_d_box = bool(dt) and all(map(dict.__contains__, dt, repeat("bbox")))
    return Columns(
        column(gt["images"], "id", np.int64), column(gt["categories"], "id", np.int64),
        column(anns, "image_id", np.int64), column(anns, "category_id", np.int64), column(anns, "id", np.int64),
        np.fromiter(map(dict.get, anns, repeat("area"), repeat(0.0)), np.float64, len(anns)),
        flag(anns, "iscrowd"), flag(anns, "difficult"),
        boxes(anns) if has_g_box else None,
        column(dt, "image_id", np.int64), column(dt, "category_id", np.int64), column(dt, "score", np.float64),
        boxes(dt) if has_d_box else None)


def values_hold(c: Columns, gt, dt, iou_type: str) -> bool:
    """What every reader of the input checks beyond types, on its columns: finite numbers, ids the
    ground truth has, a box wherever bbox needs one; for segm the images' sizes and every entry's
    segmentation (entries read with .get: dicts, or reader.py's records)."""
    boxes = [b for b in (c.g_box, c.d_box) if b is not None]
    if not all(np.isfinite(a).all() for a in [c.g_area, c.d_score, *boxes]):
        return False
    if not (np.isin(c.g_image, c.image_ids).all() and np.isin(c.g_cat, c.cat_ids).all()
            and np.isin(c.d_image, c.image_ids).all() and np.isin(c.d_cat, c.cat_ids).all()):
        return False
    if iou_type == "bbox":
        return c.d_box is not None and (not len(c.g_id) or c.g_box is not None)
    return (all(a.get("segmentation") for a in gt["annotations"])
            and all(type(d.get("segmentation")) is dict and "counts" in d["segmentation"]
                    and "size" in d["segmentation"] for d in dt)
            and all(_numbers([im.get(k) for im in gt["images"]]) is not None for k in ("height", "width")))


def known_columns(gt: dict, dt: list[dict], iou_type: str) -> Columns | None:
    """The columns of input whose types are known (project_data builds it from the store: integer
    ids, four-number boxes), read without the type checks, its values checked (values_hold). None
    where anything is off: read_columns and the entry-by-entry checks then decide, and name the
    entry. Only for such input: numpy reads the text "13" as the id 13, where read_columns refuses it."""
    if iou_type not in ("bbox", "segm") or not dt or not gt["images"] or not gt["categories"]:
        return None
    if any("bbox" in d for d in dt) and not all("bbox" in d for d in dt):
        return None  # boxes on some results: check_detections names the first that differs
    try:
        c = columns_of(gt, dt)
    except (TypeError, ValueError, OverflowError, KeyError):
        return None
    return c if values_hold(c, gt, dt, iou_type) else None


def _of_types(values, types) -> bool:
    return set(map(type, values)) <= types


def _ints(rows: list, key: str) -> np.ndarray | None:
    try:
        vals = list(map(itemgetter(key), rows))
    except (KeyError, TypeError):
        return None
    if not _of_types(vals, _INT):
        return None
    try:
        return np.fromiter(vals, np.int64, len(vals))
    except OverflowError:
        return None


def _numbers(vals: list) -> np.ndarray | None:
    if not _of_types(vals, _NUM):
        return None
    try:
        a = np.fromiter(vals, np.float64, len(vals))
    except OverflowError:
        return None
    return a if np.isfinite(a).all() else None


def _boxes(vals: list) -> np.ndarray | None:
    if not _of_types(vals, {list, tuple}) or set(map(len, vals)) - {4}:
        return None
    flat = _numbers(list(chain.from_iterable(vals)))
    return None if flat is None else flat.reshape(-1, 4)


def read_columns(gt, dt, iou_type: str) -> Columns | None:
    """The columns of certainly valid input, else None (see the module text)."""
    if not isinstance(gt, dict) or not isinstance(dt, list) or not dt:
        return None
    images, cats, anns = gt.get("images"), gt.get("categories"), gt.get("annotations")
    if not all(isinstance(x, list) for x in (images, cats, anns)) or not images or not cats:
        return None
    if not (_of_types(images, {dict}) and _of_types(cats, {dict}) and _of_types(anns, {dict})
            and _of_types(dt, {dict})):
        return None
    image_ids, cat_ids = _ints(images, "id"), _ints(cats, "id")
    if image_ids is None or cat_ids is None:
        return None
    g = [_ints(anns, k) for k in ("image_id", "category_id", "id")]
    area = _numbers(list(map(dict.get, anns, repeat("area"))))
    if any(c is None for c in g) or area is None:
        return None
    g_box = _boxes(list(map(dict.get, anns, repeat("bbox"))))
    d_image, d_cat = _ints(dt, "image_id"), _ints(dt, "category_id")
    d_score = _numbers(list(map(dict.get, dt, repeat("score"))))
    if d_image is None or d_cat is None or d_score is None:
        return None
    with_box = sum(map(dict.__contains__, dt, repeat("bbox")))
    d_box = _boxes(list(map(itemgetter("bbox"), dt))) if with_box == len(dt) else None
    if with_box not in (0, len(dt)) or (with_box and d_box is None):
        return None
    cols = Columns(image_ids, cat_ids, g[0], g[1], g[2], area, flag(anns, "iscrowd"), flag(anns, "difficult"),
                   g_box if g_box is not None and len(g_box) == len(anns) else None, d_image, d_cat, d_score, d_box)
    return cols if values_hold(cols, gt, dt, iou_type) else None
