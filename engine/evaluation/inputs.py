"""Checking ground truth and detections before they reach a COCO evaluator.

pycocotools answers bad input with an AssertionError or a KeyError deep inside; here every problem
becomes an EvaluationError whose one-line message names the file (or "ground truth"/"detections")
and the entry.
"""
from __future__ import annotations

import math
import numbers
import os
import re
from pathlib import Path

import orjson

from annotations.errors import SightlineError
from annotations.formats.common import gc_paused, read_regular

IOU_TYPES = ("bbox", "segm")
_NON_FINITE = re.compile(r"-?(?:NaN|Infinity)")  # what Python's json.dump writes for values not finite


class EvaluationError(SightlineError):
    """Input that cannot be evaluated; the message names the file and the entry."""


def load_json_file(path: str | os.PathLike, what: str):
    p = Path(path)
    if not p.exists():
        raise EvaluationError(f"{p}: no such file ({what})")
    try:
        data = read_regular(p)
    except (OSError, ValueError) as e:  # ValueError: a NUL in the path
        raise EvaluationError(f"{p}: cannot be read ({what}): {getattr(e, 'strerror', None) or e}") from None
    if not data.strip():
        raise EvaluationError(f"{p}: the file is empty ({what})")
    try:
        with gc_paused():
            return orjson.loads(data)
    except ValueError as e:  # json.JSONDecodeError and orjson's, and bad UTF-8
        raise EvaluationError(f"{p}: not valid JSON ({what}): {_non_finite(data, e) or e}") from e


def _non_finite(data: bytes, e: ValueError) -> str | None:
    """Where the parser stopped at NaN or Infinity (Python's json.dump writes them for values that are
    not finite), that in words; else None."""
    pos = getattr(e, "pos", None)
    if pos is None:
        return None
    text = data.decode("utf-8", "replace")
    start = pos - 1 if pos and text[pos - 1] == "-" else pos  # the parser stops after a minus sign
    m = _NON_FINITE.match(text, start)
    if m is None:
        return None
    return (f"{m.group()} at line {e.lineno}, column {e.colno - (pos - start)} is not a number JSON allows; "
            "write finite numbers")


def _is_number(v) -> bool:
    # numpy scalars count: results often come straight from arrays.
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_ground_truth(gt, iou_type: str, name: str = "ground truth") -> None:
    """Entry by entry (columns.read_columns is the fast path for input that is certainly valid)."""
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
