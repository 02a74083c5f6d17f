"""Objects and their class probabilities, from a run's stored predictions.

A stored prediction carries one class and one confidence. Detectors also propose other classes
for the same place (FCOS and RetinaNet score every class on their own, R-CNNs keep each class of a
region), so predictions of different classes that overlap by `group_iou` or more are taken as one
object, in falling score order. Its class probabilities are the highest confidence of each class
in the group, plus "nothing here" for what they leave: p = (q_1 .. q_k, max(0, 1 - sum q)),
normalised to sum 1. A lone prediction with confidence c is thus (c, 1 - c).

From p (sorted falling): least confidence 1 - p1; margin 1 - (p1 - p2); entropy -sum p ln p over
ln(K + 1), K the project's categories (so 0..1 and comparable across images).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from annotations import geometry
from annotations.model import Annotation
from annotations.scores import ObjectScore

from .base import RankOptions, image_score

UNCERTAIN = "uncertain"


@dataclass
class PredictedObject:
    members: list[Annotation]  # falling score; members[0] is the object's top prediction
    probabilities: np.ndarray  # falling, "nothing here" included

    @property
    def top(self) -> Annotation:
        return self.members[0]


def group_predictions(preds: list[Annotation], group_iou: float) -> list[list[Annotation]]:
    """Predictions of one image as objects: each joins the first earlier object whose top
    prediction overlaps it by group_iou and has no prediction of its class yet."""
    order = sorted(preds, key=lambda a: -(a.score or 0.0))
    if not order:
        return []
    ious = geometry.iou_boxes([a.bbox for a in order], [a.bbox for a in order])
    groups: list[list[int]] = []
    for i, a in enumerate(order):
        for g in groups:
            if ious[g[0], i] >= group_iou and all(order[j].category_id != a.category_id for j in g):
                g.append(i)
                break
        else:
            groups.append([i])
    return [[order[i] for i in g] for g in groups]


def class_probabilities(members: list[Annotation]) -> np.ndarray:
    q = np.asarray([min(max(a.score or 0.0, 0.0), 1.0) for a in members], float)
    p = np.append(q, max(0.0, 1.0 - q.sum()))
    return np.sort(p / p.sum())[::-1]


def predicted_objects(preds: list[Annotation], group_iou: float) -> list[PredictedObject]:
    return [PredictedObject(g, class_probabilities(g)) for g in group_predictions(preds, group_iou)]


def least_confidence(p: np.ndarray, n_classes: int) -> float:
    return float(1.0 - p[0])


def margin(p: np.ndarray, n_classes: int) -> float:
    return float(1.0 - (p[0] - (p[1] if len(p) > 1 else 0.0)))


def entropy(p: np.ndarray, n_classes: int) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(max(n_classes, 1) + 1))


def uncertainty_scores(data, opts: RankOptions, measure) -> list:
    """ImageScores of the candidates with `measure(p, K)` per object, and each image's count of
    objects whose confidence is within `band` of `threshold`."""
    k = len(data.category_ids)
    out = []
    for im in data.images:
        objs, near = [], 0
        for o in predicted_objects(data.predictions.get(im.id, []), opts.group_iou):
            conf = float(o.top.score or 0.0)
            near += abs(conf - opts.threshold) <= opts.band
            objs.append(ObjectScore(im.id, UNCERTAIN, measure(o.probabilities, k), None, o.top.id,
                                    {"category_id": o.top.category_id, "confidence": round(conf, 6),
                                     "classes": len(o.members)}))
        out.append(image_score(im.id, objs, opts.aggregate, near_threshold=int(near)))
    return out
