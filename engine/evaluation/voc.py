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


def evaluate_voc(gt: dict, dt: list[dict], iou: float = 0.5, eleven_point: bool = False,
                 difficult_ids=(), image_ids=None) -> VocResult:
    """VOC AP per class from a COCO dict and COCO results. A label is difficult when its id is in
    difficult_ids, when it has "difficult": 1, or when it is a crowd region."""
    difficult_ids = set(difficult_ids)
    keep = None if image_ids is None else set(image_ids)
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt["categories"]}
    gt_by_cat: dict[int, list[dict]] = {}
    for a in gt["annotations"]:
        if keep is None or a["image_id"] in keep:
            gt_by_cat.setdefault(a["category_id"], []).append(a)
    dt_by_cat: dict[int, list[dict]] = {}
    for d in dt:
        if keep is None or d["image_id"] in keep:
            dt_by_cat.setdefault(d["category_id"], []).append(d)
    per_class = []
    for cat in sorted(names):
        labels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_img: dict[int, list] = {}
        for a in gt_by_cat.get(cat, []):
            hard = a["id"] in difficult_ids or bool(a.get("difficult")) or bool(a.get("iscrowd"))
            by_img.setdefault(a["image_id"], []).append((a["bbox"], hard))
        for img, items in by_img.items():
            labels[img] = (np.asarray([b for b, _ in items], float), np.asarray([h for _, h in items], bool))
        n_pos = int(sum((~hard).sum() for _, hard in labels.values()))
        preds = dt_by_cat.get(cat, [])
        order = np.argsort([-d["score"] for d in preds], kind="mergesort")
        taken = {img: np.zeros(len(h), bool) for img, (_, h) in labels.items()}
        tp, fp = [], []
        for i in order:
            d = preds[i]
            boxes, hard = labels.get(d["image_id"], (np.zeros((0, 4)), np.zeros(0, bool)))
            ov = iou_boxes([d["bbox"]], boxes)[0] if len(boxes) else np.zeros(0)
            if len(ov) and ov.max() > iou:
                j = int(np.argmax(ov))
                if hard[j]:
                    continue
                if not taken[d["image_id"]][j]:
                    taken[d["image_id"]][j] = True
                    tp.append(1), fp.append(0)
                else:
                    tp.append(0), fp.append(1)
            else:
                tp.append(0), fp.append(1)
        ctp, cfp = np.cumsum(tp, dtype=float), np.cumsum(fp, dtype=float)
        recall = ctp / n_pos if n_pos else np.zeros(len(ctp))
        precision = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
        ap = voc_ap(recall, precision, eleven_point) if n_pos else float("nan")
        per_class.append(VocClass(cat, names[cat], ap, n_pos, recall, precision))
    return VocResult(iou, eleven_point, per_class)
