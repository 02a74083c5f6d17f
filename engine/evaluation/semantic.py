"""Semantic-segmentation metrics, all from one confusion matrix summed over the images.

Rows are ground-truth classes, columns predicted classes; pixels whose label is IGNORE (255) are
left out. Rule for a class absent from both ground truth and prediction: its IoU, Dice and
accuracy are NaN and it is left out of every mean. A class predicted but absent from the ground
truth has IoU 0 and Dice 0 (it counts in mIoU: those pixels were wrong); its accuracy is NaN
(no ground-truth pixel to be right about) and it is left out of the mean pixel accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = 255


class SemanticConfusion:
    def __init__(self, num_classes: int, ignore_index: int = IGNORE):
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.matrix = np.zeros((self.num_classes, self.num_classes), np.int64)

    def update(self, gt: np.ndarray, pred: np.ndarray, name: str = "image") -> None:
        gt, pred = np.asarray(gt), np.asarray(pred)
        if gt.shape != pred.shape:
            raise ValueError(f"{name}: label map {gt.shape} and prediction {pred.shape} differ in size")
        valid = gt != self.ignore_index
        g, p = gt[valid].astype(np.int64), pred[valid].astype(np.int64)
        n = self.num_classes
        for what, arr in (("label", g), ("prediction", p)):
            bad = (arr < 0) | (arr >= n)
            if bad.any():
                raise ValueError(f"{name}: {what} holds class {int(arr[bad][0])}, outside 0..{n - 1}")
        self.matrix += np.bincount(g * n + p, minlength=n * n).reshape(n, n)

    def metrics(self, class_names=None) -> "SemanticMetrics":
        return semantic_metrics(self.matrix, class_names)


@dataclass
class SemanticMetrics:
    class_names: list[str]
    pixel_accuracy: float
    mean_pixel_accuracy: float
    iou: np.ndarray  # per class
    miou: float
    dice: np.ndarray
    mean_dice: float
    class_accuracy: np.ndarray
    confusion: np.ndarray


def _nanmean(v: np.ndarray) -> float:
    v = v[~np.isnan(v)]
    return float(v.mean()) if len(v) else float("nan")


def semantic_metrics(matrix: np.ndarray, class_names=None) -> SemanticMetrics:
    cm = np.asarray(matrix, np.float64)
    n = len(cm)
    tp = np.diag(cm)
    gt_px, pred_px = cm.sum(1), cm.sum(0)
    union = gt_px + pred_px - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(gt_px + pred_px > 0, 2 * tp / (gt_px + pred_px), np.nan)
        acc = np.where(gt_px > 0, tp / gt_px, np.nan)
    total = cm.sum()
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    return SemanticMetrics(names, float(tp.sum() / total) if total else float("nan"), _nanmean(acc),
                           iou, _nanmean(iou), dice, _nanmean(dice), acc, np.asarray(matrix, np.int64))
