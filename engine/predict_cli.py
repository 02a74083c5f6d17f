"""`main.py predict`: run a registry model on a project or an image folder.

  main.py predict --model NAME [--weights FILE|default|random] [--device auto|cpu|cuda] [--fp16]
                  [--score 0.5] (--project P [--split S] [--add-categories] [--resume RUN] | --images DIR)
                  [--out FILE.json]
  python -m torch.distributed.run --nproc_per_node N main.py predict --project P ...  (one run, sharded)

Writes COCO results JSON. With --project, image and category ids are the project's (as its COCO
export writes them) and the predictions are also stored in the project as a new run. With
--images, images are numbered 1..N in sorted path order and category ids are the model's label
indices (COCO's own ids for the COCO models); FILE.images.json beside the results holds that
numbering as a COCO file without annotations, so pycocotools can load the results against it.
Predicted classes the project has no category for are kept in the run, not added, unless
--add-categories; an interrupted run is resumed by the same command (engine/predict_project.py).
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
from pathlib import Path

from annotations.cli_numbers import number
from annotations.ranges import BIG
from annotations.cli_pixels import add_max_pixels_argument, apply_max_pixels
from annotations.errors import SightlineError

EXIT_BAD_INPUT = 2


def add_arguments(p, name):
    p.add_argument("--model", required=True, help="registry model name (e.g. fasterrcnn_resnet50_fpn)")
    p.add_argument("--weights", default="default",
                   help="checkpoint FILE, 'default' (torchvision's pretrained weights) or 'random' (default: default)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto = CUDA when present)")
    p.add_argument("--fp16", action="store_true", help="fp16 autocast (CUDA only)")
    p.add_argument("--score", type=number(float, 0, 1), default=None, help="score threshold (default: the model's)")
    p.add_argument("--classes", default=None, help="comma-separated class names to keep (default: all)")
    p.add_argument("--nms", type=number(float, 0, 1, above=True), default=None, metavar="IOU",
                   help="extra class-wise NMS at this IoU")
    p.add_argument("--batch-size", type=number(int, 1, 4096), default=4)
    p.add_argument("--min-size", type=number(int, 16, 8192), default=None,
                   help="shorter side the model sees (detectors; semantic models: input size)")
    p.add_argument("--max-size", type=number(int, 16, 16384), default=None, help="longer side limit (detectors)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--project", help="project folder: predictions are stored in it as a new run")
    src.add_argument("--images", help="folder of images (searched recursively)")
    p.add_argument("--split", default=None, help="with --project: only images of this split (train, val, test)")
    p.add_argument("--out", default=None, help="COCO results JSON to write (required with --images)")
    p.add_argument("--add-categories", action="store_true",
                   help="with --project: predicted classes the project has no category for become categories "
                        "(default: they stay in the run, out of the category list, until accepted)")
    p.add_argument("--resume", type=number(int, 1, BIG), default=None, metavar="RUN",
                   help="with --project: predict the images run RUN is missing (an interrupted run); "
                        "the same command as an interrupted run resumes it by itself")
    add_max_pixels_argument(p)


# What a person is told in one line: every SightlineError (store, weights, device, run choice),
# bad values, file system and database failures (disk full, read-only).
_CLI_ERRORS = (SightlineError, ValueError, OSError, sqlite3.Error)


def _readable(e: BaseException) -> str:
    text = str(e).strip() or e.__class__.__name__
    filename = getattr(e, "filename", None)
    return f"{filename}: {text}" if filename and str(filename) not in text else text


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args) -> int:
    from .registry import SEMANTIC, get_spec

    apply_max_pixels(args)
    if args.images and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return _error("under torchrun, predict shards a project: use --project (--images would be done once per rank)")
    if args.images and not args.out:
        return _error("--out FILE.json is needed with --images")
    flags = (("--split", args.split), ("--resume", args.resume), ("--add-categories", args.add_categories))
    for flag, value in flags:
        if value not in (None, False) and not args.project:
            return _error(f"{flag} goes with --project")
    try:
        spec = get_spec(args.model)
    except KeyError as e:
        return _error(e.args[0])
    build_kw, input_size = {}, None
    if spec.task == SEMANTIC:
        input_size = args.min_size
    else:
        build_kw = {k: v for k, v in (("min_size", args.min_size), ("max_size", args.max_size)) if v}
    try:
        if args.project:
            return _run_project(args, build_kw, input_size)
        return _run_images(args, build_kw, input_size)
    except _CLI_ERRORS as e:
        return _error(_readable(e))


def _load(args, build_kw, input_size, quiet: bool = False):
    from .predictor import Predictor
    from .weights import load_model

    loaded = load_model(args.model, args.weights, args.device, fp16=args.fp16, **build_kw)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    predictor = Predictor(loaded, score_threshold=args.score, classes=classes, nms_iou=args.nms,
                          batch_size=args.batch_size, input_size=input_size)
    if not quiet:
        print(f"model: {loaded.describe()}", file=sys.stderr)
    return loaded, predictor


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def _run_project(args, build_kw, input_size) -> int:
    from .device import resolve_device
    from .training.distributed import from_environment

    device = resolve_device(args.device)
    ctx = from_environment(device.type)
    if ctx.active and device.type == "cuda":
        args.device = f"cuda:{ctx.local_rank}"
    try:
        return _run_project_rank(ctx, args, build_kw, input_size)
    finally:
        ctx.close()


def _run_project_rank(ctx, args, build_kw, input_size) -> int:
    """Every rank runs this; only rank 0 opens the store and prints the outcome."""
    from annotations.formats.coco import coco_results
    from annotations.imageio import atomic_write_text
    from annotations.progress import TerminalProgress
    from annotations.store import Store

    from . import predict_project as pp

    store, failure = None, None
    if ctx.is_main:
        try:
            store = Store.open(args.project, create=False, read_only=False)  # a run is stored: refuse at once
            image_ids = store.image_ids(args.split)
            if not image_ids:
                where = f"split {args.split!r} of " if args.split else ""
                failure = f"{where}project {store.root} has no images"
        except _CLI_ERRORS as e:
            failure = str(e)
    failure = ctx.broadcast_object(failure)
    if failure is not None:
        if store is not None:
            store.close()
        return _error(failure) if ctx.is_main else EXIT_BAD_INPUT
    try:
        _, predictor = _load(args, build_kw, input_size, quiet=not ctx.is_main)
        plan = None
        if ctx.is_main:
            try:
                plan = pp.plan_run(store, args, predictor, image_ids)
            except _CLI_ERRORS as e:
                failure = str(e)
        plan, failure = ctx.broadcast_object((plan, failure))
        if failure is not None:
            return _error(failure) if ctx.is_main else EXIT_BAD_INPUT
        warn = _warn if ctx.is_main else (lambda text: _warn(f"rank {ctx.rank}: {text}"))
        quiet = contextlib.nullcontext(lambda done, total: True)
        try:
            with TerminalProgress("predict") if ctx.is_main else quiet as bar:
                outcome = pp.predict_share(ctx, store, plan, predictor, args.add_categories, bar, warn)
        except BaseException:
            if ctx.is_main:
                pp.mark_interrupted(store, plan.run_id)
            raise
        peers_ok = _barrier(ctx)
        if not ctx.is_main:
            return 0
        status = pp.finish(ctx, store, plan, predictor, args.add_categories, outcome, peers_ok)
        text = pp.report(store, plan, status, outcome, _warn)
        if args.out:
            results = coco_results(store, plan.run_id)
            atomic_write_text(args.out, json.dumps(results, separators=(",", ":")))
            text += f"; results written to {args.out}"
        print(text)
        if not peers_ok:
            return _error(f"a process of the distributed run failed; {status.describe()}; "
                          f"run the same command again (or --resume {plan.run_id}) to fill them")
        return 0
    finally:
        if store is not None:
            store.close()


def _barrier(ctx) -> bool:
    """Wait for every rank; False when one of them is gone."""
    try:
        ctx.barrier()
        return True
    except RuntimeError as e:
        _warn(f"rank {ctx.rank}: {e}")
        return False


def _image_files(folder: Path) -> list[Path]:
    from annotations.store import DB_NAME, IMAGE_EXTENSIONS

    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and DB_NAME not in p.name)


def images_map_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".images.json")


def _run_images(args, build_kw, input_size) -> int:
    from annotations.imageio import ImageReadError, atomic_write_text, read_rgb
    from annotations.progress import TerminalProgress

    from .registry import BACKGROUND, PLACEHOLDER

    folder = Path(args.images)
    if not folder.is_dir():
        return _error(f"{folder}: not a folder")
    files = _image_files(folder)
    if not files:
        return _error(f"{folder}: no image files found")
    loaded, predictor = _load(args, build_kw, input_size)
    label_of = {n: i for i, n in reversed(list(enumerate(loaded.categories)))}
    images, results = [], []
    with TerminalProgress("predict") as bar:
        for start in range(0, len(files), predictor.batch_size):
            batch = []
            for image_id, path in enumerate(files[start:start + predictor.batch_size], start + 1):
                try:
                    rgb = read_rgb(path)
                except ImageReadError as e:
                    _warn(f"{e}; skipped")
                    continue
                images.append({"id": image_id, "file_name": path.relative_to(folder).as_posix(),
                               "width": int(rgb.shape[1]), "height": int(rgb.shape[0])})
                batch.append((image_id, rgb))
            preds = predictor.predict([rgb for _, rgb in batch])
            for (image_id, _), p in zip(batch, preds):
                for i, name in enumerate(p.labels):
                    r = {"image_id": image_id, "category_id": label_of[name],
                         "bbox": [round(float(v), 3) for v in p.boxes[i]], "score": round(float(p.scores[i]), 5)}
                    if p.masks is not None:
                        r["segmentation"] = p.masks[i]
                    results.append(r)
            bar(min(start + predictor.batch_size, len(files)), len(files))
    categories = [{"id": i, "name": n, "supercategory": ""} for i, n in enumerate(loaded.categories)
                  if n not in (BACKGROUND, PLACEHOLDER)]
    index = {"info": {"description": f"images of {folder} as numbered by main.py predict"},
             "images": images, "annotations": [], "categories": categories}
    atomic_write_text(images_map_path(args.out), json.dumps(index, separators=(",", ":")))
    atomic_write_text(args.out, json.dumps(results, separators=(",", ":")))
    print(f"{len(images)} images, {len(results)} predictions; results written to {args.out}, "
          f"image ids in {images_map_path(args.out)}")
    return 0
