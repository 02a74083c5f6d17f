"""Everything one evaluation produces, computed together, and its text and JSON forms.

Used by `main.py evaluate` and by the evaluation view (which computes it in a background job).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from annotations.errors import Cancelled
from annotations.formats.common import gc_paused

from .coco import AREAS, CocoResult, start_coco
from .curves import ConfidenceCurve, confidence_curves
from .matching import Matches, ThresholdCounts, match_objects
from .pairs import build_pairs
from .tide import ERROR_KINDS, TideResult, tide_errors
from .voc import VocResult, evaluate_voc_both

JSON_PR_IOUS = (0.5, 0.75)


@dataclass
class EvaluationReport:
    coco: CocoResult
    matches: Matches  # at match_iou
    curves: dict[int | None, ConfidenceCurve]
    voc: VocResult
    voc11: VocResult
    match_iou: float
    tide: TideResult | None = None
    image_set: str = ""  # which images were scored, in words
    image_set_short: str = ""  # the same in a few words (a status line)
    extra: dict = field(default_factory=dict)

    @property
    def voc_on(self) -> str:
        return "masks" if self.coco.iou_type == "segm" else "boxes"

    def default_threshold(self) -> float:
        """The score threshold the window opens at: the pooled best F1, else 0.5."""
        best = self.curves[None].best_threshold
        return 0.5 if best is None else best

    def class_rows(self) -> list[dict]:
        """One row per class: COCO figures, VOC AP, best F1 and its threshold (none for a class
        without labels: every prediction of it is wrong at any threshold)."""
        voc = {c.category_id: c.ap for c in self.voc.per_class}
        voc11 = {c.category_id: c.ap for c in self.voc11.per_class}
        rows = []
        for c in self.coco.per_class:
            f1 = self.curves.get(c.category_id)
            rows.append({"category_id": c.category_id, "name": c.name, "ap": c.ap, "ap50": c.ap50,
                         "ap75": c.ap75, "ar": c.ar, "ap_small": c.ap_small, "ap_medium": c.ap_medium,
                         "ap_large": c.ap_large, "voc_ap": voc.get(c.category_id, float("nan")),
                         "voc_ap11": voc11.get(c.category_id, float("nan")),
                         "best_f1": f1.best_f1 if f1 else 0.0,
                         "best_threshold": f1.best_threshold if f1 and f1.num_gt else None,
                         "num_gt": c.num_gt, "num_dt": c.num_dt})
        return rows

    def to_dict(self, score_threshold: float | None = None) -> dict:
        """Every figure the window shows: the 12 stats, per class, PR curves (IoU 0.5 and 0.75),
        F1 curves, TIDE, and at one score threshold (default: the best F1's) the TP/FP/FN counts
        and the confusion matrix."""
        overall = self.curves[None]
        out = self.coco.to_dict()
        out["image_set"] = self.image_set
        out["image_set_short"] = self.image_set_short
        out["per_class"] = [{k: _clean(v) for k, v in r.items()} for r in self.class_rows()]
        out["match_iou"] = self.match_iou
        out["voc_on"] = self.voc_on
        out["voc_map"] = _clean(self.voc.map)
        out["voc_map11"] = _clean(self.voc11.map)
        out["best_f1"] = {"f1": overall.best_f1, "threshold": overall.best_threshold}
        out["pr_curves"] = self._pr_curves()
        out["f1_curves"] = [{"category_id": key, "name": c.label, "num_gt": c.num_gt,
                             "thresholds": _floats(c.thresholds), "precision": _floats(c.precision),
                             "recall": _floats(c.recall), "f1": _floats(c.f1)}
                            for key, c in self.curves.items()]
        s = self.default_threshold() if score_threshold is None else float(score_threshold)
        out["at_threshold"] = _counts_dict(self.matches.at(s), self.matches)
        if self.tide is not None:
            out["tide"] = self.tide.to_dict()
        return out

    def _pr_curves(self) -> list[dict]:
        """COCO's precision at its 101 recall thresholds, area all, largest maxDets (null: undefined)."""
        out = []
        for iou in JSON_PR_IOUS:
            if not np.isclose(self.coco.iou_thrs, iou).any():
                continue
            for cat in [None] + list(self.coco.cat_ids):
                c = self.coco.pr_curve(cat, iou=iou, area=AREAS[0])
                out.append({"iou": iou, "category_id": cat, "name": c.label, "ap": _clean(c.ap) if c.ap > -1 else None,
                            "recall": _floats(c.recall), "precision": _floats(np.where(c.precision > -1, c.precision,
                                                                                           np.nan)),
                            "scores": _floats(c.scores)})
        return out


def _floats(a) -> list:
    """Floats for JSON, None where not finite."""
    a = np.asarray(a, float)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    out = a.astype(object)
    out[~finite] = None
    return out.tolist()


def _counts_dict(c: ThresholdCounts, m: Matches) -> dict:
    tp, fp, fn = c.totals
    return {"score_threshold": c.score_threshold, "iou": m.iou, "tp": tp, "fp": fp, "fn": fn,
            "per_class": [{"category_id": cid, "name": name, "tp": int(c.tp[k]), "fp": int(c.fp[k]),
                           "fn": int(c.fn[k]), "precision": _clean(float(c.precision[k])),
                           "recall": _clean(float(c.recall[k])), "f1": _clean(float(c.f1[k]))}
                          for k, (cid, name) in enumerate(zip(m.cat_ids, m.cat_names))],
            "confusion": {"rows": "label class", "columns": "predicted class", "labels": m.cat_names + ["background"],
                          "matrix": c.confusion.tolist()}}


def _clean(v):
    """JSON has no NaN: undefined figures become null."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _clean(v.item())
    return v


def build_report(coco: CocoResult, gt: dict, dt: list[dict], dt_ids=None, difficult_ids=(),
                 match_iou: float = 0.5, cancel=None, image_set: str = "",
                 image_set_short: str = "") -> EvaluationReport:
    """Matching, VOC AP (on masks for segm), F1 curves and TIDE, all from one set of IoUs."""
    with gc_paused():
        parts = _per_object(gt, dt, coco.iou_type, coco.image_ids, coco.max_dets[-1], coco.extra.get("columns"),
                            coco.extra.get("rles"), dt_ids, difficult_ids, match_iou, cancel)
        return _report(coco, parts, match_iou, image_set, image_set_short)


def _per_object(gt, dt, iou_type, image_ids, top_dets, columns, rles, dt_ids, difficult_ids, match_iou,
                cancel) -> tuple:
    pairs = build_pairs(gt, dt, iou_type, image_ids, difficult_ids, columns, rles)
    # TIDE beside matching, VOC and F1: all read the pairs only, and their array work lets go of
    # the interpreter lock (at 100k results the passes take 0.2 s instead of 0.35). The pool's exit
    # waits for TIDE, also when matching is cancelled.
    with ThreadPoolExecutor(1, thread_name_prefix="tide") as pool:
        tide = pool.submit(tide_errors, pairs, pos_thr=match_iou, max_dets=top_dets)
        matches = match_objects(gt, dt, match_iou, iou_type, dt_ids, cancel=cancel, pairs=pairs)
        voc, voc11 = evaluate_voc_both(gt, dt, match_iou, pairs=pairs)
        curves = confidence_curves(matches)
        return matches, curves, voc, voc11, tide.result()


def _report(coco: CocoResult, parts: tuple, match_iou: float, image_set: str, image_set_short: str):
    matches, curves, voc, voc11, tide = parts
    coco.extra.pop("rles", None)  # the masks have served; a report the window keeps need not hold them
    return EvaluationReport(coco, matches, curves, voc, voc11, match_iou, tide, image_set,
                            image_set_short or f"{len(coco.image_ids)} images")


def _overlapped(gt: dict, dt: list[dict], iou_type, image_ids, max_dets, backend, dt_ids=None, difficult_ids=(),
                match_iou=0.5, cancel=None, columns=None) -> tuple[CocoResult, tuple]:
    """The COCO evaluator (on a worker thread where it lets go of the interpreter lock) and the
    per-object passes at the same time; the same figures as evaluate_coco then build_report."""
    pending = start_coco(gt, dt, iou_type, image_ids, max_dets, backend, columns=columns)
    try:
        parts = _per_object(gt, dt, iou_type, pending.image_ids, pending.max_dets[-1], pending.columns,
                            pending.rles, dt_ids, difficult_ids, match_iou, cancel)
    finally:
        coco = pending.result()  # the worker is always joined, also when a pass failed or was cancelled
    return coco, parts


def evaluate_files_report(gt: dict, dt: list[dict], iou_type="bbox", image_ids=None, max_dets=(1, 10, 100),
                          backend=None, match_iou=0.5, gt_name: str = "the ground truth",
                          columns=None) -> EvaluationReport:
    """columns: where gt and dt come from reader.read_coco_files, the columns it gives with them."""
    with gc_paused():
        coco, parts = _overlapped(gt, dt, iou_type, image_ids, max_dets, backend, match_iou=match_iou,
                                  columns=columns)
        n = len(coco.image_ids)
        where = f"all {n} images of {gt_name}" if image_ids is None else f"{n} chosen images of {gt_name}"
        return _report(coco, parts, match_iou, where, f"all {n} images" if image_ids is None else f"{n} images")


def evaluate_project_report(store, run_id: int, iou_type="bbox", image_ids=None, max_dets=(1, 10, 100),
                            backend=None, match_iou=0.5, progress=None, cancel=None,
                            images: str = "covered", scope: str | None = None) -> EvaluationReport:
    """progress(done, total, text) and cancel (a CancelToken) as gui.jobs' context offers them (both optional).
    images: "covered" (default) scores only the images the run predicted on (within image_ids),
    "all" every image in image_ids (or the project): uncovered images' labels count as missed."""
    from .project_data import project_to_coco

    def step(i, text):
        if progress is not None and progress(i, 4, text) is False:
            raise Cancelled("evaluation cancelled")
    step(0, "Reading labels and predictions")
    reading = None if progress is None else (lambda d, t: progress(d, t, "Reading labels and predictions"))
    with gc_paused():
        data = project_to_coco(store, run_id, iou_type, image_ids, reading, images, scope)
        step(2, "Matching predictions to labels")
        coco, parts = _overlapped(data.gt, data.dt, iou_type, data.image_ids, max_dets, backend, data.dt_ids,
                                  data.difficult_ids, match_iou, cancel, data.columns)
        coco.extra["data"] = data  # as evaluate_project gives it
        report = _report(coco, parts, match_iou, data.image_set, data.image_set_short)
    step(4, "Done")
    return report


def format_table(report: EvaluationReport) -> str:
    """pycocotools' 12 lines, then the per-class table and the VOC and F1 summary."""
    lines = list(report.coco.stat_lines)
    lines.append("")
    lines.append(f"Images: {report.image_set}" if report.image_set else f"Images: {len(report.coco.image_ids)}")
    lines.append("")
    head = f"{'class':<20} {'AP':>6} {'AP50':>6} {'AP75':>6} {'AR':>6} {'VOC AP':>7} {'F1':>5} {'@score':>6} " \
           f"{'labels':>6} {'preds':>6}"
    lines += [head, "-" * len(head)]

    def f(v, w=6):
        return f"{'-':>{w}}" if v is None or (isinstance(v, float) and (math.isnan(v) or v < 0)) else f"{v:{w}.3f}"
    for r in report.class_rows():
        thr = "-" if r["best_threshold"] is None else f"{r['best_threshold']:.3f}"
        lines.append(f"{r['name'][:20]:<20} {f(r['ap'])} {f(r['ap50'])} {f(r['ap75'])} {f(r['ar'])} "
                     f"{f(r['voc_ap'], 7)} {r['best_f1']:5.3f} {thr:>6} {r['num_gt']:>6} {r['num_dt']:>6}")
    overall = report.curves[None]
    lines.append("")
    lines.append(f"VOC mAP@{report.match_iou:.2f} on {report.voc_on}: all-point {f(report.voc.map)}, "
                 f"11-point {f(report.voc11.map)}")
    if overall.best_threshold is not None:
        c = report.matches.at(overall.best_threshold)
        tp, fp, fn = c.totals
        lines.append(f"Best F1 {overall.best_f1:.3f} at score >= {overall.best_threshold:.3f} "
                     f"(IoU {report.match_iou:.2f}): {tp} TP, {fp} FP, {fn} FN")
    if report.tide is not None:
        t = report.tide
        lines.append("")
        lines.append(f"TIDE errors (IoU {t.pos_thr:.2f}, background below {t.bg_thr:.2f}; "
                     f"AP{int(round(t.pos_thr * 100))} {t.ap:.2f} as TIDE computes it; "
                     "dAP: AP points fixing them adds back)")
        lines.append("  " + " ".join(f"{k:>14}" for k in ERROR_KINDS))
        lines.append("  " + " ".join(f"{t.counts[k]:>14d}" for k in ERROR_KINDS) + "   count")
        lines.append("  " + " ".join(f"{t.dap[k]:>14.2f}" for k in ERROR_KINDS) + "   dAP")
    return "\n".join(lines)
