"""Checking ground truth and detections before they reach a COCO evaluator.

pycocotools answers bad input with an AssertionError or a KeyError deep inside; here every problem
becomes an EvaluationError whose one-line message names the file (or "ground truth"/"detections")
and the entry.
"""
from __future__ import annotations

import contextlib
import gc
import json
import math
import numbers
import os
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path

import numpy as np

from annotations.errors import SightlineError

try:
    import orjson
except ImportError:  # the standard parser gives the same objects, 3-4 times slower
    orjson = None

IOU_TYPES = ("bbox", "segm")


class EvaluationError(SightlineError):
    """Input that cannot be evaluated; the message names the file and the entry."""


@contextlib.contextmanager
def gc_paused():
    """No cyclic garbage collection while large lists of small dicts are built and read: the
    collector's passes over them cost more than the work itself (2-3x on a COCO results file).
    These objects hold no cycles; reference counting frees them as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_json_file(path: str | os.PathLike, what: str):
    p = Path(path)
    if not p.is_file():
        raise EvaluationError(f"{p}: no such file ({what})")
    data = p.read_bytes()
    if not data.strip():
        raise EvaluationError(f"{p}: the file is empty ({what})")
    try:
        with gc_paused():
            return orjson.loads(data) if orjson is not None else json.loads(data)
    except ValueError as e:  # json.JSONDecodeError and orjson's, and bad UTF-8
        raise EvaluationError(f"{p}: not valid JSON ({what}): {e}") from e


def _is_number(v) -> bool:
    # numpy scalars count: results often come straight from arrays.
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _of_types(values, types) -> bool:
    return set(map(type, values)) <= types


_INT, _NUM = {int}, {int, float}


def _ints(rows: list, key: str) -> np.ndarray | None:
    """rows[*][key] as int64 if every row is a dict holding a plain int there, else None."""
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


def _numbers_ok(vals) -> bool:
    if not _of_types(vals, _NUM):
        return False
    try:
        return bool(np.isfinite(np.fromiter(vals, np.float64, len(vals))).all())
    except OverflowError:
        return False


def _boxes_ok(vals) -> bool:
    if not _of_types(vals, {list, tuple}) or set(map(len, vals)) - {4}:
        return False
    return _numbers_ok(list(chain.from_iterable(vals)))


def _ground_truth_fast(gt, iou_type: str) -> bool:
    """True when gt is certainly valid, checked column by column at C speed; False sends it to the
    entry-by-entry check, which names the first bad entry (or accepts, e.g. numpy numbers)."""
    if not isinstance(gt, dict) or not all(isinstance(gt.get(k), list) and gt[k] for k in ("images", "categories")):
        return False
    images, cats, anns = gt["images"], gt["categories"], gt.get("annotations")
    if not isinstance(anns, list) or not _of_types(images, {dict}) or not _of_types(cats, {dict}) \
            or not _of_types(anns, {dict}):
        return False
    img_ids, cat_ids = _ints(images, "id"), _ints(cats, "id")
    if img_ids is None or cat_ids is None:
        return False
    if iou_type == "segm" and not all(_numbers_ok(list(map(dict.get, images, repeat(k)))) for k in ("height", "width")):
        return False
    if not anns:
        return True
    cols = [_ints(anns, k) for k in ("id", "image_id", "category_id")]
    if any(c is None for c in cols) or not np.isin(cols[1], img_ids).all() or not np.isin(cols[2], cat_ids).all():
        return False
    if not _numbers_ok(list(map(dict.get, anns, repeat("area")))):
        return False
    if iou_type == "bbox":
        return _boxes_ok(list(map(dict.get, anns, repeat("bbox"))))
    return all(map(bool, map(dict.get, anns, repeat("segmentation"))))


def _detections_fast(dt, gt: dict, iou_type: str) -> bool:
    """As _ground_truth_fast, for results (gt already checked)."""
    if not isinstance(dt, list) or not dt or not _of_types(dt, {dict}):
        return False
    img, cat = _ints(dt, "image_id"), _ints(dt, "category_id")
    if img is None or cat is None or not _numbers_ok(list(map(dict.get, dt, repeat("score")))):
        return False
    if not np.isin(img, _ints(gt["images"], "id")).all() or not np.isin(cat, _ints(gt["categories"], "id")).all():
        return False
    with_box = sum(map(dict.__contains__, dt, repeat("bbox")))
    if iou_type == "bbox" and with_box < len(dt):
        return False
    if with_box not in (0, len(dt)) or (with_box and not _boxes_ok(list(map(itemgetter("bbox"), dt)))):
        return False
    if iou_type == "segm":
        segs = list(map(dict.get, dt, repeat("segmentation")))
        return _of_types(segs, {dict}) and all(map(dict.__contains__, segs, repeat("counts"))) \
            and all(map(dict.__contains__, segs, repeat("size")))
    return True


def check_ground_truth(gt, iou_type: str, name: str = "ground truth") -> None:
    if iou_type in IOU_TYPES and _ground_truth_fast(gt, iou_type):
        return
    if iou_type not in IOU_TYPES:
        raise EvaluationError(f"unknown IoU type {iou_type!r}; choose one of {', '.join(IOU_TYPES)}")
    if isinstance(gt, list):
        raise EvaluationError(f"{name}: a list of results, not a COCO ground-truth dict "
                              "(were --gt and --dt swapped?)")
    if not isinstance(gt, dict):
        raise EvaluationError(f"{name}: expected a COCO dict with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(gt.get(key), list):
            raise EvaluationError(f"{name}: no {key!r} list")
    if not gt["images"]:
        raise EvaluationError(f"{name}: no images")
    if not gt["categories"]:
        raise EvaluationError(f"{name}: no categories")
    for i, img in enumerate(gt["images"]):
        if not isinstance(img, dict) or not _is_int(img.get("id")):
            raise EvaluationError(f"{name}: images[{i}] has no integer 'id'")
        if iou_type == "segm" and not (_is_number(img.get("height")) and _is_number(img.get("width"))):
            raise EvaluationError(f"{name}: images[{i}] (id {img['id']}) needs 'height' and 'width' for masks")
    for i, cat in enumerate(gt["categories"]):
        if not isinstance(cat, dict) or not _is_int(cat.get("id")):
            raise EvaluationError(f"{name}: categories[{i}] has no integer 'id'")
    image_ids = {img["id"] for img in gt["images"]}
    cat_ids = {c["id"] for c in gt["categories"]}
    for i, a in enumerate(gt["annotations"]):
        if not isinstance(a, dict):
            raise EvaluationError(f"{name}: annotations[{i}] is not an object")
        for key in ("id", "image_id", "category_id"):
            if not _is_int(a.get(key)):
                raise EvaluationError(f"{name}: annotations[{i}] has no integer {key!r}")
        if a["image_id"] not in image_ids:
            raise EvaluationError(f"{name}: annotations[{i}] (id {a['id']}) refers to unknown image {a['image_id']}")
        if a["category_id"] not in cat_ids:
            raise EvaluationError(f"{name}: annotations[{i}] (id {a['id']}) refers to unknown category "
                                  f"{a['category_id']}")
        if not _is_number(a.get("area")):
            raise EvaluationError(f"{name}: annotations[{i}] (id {a['id']}) has no numeric 'area'")
        if iou_type == "bbox" and not _is_box(a.get("bbox")):
            raise EvaluationError(f"{name}: annotations[{i}] (id {a['id']}) has no 'bbox' [x, y, w, h]")
        if iou_type == "segm" and not a.get("segmentation"):
            raise EvaluationError(f"{name}: annotations[{i}] (id {a['id']}) has no 'segmentation'")


def _is_box(b) -> bool:
    return isinstance(b, (list, tuple)) and len(b) == 4 and all(_is_number(v) for v in b)


def check_detections(dt, gt: dict, iou_type: str, name: str = "detections") -> None:
    if _detections_fast(dt, gt, iou_type):
        return
    if isinstance(dt, dict):
        if "annotations" in dt and "images" in dt:
            raise EvaluationError(f"{name}: a COCO ground-truth dict, not a list of results "
                                  "(were --gt and --dt swapped?)")
        raise EvaluationError(f"{name}: expected a list of results (COCO results format)")
    if not isinstance(dt, list):
        raise EvaluationError(f"{name}: expected a list of results (COCO results format)")
    if not dt:
        raise EvaluationError(f"{name}: no detections to evaluate")
    image_ids = {img["id"] for img in gt["images"]}
    cat_ids = {c["id"] for c in gt["categories"]}
    for i, d in enumerate(dt):
        if not isinstance(d, dict):
            raise EvaluationError(f"{name}: entry {i} is not an object")
        img = d.get("image_id")
        if not _is_int(img):
            raise EvaluationError(f"{name}: entry {i} has no integer 'image_id'")
        if img not in image_ids:
            raise EvaluationError(f"{name}: entry {i} is for image {img}, which the ground truth does not have")
        cat = d.get("category_id")
        if not _is_int(cat):
            raise EvaluationError(f"{name}: entry {i} has no integer 'category_id'")
        if cat not in cat_ids:
            raise EvaluationError(f"{name}: entry {i} has category {cat}, which the ground truth does not have")
        if not _is_number(d.get("score")):
            raise EvaluationError(f"{name}: entry {i} has no numeric 'score'")
        if iou_type == "bbox":
            if not _is_box(d.get("bbox")):
                raise EvaluationError(f"{name}: entry {i} has no 'bbox' [x, y, w, h] (needed for bbox evaluation)")
        else:
            seg = d.get("segmentation")
            if not (isinstance(seg, dict) and "counts" in seg and "size" in seg):
                raise EvaluationError(f"{name}: entry {i} has no RLE 'segmentation' (needed for segm evaluation)")
    # The first entry decides how pycocotools' loadRes reads all of them: keep them uniform.
    has_box = _is_box(dt[0].get("bbox"))
    for i, d in enumerate(dt):
        if _is_box(d.get("bbox")) != has_box:
            raise EvaluationError(f"{name}: entry {i} {'lacks' if has_box else 'has'} a 'bbox' unlike entry 0; "
                                  "all results must have the same fields")


def check_image_ids(image_ids, gt: dict) -> list[int]:
    known = {img["id"] for img in gt["images"]}
    ids = sorted({int(i) for i in image_ids})
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise EvaluationError(f"image subset: ids {unknown[:5]} are not in the ground truth")
    if not ids:
        raise EvaluationError("image subset: no images chosen")
    return ids
