"""Per-object matching of predictions to labels, once, for every confidence threshold at once.

Rules (one IoU threshold `iou`, IoU as pycocotools computes it, crowd regions included):
- Predictions are taken in falling score order (stable, per image). Each takes the unmatched
  non-crowd label of its own class with the highest IoU >= iou: a true positive.
- Otherwise, it is ignored (neither TP nor FP) if it covers a crowd region or a "difficult" label
  of its class with IoU >= iou, as COCO and VOC do. Otherwise it is a false positive, because of:
    duplicate    a label of its class with IoU >= iou was already matched by a higher score;
    wrong_class  a label of another class has IoU >= iou (the first such prediction, in score
                 order, "confuses" the best unmatched one: that pair is a confusion-matrix cell);
    low_iou      a label of its class overlaps, but with IoU in [LOW_IOU_FLOOR, iou);
    background   nothing of its class overlaps that much.
- A label no kept prediction matched is a false negative.

Because every decision depends only on predictions with higher scores, the matching at score
threshold s is the prefix of this one pass: `Matches.at(s)` answers any threshold with array
operations and no re-matching (the threshold slider's cache).

Confusion matrix at s: (K+1)x(K+1), rows = label class, columns = predicted class, index K =
background. TP -> (c, c); a kept wrong-class prediction whose confused label is still unmatched ->
(label class, predicted class); any other kept FP -> (K, predicted class); an unmatched label not
confused by a kept prediction -> (label class, K). Row c sums to the labels of class c, column c to
the kept predictions of class c.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from annotations.errors import Cancelled

from .pairs import Pairs, build_pairs

LOW_IOU_FLOOR = 0.1
TP, FP, IGNORED = 0, 1, 2
REASONS = ("", "duplicate", "wrong_class", "low_iou", "background", "ignored")
NO_REASON, DUPLICATE, WRONG_CLASS, LOW_IOU, BACKGROUND, IGNORE = range(6)


@dataclass
class ObjectOutcome:
    """One row of an error list: a prediction (pred_id) and/or a label (gt_id)."""
    kind: str  # "TP" | "FP" | "FN"
    reason: str
    image_id: int
    category_id: int
    pred_id: int | None
    gt_id: int | None
    score: float | None
    iou: float


@dataclass
class ThresholdCounts:
    score_threshold: float
    tp: np.ndarray  # per class
    fp: np.ndarray
    fn: np.ndarray
    confusion: np.ndarray  # (K+1)x(K+1) int64
    precision: np.ndarray  # per class, NaN where no kept prediction
    recall: np.ndarray  # per class, NaN where no label
    f1: np.ndarray

    @property
    def totals(self) -> tuple[int, int, int]:
        return int(self.tp.sum()), int(self.fp.sum()), int(self.fn.sum())


class Matches:
    """The one-pass matching of a whole evaluation, plus the arrays `at(s)` needs."""

    def __init__(self, cat_ids: list[int], cat_names: list[str], iou: float, n_pred: int, n_gt: int):
        self.cat_ids, self.cat_names, self.iou = list(cat_ids), list(cat_names), float(iou)
        self.K = len(cat_ids)
        z = lambda dt, fill=0: np.full(n_pred, fill, dt)  # noqa: E731
        self.p_image, self.p_id, self.p_cls = z(np.int64), z(np.int64), z(np.int64)
        self.p_score = z(np.float64)
        self.p_outcome, self.p_reason = z(np.int8), z(np.int8)
        self.p_gt, self.p_confused = z(np.int64, -1), z(np.int64, -1)
        self.p_iou = z(np.float64)
        g = lambda dt, fill=0: np.full(n_gt, fill, dt)  # noqa: E731
        self.g_image, self.g_id, self.g_cls = g(np.int64), g(np.int64), g(np.int64)
        self.g_ignored = g(bool, False)
        self.g_tp_pred, self.g_confused_by = g(np.int64, -1), g(np.int64, -1)
        self.g_tp_score, self.g_confused_score = g(np.float64, -np.inf), g(np.float64, -np.inf)
        self.g_best_pred, self.g_best_iou = g(np.int64, -1), g(np.float64)

    # ---- any threshold, from the cached arrays ----------------------------------------------
    def _kept(self, s: float) -> np.ndarray:
        return (self.p_score >= s) & (self.p_outcome != IGNORED)

    def _pred_rows(self, s: float) -> np.ndarray:
        """Confusion-matrix row of every prediction at threshold s (meaningful where kept)."""
        rows = np.full(len(self.p_score), self.K, np.int64)
        tp = self.p_outcome == TP
        rows[tp] = self.p_cls[tp]
        conf = self.p_confused >= 0
        idx = self.p_confused[conf]
        still_open = self.g_tp_score[idx] < s
        rows[np.nonzero(conf)[0][still_open]] = self.g_cls[idx[still_open]]
        return rows

    def at(self, score_threshold: float) -> ThresholdCounts:
        s = float(score_threshold)
        K = self.K
        kept = self._kept(s)
        rows = self._pred_rows(s)[kept]
        cols = self.p_cls[kept]
        cm = np.bincount(rows * (K + 1) + cols, minlength=(K + 1) ** 2)
        fn_mask = ~self.g_ignored & (self.g_tp_score < s)
        plain_fn = fn_mask & (self.g_confused_score < s)
        cm += np.bincount(self.g_cls[plain_fn] * (K + 1) + K, minlength=(K + 1) ** 2)
        cm = cm.reshape(K + 1, K + 1)
        tp = np.bincount(self.p_cls[kept & (self.p_outcome == TP)], minlength=K)
        fp = np.bincount(self.p_cls[kept & (self.p_outcome == FP)], minlength=K)
        fn = np.bincount(self.g_cls[fn_mask], minlength=K)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
            recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
            f1 = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        return ThresholdCounts(s, tp, fp, fn, cm, precision, recall, f1)

    # ---- object lists --------------------------------------------------------------------------
    def _pred_outcome(self, i: int, kind: str, reason: str) -> ObjectOutcome:
        g = int(self.p_gt[i])
        return ObjectOutcome(kind, reason, int(self.p_image[i]), self.cat_ids[self.p_cls[i]], int(self.p_id[i]),
                             int(self.g_id[g]) if g >= 0 else None, float(self.p_score[i]), float(self.p_iou[i]))

    def _gt_outcome(self, j: int, kind: str, reason: str = "") -> ObjectOutcome:
        b = int(self.g_best_pred[j])
        return ObjectOutcome(kind, reason, int(self.g_image[j]), self.cat_ids[self.g_cls[j]],
                             int(self.p_id[b]) if b >= 0 else None, int(self.g_id[j]),
                             float(self.p_score[b]) if b >= 0 else None, float(self.g_best_iou[j]))

    def false_positives(self, s: float) -> list[ObjectOutcome]:
        idx = np.nonzero(self._kept(s) & (self.p_outcome == FP))[0]
        return [self._pred_outcome(i, "FP", REASONS[self.p_reason[i]]) for i in idx]

    def true_positives(self, s: float) -> list[ObjectOutcome]:
        idx = np.nonzero(self._kept(s) & (self.p_outcome == TP))[0]
        return [self._pred_outcome(i, "TP", "") for i in idx]

    def false_negatives(self, s: float) -> list[ObjectOutcome]:
        idx = np.nonzero(~self.g_ignored & (self.g_tp_score < s))[0]
        return [self._gt_outcome(j, "FN", "missed") for j in idx]

    def predictions(self, s: float) -> list[ObjectOutcome]:
        """Every prediction with score >= s (crowd/difficult-covered ones left out), by falling score:
        TP or FP and why."""
        idx = np.nonzero(self._kept(s))[0]
        idx = idx[np.argsort(-self.p_score[idx], kind="stable")]
        return [self._pred_outcome(i, "TP" if self.p_outcome[i] == TP else "FP", REASONS[self.p_reason[i]])
                for i in idx]

    def labels(self, s: float) -> list[ObjectOutcome]:
        """Every label (crowd/difficult left out): TP with the matching prediction and its IoU, or FN
        with the best-overlapping prediction of its class."""
        out = []
        for j in np.nonzero(~self.g_ignored)[0]:
            if self.g_tp_score[j] >= s:
                p = int(self.g_tp_pred[j])
                out.append(ObjectOutcome("TP", "", int(self.g_image[j]), self.cat_ids[self.g_cls[j]],
                                         int(self.p_id[p]), int(self.g_id[j]), float(self.p_score[p]),
                                         float(self.p_iou[p])))
            else:
                out.append(self._gt_outcome(int(j), "FN", "missed"))
        return out

    def cell(self, row: int, col: int, s: float) -> list[ObjectOutcome]:
        """The objects counted in confusion cell (row, col) at threshold s."""
        K, out = self.K, []
        if col < K:
            kept = self._kept(s)
            rows = self._pred_rows(s)
            for i in np.nonzero(kept & (rows == row) & (self.p_cls == col))[0]:
                kind = "TP" if self.p_outcome[i] == TP else "FP"
                out.append(self._pred_outcome(int(i), kind, REASONS[self.p_reason[i]]))
                if row < K and kind == "FP":  # the confused label is part of the story
                    out[-1].gt_id = int(self.g_id[self.p_confused[i]])
        elif row < K:
            fn = ~self.g_ignored & (self.g_tp_score < s) & (self.g_confused_score < s) & (self.g_cls == row)
            out = [self._gt_outcome(int(j), "FN", "missed") for j in np.nonzero(fn)[0]]
        return out


def match_objects(gt: dict, dt: list[dict], iou: float = 0.5, iou_type: str = "bbox",
                  dt_ids: list[int] | None = None, difficult_ids=(), image_ids=None,
                  cancel=None, pairs: Pairs | None = None) -> Matches:
    """One pass over every image; see the module text for the rules. dt_ids: the id to report for
    each result (default: its index). difficult_ids: label ids treated like crowd regions (as are
    labels with "difficult": 1). pairs: the columns and IoUs if already built (build_pairs)."""
    if pairs is None:
        pairs = build_pairs(gt, dt, iou_type, image_ids, difficult_ids)
    m = Matches(pairs.cat_ids, pairs.cat_names, iou, pairs.n_pred, pairs.n_gt)
    m.p_image, m.p_cls, m.p_score = pairs.p_image, pairs.p_cls, pairs.p_score
    m.p_id = np.asarray(dt_ids, np.int64)[pairs.p_src] if dt_ids is not None else pairs.p_src.astype(np.int64)
    m.g_image, m.g_id, m.g_cls, m.g_ignored = pairs.g_image, pairs.g_id, pairs.g_cls, pairs.g_hard
    # Predictions on images without labels stay background (the defaults below); the rest by bucket.
    m.p_outcome[:], m.p_reason[:] = FP, BACKGROUND
    for n, bucket in enumerate(pairs.buckets):
        if cancel is not None and n % 8 == 0 and cancel.cancelled:
            raise Cancelled("evaluation cancelled")
        _match_bucket(m, bucket)
    return m


def _match_bucket(m: Matches, bk) -> None:
    """Only the true positives and the confusions depend on the predictions above; they are decided
    rank by rank. Every other outcome and reason follows from them, for all ranks at once."""
    t = m.iou
    B, Dm = bk.pidx.shape
    gvalid, pvalid, iou = bk.gvalid, bk.pvalid, bk.iou
    gsafe = np.maximum(bk.gidx, 0)
    g_cls = np.where(gvalid, m.g_cls[gsafe], -1)
    ignored = gvalid & m.g_ignored[gsafe]
    psafe = np.maximum(bk.pidx, 0)
    p_cls = np.where(pvalid, m.p_cls[psafe], -2)
    same = p_cls[:, :, None] == g_cls[:, None, :]  # B x Dm x Gm
    # Each label's best-overlapping prediction of its class (first in score order among equals).
    ov = np.where(same, iou, -1.0)
    best = np.argmax(ov, axis=1)  # B x Gm
    best_iou = np.take_along_axis(ov, best[:, None, :], 1)[:, 0, :]
    hit = (best_iou > 0) & gvalid
    gi = bk.gidx[hit]
    m.g_best_iou[gi] = best_iou[hit]
    m.g_best_pred[gi] = np.take_along_axis(bk.pidx, best, 1)[hit]

    over = (iou >= t) & gvalid[:, None, :]
    on_ignored = same & over & ignored[:, None, :]
    ign_any = on_ignored.any(2)
    same_over = same & over
    dup_any = same_over.any(2)
    other = ~same & over & ~ignored[:, None, :]
    other_any = other.any(2)
    # A label a prediction may take: its class, IoU >= t, not ignored; -1 elsewhere.
    takeable = np.where(same_over & ~ignored[:, None, :], iou, -1.0)
    tp_taken = np.zeros(gvalid.shape, bool)
    confused = np.zeros(gvalid.shape, bool)
    tp_j = np.full((B, Dm), -1, np.int64)
    conf_j = np.full((B, Dm), -1, np.int64)
    last = takeable.shape[2] - 1
    for k in range(Dm):
        n = int(bk.active[k])
        if not n:
            break
        free = np.where(tp_taken[:n], -1.0, takeable[:n, k])
        j = last - np.argmax(free[:, ::-1], axis=1)  # pycocotools keeps the last of equal IoUs
        is_tp = np.take_along_axis(free, j[:, None], 1)[:, 0] > -1.0
        rt = np.nonzero(is_tp)[0]
        tp_taken[rt, j[rt]] = True
        tp_j[rt, k] = j[rt]
        # A wrong-class prediction confuses the best label of another class still open.
        rc = np.nonzero(~is_tp & ~ign_any[:n, k] & ~dup_any[:n, k] & other_any[:n, k])[0]
        if len(rc):
            open_ = other[rc, k] & ~tp_taken[rc] & ~confused[rc]
            has = open_.any(1)
            rc = rc[has]
            jc = np.argmax(np.where(open_[has], iou[rc, k], -1.0), axis=1)
            confused[rc, jc] = True
            conf_j[rc, k] = jc

    gidx, pidx = bk.gidx, bk.pidx
    bt, kt = np.nonzero(tp_j >= 0)
    jt = tp_j[bt, kt]
    pt, gg = pidx[bt, kt], gidx[bt, jt]
    m.p_outcome[pt], m.p_reason[pt], m.p_gt[pt], m.p_iou[pt] = TP, NO_REASON, gg, iou[bt, kt, jt]
    m.g_tp_pred[gg], m.g_tp_score[gg] = pt, m.p_score[pt]
    bc, kc = np.nonzero(conf_j >= 0)
    pc, gc = pidx[bc, kc], gidx[bc, conf_j[bc, kc]]
    m.p_confused[pc] = gc
    m.g_confused_by[gc], m.g_confused_score[gc] = pc, m.p_score[pc]

    rest = pvalid & (tp_j < 0)
    for sel, cand, outcome, reason in ((rest & ign_any, on_ignored, IGNORED, IGNORE),
                                       (rest & ~ign_any & dup_any, same_over, FP, DUPLICATE),
                                       (rest & ~ign_any & ~dup_any & other_any, other, FP, WRONG_CLASS)):
        _first_match(m, sel, cand, iou, gidx, pidx, outcome, reason)
    rest &= ~ign_any & ~dup_any & ~other_any
    low = rest & (np.where(same, iou, -1.0).max(2) >= LOW_IOU_FLOOR)
    _first_match(m, low, same, iou, gidx, pidx, FP, LOW_IOU)
    b, k = np.nonzero(rest & ~low)
    if len(b):
        row = np.where(gvalid[b], iou[b, k], -1.0)
        jb = np.argmax(row, axis=1)
        pb, vb = pidx[b, k], row[np.arange(len(b)), jb]
        m.p_reason[pb] = BACKGROUND
        m.p_gt[pb] = np.where(vb > 0, gidx[b, jb], -1)
        m.p_iou[pb] = np.where(vb > 0, vb, 0.0)


def _first_match(m: Matches, sel, cand, iou, gidx, pidx, outcome: int, reason: int) -> None:
    """Record, for the selected (image row, rank) pairs, the first label of highest IoU among `cand`."""
    b, k = np.nonzero(sel)
    if not len(b):
        return
    row = np.where(cand[b, k], iou[b, k], -1.0)
    j = np.argmax(row, axis=1)
    ps = pidx[b, k]
    m.p_outcome[ps], m.p_reason[ps] = outcome, reason
    m.p_gt[ps] = gidx[b, j]
    m.p_iou[ps] = row[np.arange(len(b)), j]


def outcome_table(m: Matches, kind: str, s: float) -> dict[str, np.ndarray]:
    """The FP ("FP") or FN ("FN") objects at threshold s as columns of equal length, built with
    array operations (an error list of 100k rows costs milliseconds). gt_id/pred_id -1 = none,
    score NaN = none."""
    if kind == "FP":
        idx = np.nonzero(m._kept(s) & (m.p_outcome == FP))[0]
        g = m.p_gt[idx]
        return {"kind": np.full(len(idx), "FP", object), "reason": np.asarray(REASONS, object)[m.p_reason[idx]],
                "image_id": m.p_image[idx], "category_id": np.asarray(m.cat_ids, np.int64)[m.p_cls[idx]],
                "pred_id": m.p_id[idx], "gt_id": _at(m.g_id, g, -1),
                "score": m.p_score[idx], "iou": m.p_iou[idx]}
    if kind == "FN":
        idx = np.nonzero(~m.g_ignored & (m.g_tp_score < s))[0]
        b = m.g_best_pred[idx]
        return {"kind": np.full(len(idx), "FN", object), "reason": np.full(len(idx), "missed", object),
                "image_id": m.g_image[idx], "category_id": np.asarray(m.cat_ids, np.int64)[m.g_cls[idx]],
                "pred_id": _at(m.p_id, b, -1), "gt_id": m.g_id[idx],
                "score": _at(m.p_score, b, np.nan), "iou": m.g_best_iou[idx]}
    raise ValueError(f"kind must be 'FP' or 'FN', not {kind!r}")


def _at(values: np.ndarray, i: np.ndarray, none):
    """values[i] where i >= 0, `none` where i is -1 (values may be empty: no labels, or no predictions)."""
    return np.where(i >= 0, values[np.maximum(i, 0)], none) if len(values) else np.full(len(i), none)


def outcomes_to_table(rows: list[ObjectOutcome]) -> dict[str, np.ndarray]:
    return {"kind": np.asarray([r.kind for r in rows], object),
            "reason": np.asarray([r.reason for r in rows], object),
            "image_id": np.asarray([r.image_id for r in rows], np.int64),
            "category_id": np.asarray([r.category_id for r in rows], np.int64),
            "pred_id": np.asarray([-1 if r.pred_id is None else r.pred_id for r in rows], np.int64),
            "gt_id": np.asarray([-1 if r.gt_id is None else r.gt_id for r in rows], np.int64),
            "score": np.asarray([np.nan if r.score is None else r.score for r in rows], float),
            "iou": np.asarray([r.iou for r in rows], float)}
