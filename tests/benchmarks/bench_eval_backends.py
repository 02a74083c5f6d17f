"""Benchmark: COCO evaluation from JSON files to the 12 stats, every backend side by side, and the
app's whole evaluation (stats, per class, PR and F1 curves, per-object matching, VOC AP, TIDE, the
JSON report), with ratios against hotcoco measured in the same run: hotcoco bare (the 12 stats) and
hotcoco asked through its own API for the nearest it has to the app's whole evaluation (TIDE, the
confusion matrix, each object's TP/FP/FN, F1).

    .venv/bin/python tests/benchmarks/bench_eval_backends.py [--images 5000] [--dets 20]
        [--segm-images 1000] [--repeat 3] [--no-pycocotools] [--no-faster] [--no-breakdown]

Synthetic data (20 classes, about 12 labels and 20 detections per image, boxes; for segm the same
boxes as polygons for labels and RLE masks for detections) written to temporary JSON files; every
entry reads those files. Goal: the app's whole evaluation <= 1.2x hotcoco's time, bbox and segm,
with the 12 stats equal to pycocotools' (max |difference| printed; the equality itself is a test,
tests/engine/evaluation/test_eval_coco_oracle.py). Best of --repeat runs, the entries taken in turn
(pycocotools: one run), in wall-clock and in CPU time (steadier on a loaded machine; the app's
includes its worker thread, which runs the COCO evaluator beside the per-object passes). Last line
of each case: the app's steps timed one by one.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "engine" / "evaluation")]

import numpy as np  # noqa: E402
from pycocotools import mask as mask_utils  # noqa: E402

from eval_coco_cases import make_large_case  # noqa: E402


def _quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def bare_pycocotools(gp, dp, iou_type):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def go():
        cg = COCO(gp)
        ev = COCOeval(cg, cg.loadRes(dp), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return np.asarray(ev.stats)
    return _quiet(go)


def bare_faster(gp, dp, iou_type):
    from faster_coco_eval import COCO, COCOeval_faster
    quiet = lambda *a, **k: None  # noqa: E731
    cg = COCO(gp, print_function=quiet)
    ev = COCOeval_faster(cg, cg.loadRes(dp), iou_type, print_function=quiet)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return np.asarray(ev.stats)


def bare(module: str, gp, dp, iou_type, extras: bool = False):
    """hotcoco or ultrafast_pycocotools, used as their READMEs show (both follow pycocotools' API).
    extras (hotcoco): also what the app's whole evaluation gives beyond the 12 stats, from hotcoco's
    own API -- the TIDE breakdown, the confusion matrix, each object's TP/FP/FN (image_diagnostics)
    and F1: the best peer doing comparable work (it has no VOC AP and no per-object reasons)."""
    import importlib
    lib = importlib.import_module(module)

    def go():
        cg = lib.COCO(gp)
        ev = lib.COCOeval(cg, cg.loadRes(dp), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        if extras:
            ev.tide_errors()
            ev.confusion_matrix()
            ev.image_diagnostics()
            ev.f_scores()
        return np.asarray(ev.stats)
    return _quiet(go)


def app_stats(gp, dp, iou_type, backend=None):
    from engine.evaluation import evaluate_coco
    from annotations.formats.common import gc_paused
    from engine.evaluation.reader import read_coco_files
    with gc_paused():
        gt, dt, columns = read_coco_files(gp, dp, iou_type)
        return evaluate_coco(gt, dt, iou_type, backend=backend, columns=columns).stats


def app_whole(gp, dp, iou_type):
    """What `main.py evaluate --json` computes: the report and its JSON form (not the disk write)."""
    from annotations.formats.common import gc_paused
    from engine.evaluation.reader import read_coco_files
    from engine.evaluation.report import evaluate_files_report, format_table
    with gc_paused():
        gt, dt, columns = read_coco_files(gp, dp, iou_type)
        report = evaluate_files_report(gt, dt, iou_type, columns=columns)
        format_table(report)
        report.to_dict()
    return report.coco.stats


def segm_case(gt: dict, dt: list[dict]) -> tuple[dict, list[dict]]:
    size = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        a["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    out = []
    for d in dt:
        x, y, w, h = d["bbox"]
        r = mask_utils.frPyObjects([[x, y, x + w, y, x + w, y + h, x, y + h]], *size[d["image_id"]])[0]
        out.append({"image_id": d["image_id"], "category_id": d["category_id"], "score": d["score"],
                    "segmentation": {"size": r["size"], "counts": r["counts"].decode("ascii")}})
    return gt, out


def timed_rows(rows, repeat):
    """Best of `repeat` for each row, wall clock and CPU time (all threads of the process), the rows
    taken in turn (round by round), so that a change of load on the machine touches every row alike."""
    best = [float("inf")] * len(rows)
    cpu = [float("inf")] * len(rows)
    results = [None] * len(rows)
    for r in range(repeat):
        for i, (_, fn, n) in enumerate(rows):
            if r < n:
                t0, c0 = time.perf_counter(), time.process_time()
                results[i] = fn()
                best[i] = min(best[i], time.perf_counter() - t0)
                cpu[i] = min(cpu[i], time.process_time() - c0)
    return [(name, best[i], cpu[i], results[i]) for i, (name, _, _) in enumerate(rows)]


def breakdown(gp: str, dp: str, iou_type: str) -> str:
    """Where the app's time goes, each step alone (no worker thread): seconds per step."""
    from engine.evaluation import backends
    from engine.evaluation.coco import default_backend
    from engine.evaluation.curves import confidence_curves
    from annotations.formats.common import gc_paused
    from engine.evaluation.matching import match_objects
    from engine.evaluation.reader import read_coco_files
    from engine.evaluation.pairs import build_pairs, segm_rles
    from engine.evaluation.tide import tide_errors
    from engine.evaluation.voc import evaluate_voc_both

    steps: list[tuple[str, float]] = []

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        steps.append((name, time.perf_counter() - t0))
        return out
    with gc_paused():
        gt, dt, cols = step("typed read+checks+columns", lambda: read_coco_files(gp, dp, iou_type))
        backend = default_backend()
        rles = step("RLEs", lambda: segm_rles(gt, dt, cols)) if iou_type == "segm" and backend == "hotcoco" else None
        step("COCO evaluator", lambda: backends.run(backend, gt, dt, iou_type, None, [1, 10, 100], cols, rles))
        pairs = step("IoUs", lambda: build_pairs(gt, dt, iou_type, None, (), cols, rles))
        m = step("matching", lambda: match_objects(gt, dt, 0.5, iou_type, pairs=pairs))
        step("VOC", lambda: evaluate_voc_both(gt, dt, 0.5, pairs=pairs))
        step("TIDE", lambda: tide_errors(pairs))
        step("F1 curves", lambda: confidence_curves(m))
    total: dict[str, float] = {}
    for name, t in steps:
        total[name] = total.get(name, 0.0) + t
    return ", ".join(f"{name} {t:.3f}" for name, t in total.items())


def bench(iou_type: str, gp: str, dp: str, args) -> None:
    rows = [("hotcoco 1.3 (Rust), bare", lambda: bare("hotcoco", gp, dp, iou_type), args.repeat)]
    try:
        import ultrafast_pycocotools  # noqa: F401
        rows.append(("ultrafast-pycocotools, bare", lambda: bare("ultrafast_pycocotools", gp, dp, iou_type), args.repeat))
    except ImportError:
        print("(ultrafast-pycocotools not installed: left out)")
    if not args.no_faster:
        rows.append(("faster-coco-eval, bare", lambda: bare_faster(gp, dp, iou_type), args.repeat))
    rows.append(("hotcoco + TIDE, confusion, per-object", lambda: bare("hotcoco", gp, dp, iou_type, extras=True), args.repeat))
    rows += [("app: 12 stats only (hotcoco backend)", lambda: app_stats(gp, dp, iou_type), args.repeat),
             ("app: whole evaluation (report + JSON)", lambda: app_whole(gp, dp, iou_type), args.repeat)]
    if not args.no_pycocotools:
        rows.append(("pycocotools 2.0, bare (the oracle)", lambda: bare_pycocotools(gp, dp, iou_type), 1))
    results = timed_rows(rows, args.repeat)
    ref_t, ref_c = results[0][1], results[0][2]
    oracle = results[-1][3] if not args.no_pycocotools else results[0][3]
    print(f"\n{iou_type}: {'':40} {'seconds':>8} {'x hotcoco':>10} {'CPU s':>8} {'x hotcoco':>10} "
          f"{'max |stats - oracle|':>22}")
    for name, t, c, stats in results:
        print(f"  {name:44} {t:8.3f} {t / ref_t:10.2f} {c:8.3f} {c / ref_c:10.2f} "
              f"{np.abs(np.asarray(stats) - oracle).max():22.1e}")
    whole, whole_c = next((t, c) for name, t, c, _ in results if name.startswith("app: whole"))
    verdict = "meets" if whole <= 1.2 * ref_t else "misses"
    print(f"  app whole / hotcoco = {whole / ref_t:.2f} wall clock (goal <= 1.2: {verdict} it), "
          f"{whole_c / ref_c:.2f} CPU time")
    extras, extras_c = next((t, c) for name, t, c, _ in results if name.startswith("hotcoco + "))
    print(f"  app whole / hotcoco with its own extras = {whole / extras:.2f} wall clock, {whole_c / extras_c:.2f} CPU time")
    if not args.no_breakdown:
        print(f"  the app's steps alone, seconds: {breakdown(gp, dp, iou_type)}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--dets", type=int, default=20)
    ap.add_argument("--segm-images", type=int, default=1000, help="images of the segm case (0: skip segm)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pycocotools", action="store_true", help="skip the slow oracle (stats compared to hotcoco)")
    ap.add_argument("--no-faster", action="store_true", help="skip faster-coco-eval (slow on large cases)")
    ap.add_argument("--no-breakdown", action="store_true", help="skip timing the app's steps one by one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gt, dt = make_large_case(args.images, args.dets)
        gp, dp = str(Path(tmp) / "gt.json"), str(Path(tmp) / "dt.json")
        Path(gp).write_text(json.dumps(gt))
        Path(dp).write_text(json.dumps(dt))
        print(f"bbox: {len(gt['images'])} images, {len(gt['annotations'])} labels, {len(dt)} detections")
        bench("bbox", gp, dp, args)
        if args.segm_images:
            gt, dt = segm_case(*make_large_case(args.segm_images, args.dets, seed=1))
            gp, dp = str(Path(tmp) / "gt_segm.json"), str(Path(tmp) / "dt_segm.json")
            Path(gp).write_text(json.dumps(gt))
            Path(dp).write_text(json.dumps(dt))
            print(f"\nsegm: {len(gt['images'])} images, {len(gt['annotations'])} labels (polygons), "
                  f"{len(dt)} detections (RLE)")
            bench("segm", gp, dp, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
