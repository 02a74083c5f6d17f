"""Benchmark: the app's COCO evaluation against bare pycocotools, and the threshold-slider update.

    .venv/bin/python tests/benchmarks/bench_evaluation.py [--images 5000] [--dets 20]

Same synthetic data for both (boxes, 20 classes). Prints seconds, the ratio app / pycocotools (goal
<= 0.35) and the largest difference between the two sets of 12 stats (goal 0). Then the per-object
matching time (once per evaluation) and the time of one threshold change (Matches.at: counts and
confusion matrix; goal < 200 ms).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "engine" / "evaluation")]

import numpy as np  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

from eval_coco_cases import make_large_case  # noqa: E402
from engine.evaluation import evaluate_coco  # noqa: E402
from engine.evaluation.matching import match_objects  # noqa: E402


def bare_pycocotools(gt, dt):
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO()
        cg.dataset = gt
        cg.createIndex()
        ev = COCOeval(cg, cg.loadRes(dt), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--dets", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-gui", action="store_true", help="skip the slider timing in the evaluation view")
    args = ap.parse_args()
    gt, dt = make_large_case(args.images, args.dets)
    print(f"{len(gt['images'])} images, {len(gt['annotations'])} labels, {len(dt)} detections")

    ref_t, app_t, app_py_t = [], [], []
    for _ in range(args.repeat):
        g, d = copy.deepcopy(gt), copy.deepcopy(dt)  # pycocotools writes into both
        t0 = time.perf_counter()
        ref = bare_pycocotools(g, d)
        ref_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        app = evaluate_coco(gt, dt, "bbox", backend="faster")
        app_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        app_py = evaluate_coco(gt, dt, "bbox", backend="pycocotools")
        app_py_t.append(time.perf_counter() - t0)
    ref_s, app_s, app_py_s = min(ref_t), min(app_t), min(app_py_t)
    print(f"bare pycocotools:                  {ref_s:7.2f} s")
    print(f"app, faster-coco-eval backend:     {app_s:7.2f} s   ratio {app_s / ref_s:.3f} (goal <= 0.35)")
    print(f"app, pycocotools backend:          {app_py_s:7.2f} s   ratio {app_py_s / ref_s:.3f}")
    print(f"max |stats difference|: faster {np.abs(app.stats - ref).max():.2e}, "
          f"pycocotools backend {np.abs(app_py.stats - ref).max():.2e}")

    t0 = time.perf_counter()
    m = match_objects(gt, dt, iou=0.5)
    print(f"per-object matching (once per evaluation): {time.perf_counter() - t0:7.2f} s")
    times = []
    for s in np.linspace(0.0, 1.0, 41):
        t0 = time.perf_counter()
        c = m.at(float(s))
        _ = c.confusion.sum(), c.totals
        times.append(time.perf_counter() - t0)
    times_ms = np.array(times) * 1000
    print(f"threshold change (counts + confusion matrix): mean {times_ms.mean():.2f} ms, "
          f"max {times_ms.max():.2f} ms (goal < 200 ms)")
    if not args.no_gui:
        panel_slider(app, gt, dt)
    return 0


def panel_slider(coco, gt, dt) -> None:
    """The whole slider update in the evaluation view: counts, heat map, error list (offscreen)."""
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from engine.evaluation.report import build_report
    from gui.evaluation.panel import SLIDER_STEPS, EvaluationPanel

    qapp = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    report = build_report(coco, gt, dt)
    print(f"report (matching, VOC AP, F1 curves):     {time.perf_counter() - t0:7.2f} s")
    panel = EvaluationPanel(None)
    panel.resize(1200, 800)
    panel.show()
    panel.show_report(report)
    for tab in (0, 2, 3):  # the error list and the heat map are the costly parts: time with each shown
        panel.tabs.setCurrentIndex(tab)
        qapp.processEvents()
        ms, handler = [], []
        for v in range(5, 100, 10):
            t0 = time.perf_counter()
            panel.slider.setValue(v * SLIDER_STEPS // 100)
            qapp.processEvents()  # includes repainting what changed
            ms.append((time.perf_counter() - t0) * 1000)
            handler.append(panel.last_update_ms)
        print(f"slider change in the view, tab {panel.tabs.tabText(tab)!r}: mean {np.mean(ms):.1f} ms, "
              f"max {np.max(ms):.1f} ms with repaint (handler alone max {np.max(handler):.1f} ms; goal < 200 ms)")
    panel.close()


if __name__ == "__main__":
    sys.exit(main())
