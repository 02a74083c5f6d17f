"""Reviewing a flagged label: what "accept the model's version" turns it into.

A pure function, so the window applies it through its own undo stack (and a script through the
store): it never writes.
  missing      a new label copied from the prediction (class, geometry; provenance: the model
               name as source, its score and run kept);
  wrong_class  the label with the prediction's class;
  loose_box    the label moved onto the prediction: a mask prediction's mask, else the label's
               own shape mapped from its box onto the prediction's box (boxes become that box);
  spurious     None: the label is deleted;
  anything else: the label unchanged.
"""
from __future__ import annotations

from annotations.model import BOX, LABEL, MASK, Annotation
from annotations.scores import ObjectScore
from annotations.store import copy_annotation

from .base import RankError


def _map_polygons(polygons, src, dst):
    sx, sy = (dst[2] / src[2] if src[2] else 1.0), (dst[3] / src[3] if src[3] else 1.0)
    return [[(v - src[0]) * sx + dst[0] if k % 2 == 0 else (v - src[1]) * sy + dst[1] for k, v in enumerate(ring)]
            for ring in polygons]


def model_version(obj: ObjectScore, label: Annotation | None, prediction: Annotation | None) -> Annotation | None:
    kind = obj.kind
    if kind == "missing":
        if prediction is None:
            raise RankError("a possibly missing label needs its prediction")
        extra = {**prediction.extra, "accepted_from": prediction.id}
        return copy_annotation(prediction, id=None, status=LABEL, extra=extra)
    if label is None:
        raise RankError(f"a {kind} object needs its label")
    if kind == "spurious":
        return None
    if prediction is None:
        return label
    if kind == "wrong_class":
        return copy_annotation(label, category_id=prediction.category_id)
    if kind == "loose_box":
        if prediction.rle is not None:
            return copy_annotation(label, kind=MASK, rle=dict(prediction.rle), polygons=None, holes=None,
                                   bbox=prediction.bbox, area=None)
        if label.polygons:
            holes = _map_polygons(label.holes, label.bbox, prediction.bbox) if label.holes else None
            return copy_annotation(label, polygons=_map_polygons(label.polygons, label.bbox, prediction.bbox),
                                   holes=holes, bbox=prediction.bbox, area=None)
        return copy_annotation(label, kind=BOX, bbox=prediction.bbox, rle=None, area=None)
    return label
