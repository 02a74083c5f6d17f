"""`main.py evaluate`: COCO (and VOC, F1) evaluation of detections against ground truth.

    main.py evaluate --gt GT.json --dt DT.json [--iou-type bbox|segm] [--json OUT]
    main.py evaluate --project P --model-run R [--split val] [--iou-type segm] [--all-images]
    main.py evaluate --project P --model-run R --iou-type semantic

Prints pycocotools' 12 summary lines, which images were scored, a per-class table, VOC mAP, the
best F1 and the TIDE error breakdown. --json also holds the PR and F1 curves, the TP/FP/FN counts
and the confusion matrix at a score threshold (--score-threshold, default the best F1's). Bad
input: one line on stderr and exit code 2.
"""
from __future__ import annotations

import json
import sys

from annotations.cli_numbers import number
from annotations.ranges import BIG


def add_arguments(p, name):
    src = p.add_argument_group("what to evaluate (either files or a project)")
    src.add_argument("--gt", help="ground truth, COCO JSON")
    src.add_argument("--dt", help="detections, COCO results JSON (a list)")
    src.add_argument("--project", help="project folder: its labels are the ground truth")
    src.add_argument("--model-run", type=number(int, 1, BIG), help="with --project: the run whose predictions are evaluated")
    src.add_argument("--split", choices=["train", "val", "test"], help="with --project: only this split")
    src.add_argument("--all-images", action="store_true",
                     help="with --project: score every chosen image, also those the run did not predict on "
                          "(default: only the images the run covers)")
    p.add_argument("--iou-type", choices=["bbox", "segm", "semantic"], default="bbox",
                   help="bbox or segm: COCO; semantic (with --project): pixel accuracy, IoU, mIoU, Dice")
    p.add_argument("--max-dets", type=number(int, 1, 1_000_000), nargs="+", default=[1, 10, 100], metavar="N",
                   help="maxDets list (default 1 10 100)")
    p.add_argument("--match-iou", type=number(float, 0, 1, above=True), default=0.5,
                   help="IoU for VOC AP, F1 and matching (default 0.5)")
    p.add_argument("--backend", choices=["hotcoco", "faster", "pycocotools", "ultrafast"], default=None,
                   help="COCO evaluator (default: hotcoco; all give pycocotools' figures)")
    p.add_argument("--score-threshold", type=number(float, 0, 1), default=None, metavar="S",
                   help="score threshold of the TP/FP/FN counts and confusion matrix in --json "
                        "(default: the best F1's)")
    p.add_argument("--json", metavar="OUT", help="also write every figure to this JSON file")


def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def _semantic(store, run_id: int, image_ids, json_path) -> int:
    from annotations.imageio import atomic_write_text
    from engine.evaluation.semantic_project import evaluate_project_semantic, format_semantic

    m = evaluate_project_semantic(store, run_id, image_ids)
    print(format_semantic(m))
    if json_path:
        nan_free = lambda v: None if v != v else float(v)  # noqa: E731
        data = {"pixel_accuracy": nan_free(m.pixel_accuracy), "mean_pixel_accuracy": nan_free(m.mean_pixel_accuracy),
                "miou": nan_free(m.miou), "mean_dice": nan_free(m.mean_dice),
                "per_class": [{"name": n, "iou": nan_free(m.iou[k]), "dice": nan_free(m.dice[k]),
                               "accuracy": nan_free(m.class_accuracy[k])} for k, n in enumerate(m.class_names)],
                "confusion": m.confusion.tolist()}
        atomic_write_text(json_path, json.dumps(data, indent=1))
    return 0


def run(args) -> int:
    from annotations.imageio import atomic_write_text
    from engine.evaluation.inputs import EvaluationError
    from engine.evaluation.reader import read_coco_files
    from engine.evaluation.report import evaluate_files_report, evaluate_project_report, format_table

    files = args.gt is not None or args.dt is not None
    if files == (args.project is not None):
        return _fail("give either --gt and --dt, or --project and --model-run")
    try:
        if files:
            if args.gt is None or args.dt is None:
                return _fail("--gt and --dt go together")
            if args.iou_type == "semantic":
                return _fail("--iou-type semantic evaluates a project run: use --project and --model-run")
            gt, dt, columns = read_coco_files(args.gt, args.dt, args.iou_type)
            try:
                report = evaluate_files_report(gt, dt, args.iou_type, None, args.max_dets, args.backend,
                                               args.match_iou, gt_name=str(args.gt), columns=columns)
            except EvaluationError as e:
                text = str(e)
                for what, path in (("ground truth", args.gt), ("detections", args.dt)):
                    text = text.replace(f"{what}:", f"{path}:", 1) if text.startswith(what) else text
                raise EvaluationError(text) from e
        else:
            if args.model_run is None:
                return _fail("--project needs --model-run (the id of a run of predictions)")
            from annotations.store import Store, StoreError
            try:
                store = Store.open(args.project, create=False)
            except StoreError as e:
                return _fail(str(e))
            try:
                ids = store.image_ids(args.split) if args.split else None
                if ids is not None and not ids:
                    return _fail(f"project {store.root} has no images in split {args.split!r}")
                if args.iou_type == "semantic":
                    return _semantic(store, args.model_run, ids, args.json)
                report = evaluate_project_report(store, args.model_run, args.iou_type, ids, args.max_dets,
                                                 args.backend, args.match_iou,
                                                 images="all" if args.all_images else "covered",
                                                 scope=f"split {args.split!r}" if args.split else None)
            finally:
                store.close()
    except EvaluationError as e:
        return _fail(str(e))
    print(format_table(report))
    if args.json:
        atomic_write_text(args.json, json.dumps(report.to_dict(args.score_threshold), indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
