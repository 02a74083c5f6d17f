"""Pascal VOC average precision: 11-point (VOC2007) and all-point (VOC2010 on).

Matching follows the VOC devkit: per class, predictions in falling score order (stable); each
takes the label of its class, in its image, with the highest IoU (difficult ones included); if that
IoU is > the threshold (strictly, as the devkit) the prediction is a TP when the label is new and
not difficult, ignored when the label is difficult, and an FP when the label was already taken.
Otherwise it is an FP. Difficult labels (and crowd regions) do not count as positives. Boxes are in
continuous pixel coordinates (COCO xywh), without the devkit's historical +1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pairs import Pairs, build_pairs


def voc_ap(recall: np.ndarray, precision: np.ndarray, eleven_point: bool = False) -> float:
    recall, precision = np.asarray(recall, float), np.asarray(precision, float)
    if eleven_point:
        ap = 0.0
        for t in np.linspace(0, 1, 11):
            reached = precision[recall >= t]
            ap += (reached.max() if len(reached) else 0.0) / 11
        return float(ap)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    steps = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


@dataclass
class VocClass:
    category_id: int
    name: str
    ap: float  # NaN when the class has no positive label
    num_positives: int
    recall: np.ndarray
    precision: np.ndarray


@dataclass
class VocResult:
    iou: float
    eleven_point: bool
    per_class: list[VocClass]

    @property
    def map(self) -> float:
        aps = [c.ap for c in self.per_class if not np.isnan(c.ap)]
        return float(np.mean(aps)) if aps else float("nan")


TP_FLAG, FP_FLAG, IGNORED_FLAG = 1, 0, -1


def _flags(pairs: Pairs, iou: float) -> np.ndarray:
    """Each prediction's fate (TP_FLAG, FP_FLAG, IGNORED_FLAG), in the pairs' order.

    The devkit walks all results of a class by falling score; a result's fate depends only on
    higher-scored results in the same image, so walking each image's results by falling score
    (stable), all images at once (pairs.py), gives the same answer."""
    flags = np.full(pairs.n_pred, FP_FLAG, np.int8)  # including every result on an image without labels
    for bk in pairs.buckets:
        gvalid = bk.gvalid
        gsafe = np.maximum(bk.gidx, 0)
        g_cls = np.where(gvalid, pairs.g_cls[gsafe], -1)
        hard = gvalid & pairs.g_hard[gsafe]
        taken = np.zeros(gvalid.shape, bool)
        for k in range(bk.pidx.shape[1]):
            n = int(bk.active[k])  # the rows with a prediction of rank k are the first n
            if not n:
                break
            r = np.arange(n)
            p = bk.pidx[:n, k]
            ov = np.where(g_cls[:n] == pairs.p_cls[p][:, None], bk.plain[:n, k], -1.0)
            j = np.argmax(ov, axis=1)
            over = ov[r, j] > iou
            is_hard = over & hard[r, j]
            is_new = over & ~is_hard & ~taken[r, j]
            taken[r[is_new], j[is_new]] = True
            flags[p[is_hard]] = IGNORED_FLAG
            flags[p[is_new]] = TP_FLAG
    return flags


def _positives(pairs: Pairs) -> dict[int, int]:
    n = np.bincount(pairs.g_cls[~pairs.g_hard], minlength=len(pairs.cat_ids))
    return {c: int(n[k]) for k, c in enumerate(pairs.cat_ids)}


def evaluate_voc_both(gt: dict, dt: list[dict], iou: float = 0.5, difficult_ids=(),
                      image_ids=None, iou_type: str = "bbox",
                      pairs: Pairs | None = None) -> tuple[VocResult, VocResult]:
    """(all-point, 11-point) from one matching pass. A label is difficult when its id is in
    difficult_ids, when it has "difficult": 1, or when it is a crowd region. iou_type "segm":
    the overlaps are the masks' (the same rules on mask IoU)."""
    if pairs is None:
        pairs = build_pairs(gt, dt, iou_type, image_ids, difficult_ids)
    flags, n_pos = _flags(pairs, iou), _positives(pairs)
    # Each class's results by falling score, equal scores in the results' order (the devkit's).
    kept = np.nonzero(flags >= FP_FLAG)[0]
    order = kept[np.lexsort((pairs.p_src[kept], -pairs.p_score[kept], pairs.p_cls[kept]))]
    bounds = np.searchsorted(pairs.p_cls[order], np.arange(len(pairs.cat_ids) + 1))
    both: tuple[list, list] = ([], [])
    for k, (cat, name) in enumerate(zip(pairs.cat_ids, pairs.cat_names)):
        tp = (flags[order[bounds[k]:bounds[k + 1]]] == TP_FLAG).astype(float)
        ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
        npos = n_pos.get(cat, 0)
        recall = ctp / npos if npos else np.zeros(len(ctp))
        precision = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
        for out, eleven in zip(both, (False, True)):
            ap = voc_ap(recall, precision, eleven) if npos else float("nan")
            out.append(VocClass(cat, name, ap, npos, recall, precision))
    return VocResult(iou, False, both[0]), VocResult(iou, True, both[1])


def evaluate_voc(gt: dict, dt: list[dict], iou: float = 0.5, eleven_point: bool = False,
                 difficult_ids=(), image_ids=None, iou_type: str = "bbox") -> VocResult:
    """VOC AP per class from a COCO dict and COCO results (see evaluate_voc_both)."""
    return evaluate_voc_both(gt, dt, iou, difficult_ids, image_ids, iou_type)[1 if eleven_point else 0]
