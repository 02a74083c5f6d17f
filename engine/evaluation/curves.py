"""Precision, recall and F1 against the confidence threshold, from one Matches pass.

Each point is a threshold s: the predictions with score >= s are kept (ties enter together), so the
point for s equals Matches.at(s). F1 = 2TP / (2TP + FP + FN). The best threshold is the one with the
highest F1; among equal F1 the highest threshold (fewest predictions) wins.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .matching import TP, IGNORED, Matches


@dataclass
class ConfidenceCurve:
    label: str
    thresholds: np.ndarray  # falling
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    num_gt: int

    @property
    def best_index(self) -> int | None:
        if not len(self.f1) or not self.num_gt:  # without labels F1 is 0 everywhere: no best threshold
            return None
        return int(np.argmax(self.f1))  # first maximum = highest threshold

    @property
    def best_threshold(self) -> float | None:
        i = self.best_index
        return None if i is None else float(self.thresholds[i])

    @property
    def best_f1(self) -> float:
        i = self.best_index
        return 0.0 if i is None else float(self.f1[i])


def _curve(label: str, s: np.ndarray, is_tp: np.ndarray, num_gt: int) -> ConfidenceCurve:
    """s: scores by falling score (ties in prediction order), is_tp in the same order."""
    tp = is_tp.astype(np.int64)
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    last_of_tie = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, bool)
    s, ctp, cfp = s[last_of_tie], ctp[last_of_tie], cfp[last_of_tie]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = ctp / np.maximum(ctp + cfp, 1)
        recall = ctp / num_gt if num_gt else np.full(len(ctp), np.nan)
        f1 = 2 * ctp / (ctp + cfp + num_gt)
    return ConfidenceCurve(label, s, precision, recall, f1, num_gt)


def confidence_curves(m: Matches) -> dict[int | None, ConfidenceCurve]:
    """One curve per category id, and under None all classes pooled (micro average)."""
    # One stable sort by falling score; each class's points are a subsequence of it, in the order
    # a stable sort of that class alone would give.
    order = np.argsort(-m.p_score, kind="stable")
    order = order[m.p_outcome[order] != IGNORED]
    s, is_tp, cls = m.p_score[order], m.p_outcome[order] == TP, m.p_cls[order]
    by_class = np.argsort(cls, kind="stable")
    bounds = np.searchsorted(cls[by_class], np.arange(m.K + 1))
    n_gt = np.bincount(m.g_cls[~m.g_ignored], minlength=m.K)
    out: dict[int | None, ConfidenceCurve] = {}
    for k, c in enumerate(m.cat_ids):
        seg = by_class[bounds[k]:bounds[k + 1]]
        out[c] = _curve(m.cat_names[k], s[seg], is_tp[seg], int(n_gt[k]))
    out[None] = _curve("all classes", s, is_tp, int(n_gt.sum()))
    return out
