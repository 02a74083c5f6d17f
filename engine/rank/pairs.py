"""Pairing two sets of boxes per image with the evaluation's own per-object matching.

engine.evaluation.matching does the matching (predictions in falling score order, each taking the
free reference box with the highest IoU >= iou); this module only hands it store annotations:
`reference` plays the labels, `candidates` the detections. agnostic=True matches across classes
(every box in one class), as FiftyOne Brain's mistakenness does (classwise=False).
"""
from __future__ import annotations

from annotations.model import Annotation, ImageRecord
from engine.evaluation.matching import Matches, match_objects

_ONE_CLASS = 0


def match_sets(images: list[ImageRecord], reference: list[Annotation], candidates: list[Annotation],
               category_ids: list[int], iou: float, agnostic: bool = False) -> Matches:
    """Matches over `images`; m.g_id are reference ids, m.p_id candidate ids (store ids)."""
    cat = (lambda a: _ONE_CLASS) if agnostic else (lambda a: a.category_id)  # noqa: E731
    cats = [_ONE_CLASS] if agnostic else sorted(set(category_ids) | {a.category_id for a in reference + candidates})
    gt = {"images": [{"id": im.id, "height": im.height, "width": im.width} for im in images],
          "categories": [{"id": c, "name": str(c)} for c in cats],
          "annotations": [{"id": a.id, "image_id": a.image_id, "category_id": cat(a), "bbox": list(a.bbox),
                           "area": float(a.area or a.bbox[2] * a.bbox[3]), "iscrowd": int(a.iscrowd)}
                          for a in reference]}
    dt = [{"image_id": a.image_id, "category_id": cat(a), "bbox": list(a.bbox),
           "score": float(a.score if a.score is not None else 1.0)} for a in candidates]
    difficult = [a.id for a in reference if a.extra.get("difficult")]
    return match_objects(gt, dt, iou=iou, dt_ids=[a.id for a in candidates], difficult_ids=difficult,
                         image_ids=[im.id for im in images])
