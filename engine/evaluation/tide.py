"""The TIDE error breakdown (Bolya et al., ECCV 2020): what kind of mistake each false positive and
missed label is, and how much AP each kind costs.

Definitions as the TIDE toolbox (tidecv) makes them, at the foreground IoU t_f (pos_thr, 0.5) and
the background IoU t_b (bg_thr, 0.1):
- Matching: per image, the first max_dets (100) predictions by falling score; each takes the
  unused label of its class with the highest ordinary IoU (the first among equals) if that IoU is
  >= t_f. Crowd regions (and difficult labels) are not labels but ignore regions: a prediction that
  matched nothing and covers one of its class with IoU > t_f (crowd: over its own area) is ignored.
- Each unmatched prediction (ignored ones too) gets the first error that applies:
    background  the image has no label; or (checked last) IoU <= t_b with every label;
    localisation  its best IoU with a label of its class is in [t_b, t_f];
    classification  IoU >= t_f with a label of another class;
    duplicate  IoU >= t_f with a label of its class that another prediction matched;
    both  anything else (wrong class and poorly placed).
  A label that nothing matched is missed unless a classification or localisation error points at it
  (it was found, only wrongly).
- dAP of a kind: AP50 with every error of that kind fixed, minus AP50 (0 when negative). Fixing:
  a classification or localisation error becomes the true positive of its label if that label was
  unmatched and this is the highest-scored error pointing at it, and is removed otherwise; a
  duplicate, background or both error is removed; a missed label is taken out of the positives.
- AP: per class over the kept predictions, COCO's 101-point interpolation, 0 for a class without
  positives; mAP is the mean over classes with a prediction or a positive (TIDE's rule: a class
  with predictions and no labels counts, with AP 0). Figures are in AP points (0-100), as TIDE's.

One difference from the toolbox: images are taken in rising id order (the toolbox takes the ground
truth file's order); it only matters for ties of score between images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pairs import Pairs

ERROR_KINDS = ("classification", "localisation", "both", "duplicate", "background", "missed")
SHORT_NAMES = {"classification": "Cls", "localisation": "Loc", "both": "Both", "duplicate": "Dupe",
               "background": "Bkg", "missed": "Miss"}
CLS, LOC, BOTH, DUPE, BKG = range(5)
NONE = -1


@dataclass
class TideResult:
    pos_thr: float
    bg_thr: float
    ap: float  # mAP at pos_thr as TIDE computes it, 0-100
    counts: dict[str, int]
    dap: dict[str, float]  # AP points each kind of error costs

    def to_dict(self) -> dict:
        return {"pos_thr": self.pos_thr, "bg_thr": self.bg_thr, "ap": self.ap,
                "errors": {k: {"count": self.counts[k], "dap": self.dap[k]} for k in ERROR_KINDS}}


def tide_ap(correct: np.ndarray, num_gt: int) -> float:
    """TIDE's APDataObject.get_ap on data points already sorted by falling score."""
    if num_gt == 0 or not len(correct):
        return 0.0
    tp = correct.astype(np.float64)
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    precision = np.maximum.accumulate((ctp / (ctp + cfp))[::-1])[::-1]
    recall = ctp / num_gt
    at = np.searchsorted(recall, np.arange(101) / 100, side="left")
    y = np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0)
    return float(y.sum() / 101 * 100)


def _mean_ap(K: int, cls: np.ndarray, correct: np.ndarray, num_gt: np.ndarray) -> float:
    """Mean over classes with a data point or a positive, of points sorted by class, then falling
    score (ties in TIDE's order)."""
    bounds = np.searchsorted(cls, np.arange(K + 1))
    aps = [tide_ap(correct[bounds[k]:bounds[k + 1]], int(num_gt[k])) for k in range(K)
           if bounds[k + 1] > bounds[k] or num_gt[k]]
    return float(np.mean(aps)) if aps else 0.0


def _sorted_ap(K, perm, sel, cls, correct, num_gt) -> float:
    """AP of the points `sel` (a mask) in the order `perm`, which sorts them by class and score."""
    keep = perm[sel[perm]]
    return _mean_ap(K, cls[keep], correct[keep], num_gt)


def tide_errors(pairs: Pairs, pos_thr: float = 0.5, bg_thr: float = 0.1, max_dets: int = 100) -> TideResult:
    n, K = pairs.n_pred, len(pairs.cat_ids)
    rank = np.arange(n) - np.searchsorted(pairs.p_image, pairs.p_image, side="left")
    if pairs.n_gt == 0:  # no labels: each prediction considered is a background error, every AP 0, nothing to fix
        counts = dict.fromkeys(ERROR_KINDS, 0)
        counts["background"] = int((rank < max_dets).sum())
        return TideResult(pos_thr, bg_thr, 0.0, counts, dict.fromkeys(ERROR_KINDS, 0.0))
    used = np.zeros(n, np.int8)  # 1 matched, 0 not, -1 ignored; only predictions within max_dets count
    error = np.full(n, BKG, np.int8)  # every prediction on an image without labels is background
    target = np.full(n, -1, np.int64)  # the label a classification/localisation error points at
    g_used = np.zeros(pairs.n_gt, bool)
    for bk in pairs.buckets:
        _bucket(pairs, bk, pos_thr, bg_thr, max_dets, used, error, target, g_used)
    considered = rank < max_dets
    error[(used == 1) | ~considered] = NONE
    # BestGTMatch: per unmatched label, the first (highest-scored) cls/loc error pointing at it wins.
    points = np.nonzero(((error == CLS) | (error == LOC)) & ~g_used[np.maximum(target, 0)] & (target >= 0))[0]
    usable = np.zeros(pairs.n_gt, bool)
    usable[target[points]] = True
    winner = np.full(pairs.n_gt, -1, np.int64)
    labels, first = np.unique(target[points], return_index=True)
    winner[labels] = points[first]
    missed = ~pairs.g_hard & ~g_used & ~usable

    num_gt = np.bincount(pairs.g_cls[~pairs.g_hard], minlength=K)
    kept = considered & (used >= 0)
    tp = used == 1
    pos = np.arange(n)
    # TIDE's tie order: the base run in image and score order; a fixed run lists the errors first
    # (fixed or not), then the true positives.
    base_perm = np.lexsort((pos, -pairs.p_score, pairs.p_cls))
    fixed_order = np.where(tp, n + pos, pos)
    fixed_perm = np.lexsort((fixed_order, -pairs.p_score, pairs.p_cls))
    ap = _sorted_ap(K, base_perm, kept, pairs.p_cls, tp, num_gt)
    counts = {"classification": int((error == CLS).sum()), "localisation": int((error == LOC).sum()),
              "both": int((error == BOTH).sum()), "duplicate": int((error == DUPE).sum()),
              "background": int((error == BKG).sum()), "missed": int(missed.sum())}
    tsafe = np.maximum(target, 0)
    wins = (target >= 0) & (winner[tsafe] == pos) & ~g_used[tsafe]
    dap = {}
    for kind, code in (("classification", CLS), ("localisation", LOC), ("both", BOTH), ("duplicate", DUPE),
                       ("background", BKG)):
        fixed = error == code
        # Each error keeps its point, or when fixed loses it or (cls/loc, the winner) becomes a TP.
        becomes_tp = fixed & wins if code in (CLS, LOC) else np.zeros(n, bool)
        sel = (kept & ~fixed) | becomes_tp
        if code == CLS:  # points change class: sort again
            cls = np.where(becomes_tp, pairs.g_cls[tsafe], pairs.p_cls)
            perm = np.lexsort((fixed_order, -pairs.p_score, cls))
            new = _sorted_ap(K, perm, sel, cls, tp | becomes_tp, num_gt)
        else:
            new = _sorted_ap(K, fixed_perm, sel, pairs.p_cls, tp | becomes_tp, num_gt)
        dap[kind] = max(new - ap, 0.0)
    num_gt_fixed = num_gt - np.bincount(pairs.g_cls[missed], minlength=K)
    dap["missed"] = max(_sorted_ap(K, fixed_perm, kept, pairs.p_cls, tp, num_gt_fixed) - ap, 0.0)
    return TideResult(pos_thr, bg_thr, ap, counts, dap)


def _bucket(pairs: Pairs, bk, pos_thr, bg_thr, max_dets, used, error, target, g_used) -> None:
    gvalid = bk.gvalid
    gsafe = np.maximum(bk.gidx, 0)
    hard = gvalid & pairs.g_hard[gsafe]
    label = gvalid & ~hard
    g_cls = np.where(gvalid, pairs.g_cls[gsafe], -1)
    psafe = np.maximum(bk.pidx, 0)
    p_cls = np.where(bk.pvalid, pairs.p_cls[psafe], -2)
    same = (p_cls[:, :, None] == g_cls[:, None, :])  # B x Dm x Gm
    cls_iou = np.where(same & label[:, None, :], bk.iou, 0.0)
    taken = np.zeros(gvalid.shape, bool)
    matched = np.zeros(bk.pidx.shape, bool)
    for k in range(min(bk.pidx.shape[1], max_dets)):
        n = int(bk.active[k])  # the rows with a prediction of rank k are the first n
        if not n:
            break
        buf = np.where(taken[:n], 0.0, cls_iou[:n, k])
        j = np.argmax(buf, axis=1)
        r = np.nonzero(np.take_along_axis(buf, j[:, None], 1)[:, 0] >= pos_thr)[0]
        taken[r, j[r]] = True
        matched[r, k] = True
    considered = bk.pvalid & (np.arange(bk.pidx.shape[1])[None, :] < max_dets)
    g_used[bk.gidx[taken]] = True
    used[bk.pidx[matched]] = 1
    # The unmatched predictions (image row b, rank k), each with its row of IoUs.
    b, k = np.nonzero(considered & ~matched)
    iou, same_m, lab = bk.iou[b, k], same[b, k], label[b]
    p = bk.pidx[b, k]
    # Ignore regions: same class, IoU (crowd: over the prediction's area) > t_f.
    in_region = (np.where(same_m & hard[b], iou, 0.0) > pos_thr).any(1)
    used[p[in_region]] = -1
    # Errors, first that applies.
    err = np.full(len(b), BOTH, np.int8)
    tgt = np.full(len(b), -1, np.int64)
    rows = np.arange(len(b))
    cls_iou = np.where(same_m & lab, iou, 0.0)
    best_j = np.argmax(cls_iou, axis=1)
    best = cls_iou[rows, best_j]
    noncls = np.where(~same_m & lab, iou, 0.0)
    other_j = np.argmax(noncls, axis=1)
    other = noncls[rows, other_j]
    dup = np.where(same_m & lab & taken[b], iou, 0.0).max(1, initial=0.0)
    any_iou = np.where(lab, iou, 0.0).max(1, initial=0.0)
    has_label = lab.any(1)
    open_ = has_label.copy()
    for code, cond, jj in ((LOC, (best >= bg_thr) & (best <= pos_thr), best_j), (CLS, other >= pos_thr, other_j),
                           (DUPE, dup >= pos_thr, None), (BKG, any_iou <= bg_thr, None)):
        hit = open_ & cond
        err[hit] = code
        if jj is not None:
            tgt[hit] = bk.gidx[b[hit], jj[hit]]
        open_ &= ~hit
    err[~has_label] = BKG
    error[p] = err
    target[p] = tgt
