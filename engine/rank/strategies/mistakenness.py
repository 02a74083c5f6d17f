"""Mistakenness of labels, with FiftyOne Brain's definitions (compute_mistakenness, detections) as
the reference.

Detections first: a detector that scores every class at a place (FCOS, RetinaNet; R-CNNs keep each
class of a region) leaves several predictions of different classes on one object. They are grouped
as the uncertainty strategies group them (engine.rank.classes, IoU >= `group_iou`) into one
detection: its class and box are the top prediction's, its confidence c the top score, and the
group's score of any other class k is its confidence in k (0 where the group has none). FiftyOne
reads the same from a prediction's confidence and logits; matching the members one by one instead
pairs a label with a second-class prediction of its own object.

As in FiftyOne, labels and detections are matched across classes at IoU 0.5, detections in falling
confidence order (here: engine.evaluation.matching with every box in one class). m = +1 when the
pair's classes differ and -1 when they agree, and i = (1 - IoU) / (1 - 0.5) (0 for a perfect box,
1 at the matching threshold):
  class mistakenness     (m * c + 1) / 2, less s / 2 where classes differ, s the detection's
                         confidence in the label's class: (c - s + 1) / 2, the model's preference
                         for the other class (s = 0 gives FiftyOne's value);
  location mistakenness  (c * (2 i - 1) + 1) / 2
Both are 0.5 for a model with no confidence, near 1 for a confident disagreement, near 0 for a
confident agreement.

"Confident" is a level, `confident_level`: `missing_confidence` when given; by default (None) the
median confidence of the run's detections that match a label of their own class -- as sure as the
model usually is where it is right -- and at most `threshold` (0.5, the decision threshold). A fixed
0.95 (FiftyOne's missing-label threshold) suits a calibrated model; a compact detector trained on a
few hundred labels rarely scores anything that high (0.2 to 0.6), and a fixed level that it never
reaches would call no label missing and no class wrong.

Per object (a label, or a detection without one):
  wrong_class  a matched pair of different classes where the model is confident in its class
               (c >= level) and not in the label's (s < level): max(class, location mistakenness);
               a pair of different classes without that is judged as one of the label's class
               would be (loose_box or supported), its class term capped at 0.5 (no firm opinion);
  loose_box    a matched pair whose location mistakenness exceeds 0.5 (IoU < 0.75 at full
               confidence), or an unmatched label overlapped (IoU >= 0.1) by an unmatched
               detection -- a box moved off its object; scored as above with i capped at 1;
  missing      an unmatched detection with confidence above the level and no label near it:
               (c + 1) / 2 (the class formula with m = +1);
  spurious     an unmatched label no detection supports. FiftyOne flags these without a value;
               here: a label whose best-overlapping detection (IoU >= 0.5) matched another label
               (a duplicate) scores (c + 1) / 2 of that detection, any other 0.5 (the model has no
               opinion, as for a model without confidence). Also a label of the same class as
               another label on the same place (IoU >= `group_iou`: one object labelled twice,
               as FiftyOne's duplicate-object recipe finds them by max IoU), the one the model
               supports less: (c + 1) / 2 of the detection its twin holds (0.5 without one) --
               a compact model leaves a weaker box of the class beside the first, and the copy
               would otherwise pair with it;
  supported    every other label: max(class, location mistakenness), at most 0.5.
The image's score is the max over its objects (FiftyOne takes the max over matched labels only,
and counts missing and spurious ones beside it). Detections matched as duplicates of a matched
label (same place, IoU >= 0.5) are not missing labels: the label is there.
"""
from __future__ import annotations

import numpy as np

from annotations import geometry
from annotations.model import Annotation
from annotations.scores import ObjectScore
from engine.evaluation.matching import DUPLICATE, FP, LOW_IOU_FLOOR, TP

from ..base import LABELLED, Strategy, image_score
from ..classes import group_predictions
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


def class_confidence(group: list[Annotation], category_id: int) -> float:
    """A detection's confidence in one class: its member of that class's score, 0 without one."""
    return max((float(a.score or 0.0) for a in group if a.category_id == category_id), default=0.0)


def confident_level(m, opts) -> float:
    """The confidence above which the model is taken to mean it (see the module's docstring)."""
    if opts.missing_confidence is not None:
        return float(opts.missing_confidence)
    right = m.p_score[m.p_outcome == TP]
    return min(opts.threshold, float(np.median(right))) if len(right) else opts.threshold


def _pair(image_id, label, group, iou, match_iou, level) -> ObjectScore:
    pred = group[0]
    c = float(pred.score or 0.0)
    same = label.category_id == pred.category_id
    own = c if same else class_confidence(group, label.category_id)
    cm, lm = class_mistakenness(c, same, own), location_mistakenness(c, iou, match_iou)
    wrong = not same and c >= level and own < level
    if not same and not wrong:
        cm = min(cm, 0.5)
    kind = WRONG_CLASS if wrong else (LOOSE_BOX if lm > 0.5 else SUPPORTED)
    return ObjectScore(image_id, kind, max(cm, lm), label.id, pred.id,
                       {"iou": round(iou, 6), "confidence": round(c, 6), "class_mistakenness": round(cm, 6),
                        "location_mistakenness": round(lm, 6), "predicted_category_id": pred.category_id,
                        "own_class_confidence": round(own, 6), "classes": len(group)})


def _twins(objects: list[ObjectScore], labels: list[Annotation], group_iou: float) -> list[ObjectScore]:
    """Of two labels of one class overlapping by group_iou or more (one object labelled twice), the
    one the model supports less (the later on a tie) is spurious: (c + 1) / 2 of its twin's detection."""
    labels = [a for a in labels if not a.iscrowd]
    if len(labels) < 2:
        return objects
    by_label = {o.annotation_id: o for o in objects if o.annotation_id is not None}

    def support(a: Annotation) -> float:
        o = by_label.get(a.id)
        return float(o.extra.get("confidence", 0.0)) if o is not None and o.kind != SPURIOUS else 0.0

    order = sorted(labels, key=lambda a: (-support(a), a.id))
    ious = geometry.iou_boxes([a.bbox for a in order], [a.bbox for a in order])
    twin_of: dict[int, tuple[Annotation, float]] = {}
    for k, a in enumerate(order):
        for j in range(k):
            b = order[j]
            if b.category_id == a.category_id and ious[j, k] >= group_iou and b.id not in twin_of:
                twin_of[a.id] = (b, float(ious[j, k]))
                break
    out = []
    for o in objects:
        if o.annotation_id not in twin_of:
            out.append(o)
            continue
        twin, iou = twin_of[o.annotation_id]
        c, held = support(twin), by_label.get(twin.id)
        out.append(ObjectScore(o.image_id, SPURIOUS, (c + 1.0) / 2.0, o.annotation_id,
                               held.prediction_id if held is not None and c > 0 else None,
                               {"confidence": round(c, 6), "duplicate_of": twin.id, "label_iou": round(iou, 6)}))
    return out


def mistakenness_scores(data, opts) -> list:
    labels = [a for im in data.images for a in data.labels.get(im.id, [])]
    groups = {g[0].id: g for im in data.images
              for g in group_predictions(data.predictions.get(im.id, []), opts.group_iou)}
    tops = [g[0] for g in groups.values()]
    by_id = {a.id: a for a in labels}
    m = match_sets(data.images, labels, tops, data.category_ids, opts.iou, agnostic=True)
    same = match_sets(data.images, labels, tops, data.category_ids, opts.iou)
    level = confident_level(same, opts)
    objects: dict[int, list[ObjectScore]] = {}
    used_preds: set[int] = set()

    def add(obj: ObjectScore) -> None:
        objects.setdefault(obj.image_id, []).append(obj)

    for i in np.nonzero(m.p_outcome == TP)[0]:
        label, group = by_id[int(m.g_id[m.p_gt[i]])], groups[int(m.p_id[i])]
        add(_pair(int(m.p_image[i]), label, group, float(m.p_iou[i]), opts.iou, level))
    for j in np.nonzero((m.g_tp_pred < 0) & ~m.g_ignored)[0]:
        image_id, label = int(m.g_image[j]), by_id[int(m.g_id[j])]
        b, iou = int(m.g_best_pred[j]), float(m.g_best_iou[j])
        if b >= 0 and iou >= LOW_IOU_FLOOR and m.p_outcome[b] == FP and m.p_reason[b] != DUPLICATE:  # moved off
            group = groups[int(m.p_id[b])]
            used_preds.add(group[0].id)
            obj = _pair(image_id, label, group, iou, opts.iou, level)
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
        if c > level and int(m.p_id[i]) not in used_preds:
            pred = groups[int(m.p_id[i])][0]
            add(ObjectScore(int(m.p_image[i]), MISSING, (c + 1.0) / 2.0, None, pred.id,
                            {"confidence": round(c, 6), "category_id": pred.category_id}))
    return [image_score(im.id, _twins(objects.get(im.id, []), data.labels.get(im.id, []), opts.group_iou), "max")
            for im in data.images]


STRATEGY = Strategy("mistakenness", "labels the run's predictions contradict (FiftyOne Brain's mistakenness)",
                    LABELLED, mistakenness_scores)
