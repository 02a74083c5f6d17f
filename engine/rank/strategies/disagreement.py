"""Disagreement between two runs on the same images: two checkpoints, or one model on each image
and on its horizontal flip (engine.rank.flip makes that second run).

The runs' boxes are matched per class (engine.evaluation.matching, run 1 as the reference). Per
object:
  unmatched  a box of one run that the other run does not have: score = its confidence;
  matched    a matched pair: score = max(|s1 - s2|, (1 - IoU) * min(s1, s2)), so a pair the two
             runs place differently or believe differently scores high, and two confident,
             coinciding boxes score near 0.
A class the runs disagree on shows as two unmatched boxes.
"""
from __future__ import annotations

import numpy as np

from annotations.scores import ObjectScore
from engine.evaluation.matching import IGNORED, TP

from ..base import UNLABELLED, Strategy, image_score
from ..pairs import match_sets

UNMATCHED, MATCHED = "unmatched", "matched"


def pair_score(s1: float, s2: float, iou: float) -> float:
    return max(abs(s1 - s2), (1.0 - iou) * min(s1, s2))


def disagreement_scores(data, opts) -> list:
    preds1 = [a for im in data.images for a in data.predictions.get(im.id, [])]
    preds2 = [a for im in data.images for a in (data.predictions2 or {}).get(im.id, [])]
    m = match_sets(data.images, preds1, preds2, data.category_ids, opts.iou)
    score1 = {a.id: float(a.score or 0.0) for a in preds1}
    objects: dict[int, list[ObjectScore]] = {}
    for i in range(len(m.p_id)):
        image_id, s2 = int(m.p_image[i]), float(m.p_score[i])
        if m.p_outcome[i] == TP:
            ref = int(m.g_id[m.p_gt[i]])
            iou = float(m.p_iou[i])
            obj = ObjectScore(image_id, MATCHED, pair_score(score1[ref], s2, iou), None, ref,
                              {"prediction2_id": int(m.p_id[i]), "iou": round(iou, 6),
                               "confidences": [round(score1[ref], 6), round(s2, 6)]})
        elif m.p_outcome[i] != IGNORED:
            obj = ObjectScore(image_id, UNMATCHED, s2, None, int(m.p_id[i]), {"run": 2})
        else:
            continue
        objects.setdefault(image_id, []).append(obj)
    for j in np.nonzero((m.g_tp_pred < 0) & ~m.g_ignored)[0]:
        ref = int(m.g_id[j])
        objects.setdefault(int(m.g_image[j]), []).append(
            ObjectScore(int(m.g_image[j]), UNMATCHED, score1[ref], None, ref, {"run": 1}))
    return [image_score(im.id, objects.get(im.id, []), opts.aggregate) for im in data.images]


STRATEGY = Strategy("disagreement", "boxes two runs do not share, and how far matched ones differ", UNLABELLED,
                    disagreement_scores, needs_run2=True)
