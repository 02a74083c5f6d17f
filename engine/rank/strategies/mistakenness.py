"""Mistakenness of labels, with FiftyOne Brain's definitions (compute_mistakenness, detections) as
the reference.

As there, labels and predictions are matched across classes at IoU 0.5, predictions in falling
confidence order (here: engine.evaluation.matching with every box in one class). c is the
prediction's confidence, m = +1 when the pair's classes differ and -1 when they agree, and
i = (1 - IoU) / (1 - 0.5) (0 for a perfect box, 1 at the matching threshold):
  class mistakenness     (m * c + 1) / 2
  location mistakenness  (c * (2 i - 1) + 1) / 2
Both are 0.5 for a model with no confidence, near 1 for a confident disagreement, near 0 for a
confident agreement. One departure: a detector that scores every class at a place (FCOS,
RetinaNet) often also predicts the label's own class there, with confidence s (the label's
same-class match, IoU >= 0.5). A pair of different classes then gets (c - s + 1) / 2: the model's
preference for the other class, not its confidence in it alone (s = 0 gives FiftyOne's value).
Per object (a label, or a prediction without one):
  wrong_class  a matched pair of different classes whose class mistakenness exceeds 0.5:
               max(class, location mistakenness);
  loose_box    a matched pair of one class whose location mistakenness exceeds 0.5 (IoU < 0.75 at
               full confidence), or an unmatched label overlapped (IoU >= 0.1) by an unmatched
               prediction -- a box moved off its object; scored as above with i capped at 1;
  missing      an unmatched prediction with confidence above `missing_confidence` (FiftyOne: 0.95)
               and no label near it: (c + 1) / 2 (the class formula with m = +1);
  spurious     an unmatched label no prediction supports. FiftyOne flags these without a value;
               here: a label whose best-overlapping prediction (IoU >= 0.5) matched another label
               (a duplicate) scores (c + 1) / 2 of that prediction, any other 0.5 (the model has no
               opinion, as for a model without confidence);
  supported    every other label: max(class, location mistakenness), below 0.5.
The image's score is the max over its objects (FiftyOne takes the max over matched labels only,
and counts missing and spurious ones beside it). Predictions matched as duplicates of a matched
label (same place, IoU >= 0.5) are not missing labels: the label is there.
"""
from __future__ import annotations

import numpy as np

from annotations.scores import ObjectScore
from engine.evaluation.matching import DUPLICATE, FP, LOW_IOU_FLOOR, TP

from ..base import LABELLED, Strategy, image_score
from ..pairs import match_sets

WRONG_CLASS, LOOSE_BOX, MISSING, SPURIOUS, SUPPORTED = "wrong_class", "loose_box", "missing", "spurious", "supported"
KINDS = (MISSING, SPURIOUS, WRONG_CLASS, LOOSE_BOX, SUPPORTED)


def class_mistakenness(confidence: float, same_class: bool, own_class: float = 0.0) -> float:
    """FiftyOne's (m c + 1) / 2; for different classes less the label's own class's confidence."""
    if same_class:
        return (1.0 - confidence) / 2.0
    return (confidence - own_class + 1.0) / 2.0


def location_mistakenness(confidence: float, iou: float, match_iou: float = 0.5) -> float:
    i = min(1.0, (1.0 - iou) / (1.0 - match_iou))
    return (confidence * (2.0 * i - 1.0) + 1.0) / 2.0


def _pair(image_id, label, pred, iou, match_iou, own_class: float) -> ObjectScore:
    c = float(pred.score or 0.0)
    same = label.category_id == pred.category_id
    cm, lm = class_mistakenness(c, same, own_class), location_mistakenness(c, iou, match_iou)
    kind = WRONG_CLASS if not same and cm > 0.5 else (LOOSE_BOX if lm > 0.5 else SUPPORTED)
    return ObjectScore(image_id, kind, max(cm, lm), label.id, pred.id,
                       {"iou": round(iou, 6), "confidence": round(c, 6), "class_mistakenness": round(cm, 6),
                        "location_mistakenness": round(lm, 6), "predicted_category_id": pred.category_id,
                        "own_class_confidence": round(own_class, 6)})


def _own_class_support(data, labels, preds, iou) -> dict[int, float]:
    """label id -> confidence of the prediction of its own class matched to it (classwise matching)."""
    m = match_sets(data.images, labels, preds, data.category_ids, iou)
    hit = np.nonzero(m.g_tp_pred >= 0)[0]
    return {int(m.g_id[j]): float(m.p_score[m.g_tp_pred[j]]) for j in hit}


def mistakenness_scores(data, opts) -> list:
    labels = [a for im in data.images for a in data.labels.get(im.id, [])]
    preds = [a for im in data.images for a in data.predictions.get(im.id, [])]
    by_id = {a.id: a for a in labels + preds}
    m = match_sets(data.images, labels, preds, data.category_ids, opts.iou, agnostic=True)
    own = _own_class_support(data, labels, preds, opts.iou)
    objects: dict[int, list[ObjectScore]] = {}
    used_preds: set[int] = set()

    def add(obj: ObjectScore) -> None:
        objects.setdefault(obj.image_id, []).append(obj)

    for i in np.nonzero(m.p_outcome == TP)[0]:
        label, pred = by_id[int(m.g_id[m.p_gt[i]])], by_id[int(m.p_id[i])]
        add(_pair(int(m.p_image[i]), label, pred, float(m.p_iou[i]), opts.iou, own.get(label.id, 0.0)))
    for j in np.nonzero((m.g_tp_pred < 0) & ~m.g_ignored)[0]:
        image_id, label = int(m.g_image[j]), by_id[int(m.g_id[j])]
        b, iou = int(m.g_best_pred[j]), float(m.g_best_iou[j])
        if b >= 0 and iou >= LOW_IOU_FLOOR and m.p_outcome[b] == FP and m.p_reason[b] != DUPLICATE:  # moved off
            pred = by_id[int(m.p_id[b])]
            used_preds.add(pred.id)
            obj = _pair(image_id, label, pred, iou, opts.iou, own.get(label.id, 0.0))
            obj.kind = WRONG_CLASS if obj.kind == WRONG_CLASS else LOOSE_BOX
            add(obj)
        elif b >= 0 and iou >= opts.iou and m.p_outcome[b] == TP:  # the model's one object is labelled twice
            c = float(m.p_score[b])
            add(ObjectScore(image_id, SPURIOUS, (c + 1.0) / 2.0, label.id, int(m.p_id[b]),
                            {"iou": round(iou, 6), "confidence": round(c, 6), "duplicate_of": int(m.g_id[m.p_gt[b]])}))
        else:
            add(ObjectScore(image_id, SPURIOUS, 0.5, label.id, None, {}))
    for i in np.nonzero((m.p_outcome == FP) & (m.p_reason != DUPLICATE))[0]:
        c = float(m.p_score[i])
        if c > opts.missing_confidence and int(m.p_id[i]) not in used_preds:
            pred = by_id[int(m.p_id[i])]
            add(ObjectScore(int(m.p_image[i]), MISSING, (c + 1.0) / 2.0, None, pred.id,
                            {"confidence": round(c, 6), "category_id": pred.category_id}))
    return [image_score(im.id, objects.get(im.id, []), "max") for im in data.images]


STRATEGY = Strategy("mistakenness", "labels the run's predictions contradict (FiftyOne Brain's mistakenness)",
                    LABELLED, mistakenness_scores)
