"""Ground truth and results files read straight into checked records and their columns.

msgspec decodes each file against the fields an evaluation reads (unknown fields are skipped
without being built, so a bbox evaluation never makes a label's polygon) and checks their types
while it parses: an id is an integer, a score and an area a number, a box four numbers. What JSON
cannot say (ids the ground truth has, finite numbers, boxes on every entry or on none) is checked
on the columns. Input this path does not take as certainly valid is read again by inputs.py's
loader and checked entry by entry there, so every refusal keeps its one-line message naming the
entry, and anything accepted there is still accepted.

A record reads like the dict it came from (`r["bbox"]`, `r.get("iscrowd", 0)`, `"bbox" in r`,
`dict(r)`) with the fields the evaluation uses; an absent or null optional field is absent.
"""
from __future__ import annotations

import os
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from annotations.formats.common import gc_paused, read_regular

from .columns import Columns, _ints, values_hold
from .inputs import load_json_file

Box = tuple[float, float, float, float]


class Record(msgspec.Struct):
    """Dict-style reads of a decoded entry (None stands for absent)."""

    def keys(self):
        return [k for k in self.__struct_fields__ if getattr(self, k) is not None]

    def __getitem__(self, key: str):
        v = getattr(self, key, None) if isinstance(key, str) else None
        if v is None:
            raise KeyError(key)
        return v

    def get(self, key: str, default=None):
        v = getattr(self, key, None)
        return default if v is None else v

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and getattr(self, key, None) is not None

    def as_dict(self) -> dict:
        """As the file had it (a box is a list)."""
        d = {k: getattr(self, k) for k in self.keys()}
        if "bbox" in d:
            d["bbox"] = list(d["bbox"])
        return d


class Label(Record):
    id: int
    image_id: int
    category_id: int
    area: float
    bbox: Box | None = None
    iscrowd: Any = None
    difficult: Any = None


class MaskLabel(Label):
    segmentation: Any = None


class Result(Record):
    image_id: int
    category_id: int
    score: float
    bbox: Box | None = None


class MaskResult(Result):
    segmentation: dict[str, Any] | None = None


class GroundTruth(msgspec.Struct):
    images: list[dict[str, Any]]
    annotations: list[Label]
    categories: list[dict[str, Any]]


class MaskGroundTruth(msgspec.Struct):
    images: list[dict[str, Any]]
    annotations: list[MaskLabel]
    categories: list[dict[str, Any]]


_DECODERS = {
    "bbox": (msgspec.json.Decoder(GroundTruth), msgspec.json.Decoder(list[Result])),
    "segm": (msgspec.json.Decoder(MaskGroundTruth), msgspec.json.Decoder(list[MaskResult])),
}


def read_coco_files(gt_path: str | os.PathLike, dt_path: str | os.PathLike, iou_type: str,
                    gt_what: str = "ground truth", dt_what: str = "detections") -> tuple[dict, list, Columns | None]:
    """(ground truth, results, their columns). Columns None: the input was read by load_json_file
    and is checked by the evaluation as any dicts are (and refused there with its message)."""
    read = _read_typed(Path(gt_path), Path(dt_path), iou_type) if iou_type in _DECODERS else None
    if read is not None:
        return read
    return load_json_file(gt_path, gt_what), load_json_file(dt_path, dt_what), None


def _read_typed(gt_path: Path, dt_path: Path, iou_type: str):
    gt_decoder, dt_decoder = _DECODERS[iou_type]
    try:
        gt_bytes, dt_bytes = read_regular(gt_path), read_regular(dt_path)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return None  # load_json_file names what is wrong with the path
    try:
        with gc_paused():
            gt, dt = gt_decoder.decode(gt_bytes), dt_decoder.decode(dt_bytes)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    gt = {"images": gt.images, "annotations": gt.annotations, "categories": gt.categories}
    cols = _checked_columns(gt, dt, iou_type)
    return None if cols is None else (gt, dt, cols)


def _column(rows: list, name: str, dtype) -> np.ndarray | None:
    try:
        return np.fromiter(map(attrgetter(name), rows), dtype, len(rows))
    except OverflowError:  # an integer beyond 64 bits
        return None


def _flag(rows: list, name: str) -> np.ndarray:
    """An optional 0/1 field, any truthy value set, as the dict path reads it."""
    return np.fromiter(map(bool, map(attrgetter(name), rows)), bool, len(rows))


def _boxes(rows: list, n_with: int) -> np.ndarray | None:
    """N x 4 where every entry has a box; None where none has; False where some have (values_hold
    checks that they are finite)."""
    if not rows:
        return np.empty((0, 4))
    if n_with == 0:
        return None
    if n_with != len(rows):
        return False
    return np.fromiter(chain.from_iterable(map(attrgetter("bbox"), rows)), np.float64, 4 * len(rows)).reshape(-1, 4)


def _checked_columns(gt: dict, dt: list, iou_type: str) -> Columns | None:
    images, cats, anns = gt["images"], gt["categories"], gt["annotations"]
    if not images or not cats or not dt:
        return None
    image_ids, cat_ids = _ints(images, "id"), _ints(cats, "id")
    g = [_column(anns, k, np.int64) for k in ("image_id", "category_id", "id")]
    d_image, d_cat = _column(dt, "image_id", np.int64), _column(dt, "category_id", np.int64)
    area, d_score = _column(anns, "area", np.float64), _column(dt, "score", np.float64)
    if any(c is None for c in (image_ids, cat_ids, *g, d_image, d_cat, area, d_score)):
        return None
    get_box = attrgetter("bbox")
    g_box = _boxes(anns, len(anns) - list(map(get_box, anns)).count(None))
    d_box = _boxes(dt, len(dt) - list(map(get_box, dt)).count(None))
    if d_box is False:  # boxes on some results
        return None
    cols = Columns(image_ids, cat_ids, g[0], g[1], g[2], area, _flag(anns, "iscrowd"), _flag(anns, "difficult"),
                   g_box if isinstance(g_box, np.ndarray) else None, d_image, d_cat, d_score, d_box)
    return cols if values_hold(cols, gt, dt, iou_type) else None


def as_dicts(records: list) -> list:
    """Plain dicts of decoded records (for an evaluator that writes into its input); dicts as they are."""
    return [r.as_dict() if isinstance(r, Record) else r for r in records]
