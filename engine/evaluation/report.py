"""Everything one evaluation produces, computed together, and its text and JSON forms.

Used by `main.py evaluate` and by the evaluation view (which computes it in a background job).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .coco import CocoResult, evaluate_coco, evaluate_project
from .curves import ConfidenceCurve, confidence_curves
from .matching import Matches, match_objects
from .voc import VocResult, evaluate_voc_both


@dataclass
class EvaluationReport:
    coco: CocoResult
    matches: Matches  # at match_iou
    curves: dict[int | None, ConfidenceCurve]
    voc: VocResult
    voc11: VocResult
    match_iou: float
    extra: dict = field(default_factory=dict)

    def class_rows(self) -> list[dict]:
        """One row per class: COCO figures, VOC AP, best F1 and its threshold."""
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
                         "best_threshold": f1.best_threshold if f1 else None,
                         "num_gt": c.num_gt, "num_dt": c.num_dt})
        return rows

    def to_dict(self) -> dict:
        overall = self.curves[None]
        out = self.coco.to_dict()
        out["per_class"] = [{k: _clean(v) for k, v in r.items()} for r in self.class_rows()]
        out["match_iou"] = self.match_iou
        out["voc_map"] = _clean(self.voc.map)
        out["voc_map11"] = _clean(self.voc11.map)
        out["best_f1"] = {"f1": overall.best_f1, "threshold": overall.best_threshold}
        return out


def _clean(v):
    """JSON has no NaN: undefined figures become null."""
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _clean(v.item())
    return v


def _with_boxes(dt: list[dict]) -> list[dict]:
    """VOC AP is a box measure: mask results without a bbox get their mask's box."""
    if all("bbox" in d for d in dt):
        return dt
    from pycocotools import mask as mask_utils
    out = []
    for d in dt:
        if "bbox" not in d:
            seg = d["segmentation"]
            rle = {"size": seg["size"], "counts": seg["counts"].encode("ascii")
                   if isinstance(seg["counts"], str) else seg["counts"]}
            d = dict(d, bbox=mask_utils.toBbox(rle).tolist())
        out.append(d)
    return out


def build_report(coco: CocoResult, gt: dict, dt: list[dict], dt_ids=None, difficult_ids=(),
                 match_iou: float = 0.5, cancel=None) -> EvaluationReport:
    iou_type = coco.iou_type
    image_ids = coco.image_ids
    matches = match_objects(gt, dt, match_iou, iou_type, dt_ids, difficult_ids, image_ids, cancel)
    boxes = _with_boxes(dt)
    voc, voc11 = evaluate_voc_both(gt, boxes, match_iou, difficult_ids, image_ids)
    return EvaluationReport(coco, matches, confidence_curves(matches), voc, voc11, match_iou)


def evaluate_files_report(gt: dict, dt: list[dict], iou_type="bbox", image_ids=None, max_dets=(1, 10, 100),
                          backend=None, match_iou=0.5) -> EvaluationReport:
    coco = evaluate_coco(gt, dt, iou_type, image_ids, max_dets, backend)
    return build_report(coco, gt, dt, None, (), match_iou)


def evaluate_project_report(store, run_id: int, iou_type="bbox", image_ids=None, max_dets=(1, 10, 100),
                            backend=None, match_iou=0.5, progress=None, cancel=None) -> EvaluationReport:
    """progress(done, total, text) and cancel() as gui.jobs' context offers them (both optional)."""
    def step(i, text):
        if progress is not None and progress(i, 4, text) is False:
            raise InterruptedError("cancelled")
    step(0, "Reading labels and predictions")
    reading = None if progress is None else (lambda d, t: progress(d, t, "Reading labels and predictions"))
    coco = evaluate_project(store, run_id, iou_type, image_ids, max_dets, backend, reading)
    step(2, "Matching predictions to labels")
    data = coco.extra["data"]
    report = build_report(coco, data.gt, data.dt, data.dt_ids, data.difficult_ids, match_iou, cancel)
    step(4, "Done")
    return report


def format_table(report: EvaluationReport) -> str:
    """pycocotools' 12 lines, then the per-class table and the VOC and F1 summary."""
    lines = list(report.coco.stat_lines)
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
    lines.append(f"VOC mAP@{report.match_iou:.2f}: all-point {f(report.voc.map)}, 11-point {f(report.voc11.map)}")
    if overall.best_threshold is not None:
        c = report.matches.at(overall.best_threshold)
        tp, fp, fn = c.totals
        lines.append(f"Best F1 {overall.best_f1:.3f} at score >= {overall.best_threshold:.3f} "
                     f"(IoU {report.match_iou:.2f}): {tp} TP, {fp} FP, {fn} FN")
    return "\n".join(lines)
