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

from annotations.geometry import iou_boxes


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


def _flags(gt: dict, dt: list[dict], iou: float, difficult_ids, keep) -> tuple[np.ndarray, dict[int, int]]:
    """Each result's fate (TP_FLAG, FP_FLAG, IGNORED_FLAG) and the positives per class.

    The devkit walks all results of a class by falling score; a result's fate depends only on
    higher-scored results in the same image, so walking image by image (stable order inside)
    gives the same answer with one IoU matrix per image."""
    labels: dict[int, list[dict]] = {}
    n_pos: dict[int, int] = {}
    for a in gt["annotations"]:
        if keep is None or a["image_id"] in keep:
            labels.setdefault(a["image_id"], []).append(a)
            hard = a["id"] in difficult_ids or bool(a.get("difficult")) or bool(a.get("iscrowd"))
            if not hard:
                n_pos[a["category_id"]] = n_pos.get(a["category_id"], 0) + 1
    results: dict[int, list[int]] = {}
    for i, d in enumerate(dt):
        if keep is None or d["image_id"] in keep:
            results.setdefault(d["image_id"], []).append(i)
    flags = np.full(len(dt), IGNORED_FLAG - 1, np.int8)  # -2: not evaluated (outside the subset)
    for img, idx in results.items():
        anns = labels.get(img, [])
        order = [idx[k] for k in np.argsort([-dt[i]["score"] for i in idx], kind="mergesort")]
        if not anns:
            flags[order] = FP_FLAG
            continue
        g_cat = np.asarray([a["category_id"] for a in anns])
        g_hard = np.asarray([a["id"] in difficult_ids or bool(a.get("difficult")) or bool(a.get("iscrowd"))
                             for a in anns])
        ious = iou_boxes([dt[i]["bbox"] for i in order], [a["bbox"] for a in anns])
        taken = np.zeros(len(anns), bool)
        for k, i in enumerate(order):
            ov = np.where(g_cat == dt[i]["category_id"], ious[k], -1.0)
            j = int(np.argmax(ov))
            if ov[j] > iou:
                if g_hard[j]:
                    flags[i] = IGNORED_FLAG
                elif not taken[j]:
                    taken[j] = True
                    flags[i] = TP_FLAG
                else:
                    flags[i] = FP_FLAG
            else:
                flags[i] = FP_FLAG
    return flags, n_pos


def evaluate_voc_both(gt: dict, dt: list[dict], iou: float = 0.5, difficult_ids=(),
                      image_ids=None) -> tuple[VocResult, VocResult]:
    """(all-point, 11-point) from one matching pass. A label is difficult when its id is in
    difficult_ids, when it has "difficult": 1, or when it is a crowd region."""
    keep = None if image_ids is None else set(image_ids)
    flags, n_pos = _flags(gt, dt, iou, set(difficult_ids), keep)
    cats = np.asarray([d["category_id"] for d in dt], np.int64)
    scores = np.asarray([d["score"] for d in dt], float)
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt["categories"]}
    both: tuple[list, list] = ([], [])
    for cat in sorted(names):
        sel = np.nonzero((cats == cat) & (flags >= FP_FLAG))[0]
        sel = sel[np.argsort(-scores[sel], kind="mergesort")]
        tp = (flags[sel] == TP_FLAG).astype(float)
        ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
        npos = n_pos.get(cat, 0)
        recall = ctp / npos if npos else np.zeros(len(ctp))
        precision = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
        for out, eleven in zip(both, (False, True)):
            ap = voc_ap(recall, precision, eleven) if npos else float("nan")
            out.append(VocClass(cat, names[cat], ap, npos, recall, precision))
    return VocResult(iou, False, both[0]), VocResult(iou, True, both[1])


def evaluate_voc(gt: dict, dt: list[dict], iou: float = 0.5, eleven_point: bool = False,
                 difficult_ids=(), image_ids=None) -> VocResult:
    """VOC AP per class from a COCO dict and COCO results (see evaluate_voc_both)."""
    return evaluate_voc_both(gt, dt, iou, difficult_ids, image_ids)[1 if eleven_point else 0]
