"""`main.py explain`: why did the model see what it saw?

  main.py explain --model NAME [--weights FILE] --image IMG --method M [--layer NAME]
                  [--target-box X,Y,W,H | --target-class NAME | --target-index I] --out HEAT.png [--npy HEAT.npy]
      the heat map over the image (PNG), the raw map as float32 H x W in [0, 1] (--npy), and the
      deletion/insertion AUC on stdout. Without a target: the top-scoring detection (segmenters: the
      largest predicted class). --target-box with --target-class: that label box of that class.
  main.py explain --project P --model-run R --split val --method M --report OUT.json
      the pointing game over the split's labels, per class and per image (misses first), mean AUCs.
      R: a training run under P/runs (its name or folder: its best checkpoint), or a prediction run id.

--param KEY=VALUE (repeatable) sets a method parameter, e.g. --param window=32 --param stride=16.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from annotations.cli_numbers import number
from annotations.cli_pixels import add_max_pixels_argument, apply_max_pixels

EXIT_BAD_INPUT = 2


def add_arguments(p, name):
    p.add_argument("--model", help="registry model name (single image; a --model-run names its own)")
    p.add_argument("--weights", default="default",
                   help="checkpoint FILE, 'default' (torchvision's pretrained weights) or 'random' (default: default)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.add_argument("--image", help="the image to explain")
    p.add_argument("--method", required=True, help="explanation method (gradcam, occlusion, saliency, drise, ...)")
    p.add_argument("--layer", default=None, help="module name for layer methods (default: the family's)")
    p.add_argument("--target-box", default=None, metavar="X,Y,W,H", help="explain this box (a label: why missed?)")
    p.add_argument("--target-class", default=None, metavar="NAME", help="explain this class")
    p.add_argument("--target-index", type=number(int, 0, 100_000), default=None, metavar="I",
                   help="explain the I-th detection (0 = top)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a method parameter")
    p.add_argument("--out", default=None, help="heat map overlaid on the image (PNG)")
    p.add_argument("--npy", default=None, help="the raw map, float32 H x W in [0, 1]")
    p.add_argument("--auc-steps", type=number(int, 0, 1000), default=32,
                   help="steps of the deletion/insertion curves (0 = none)")
    p.add_argument("--project", default=None, help="project folder (pointing-game report)")
    p.add_argument("--model-run", default=None, metavar="R", help="training run (name or folder) or prediction run id")
    p.add_argument("--split", default="val", help="with --project: the split to report on (default: val)")
    p.add_argument("--report", default=None, help="with --project: the report JSON to write")
    add_max_pixels_argument(p)


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _params(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _box(text: str) -> tuple[float, ...]:
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4:
        raise ValueError(f"--target-box {text!r}: expected X,Y,W,H (four numbers)")
    return box


def run(args) -> int:
    from annotations.errors import SightlineError
    from annotations.imageio import ImageReadError

    try:
        apply_max_pixels(args)
        if args.project:
            return _run_report(args)
        return _run_image(args)
    except (SightlineError, ImageReadError, KeyError, ValueError, OSError) as e:
        return _error(e.args[0] if isinstance(e, KeyError) and e.args else str(e))


def _run_image(args) -> int:
    from annotations.imageio import atomic_write_bytes, read_rgb

    from .explain import explain, targets
    from .explain.maps import overlay
    from .explain.methods import get_method
    from .explain.model import DETECTOR, Explainable
    from .weights import load_model

    if not args.model or not args.image or not args.out:
        return _error("--model, --image and --out are needed (or --project, --model-run and --report)")
    if args.target_index is not None and (args.target_box or args.target_class):
        return _error("--target-index goes alone (not with --target-box or --target-class)")
    params = _params(args.param)
    box = _box(args.target_box) if args.target_box else None
    get_method(args.method).check_params(dict(params))  # every parameter checked before the model runs
    image = read_rgb(args.image)
    loaded = load_model(args.model, args.weights, args.device)
    model = Explainable.from_loaded(loaded)
    if args.layer:
        model.module(args.layer)
    if args.target_class:
        model.label_index(args.target_class)
    if model.kind == DETECTOR:
        if box is not None and args.target_class:
            target = targets.label_box(box, model.label_index(args.target_class), args.target_class)
        elif box is not None:
            target = targets.best_class_for_box(model, image, box)
        else:
            target = targets.top_detection_target(model, image, args.target_index or 0, args.target_class)
    else:
        if args.target_index is not None:
            return _error("--target-index picks a detection; this model is a segmenter (use --target-class)")
        target = targets.semantic_target(model, image, args.target_class)
        if box is not None:
            target = targets.box_region(target, box, image.shape)
    print(f"model: {loaded.describe()}", file=sys.stderr)
    result = explain(model, image, target, args.method, args.layer, params, faithfulness=args.auc_steps > 0,
                     auc_steps=max(1, args.auc_steps))
    import cv2
    shown = overlay(image, result.heatmap, box_xywh=result.target.get("box_xywh"))
    ok, png = cv2.imencode(".png", shown[..., ::-1])
    if not ok:
        raise OSError(f"{args.out}: could not encode the PNG")
    atomic_write_bytes(args.out, png.tobytes())
    if args.npy:
        _write_npy(args.npy, result.heatmap)
    summary = result.summary()
    print(json.dumps(summary))
    if result.curves is not None:
        print(f"deletion AUC {result.deletion_auc:.4f}, insertion AUC {result.insertion_auc:.4f} "
              f"({args.method}, {result.layer or 'input'}; {result.target.get('class')})", file=sys.stderr)
    return 0


def _write_npy(path: str, heat) -> None:
    import io

    import numpy as np

    from annotations.imageio import atomic_write_bytes

    buf = io.BytesIO()
    np.save(buf, np.asarray(heat, np.float32))
    atomic_write_bytes(path, buf.getvalue())


def _source_of(weights: str) -> str:
    """A prediction run's recorded weights (engine.weights.LoadedModel.source) as a load_model source."""
    if weights.startswith("checkpoint "):
        return weights[len("checkpoint "):]
    if weights.startswith("torchvision DEFAULT"):
        return "default"
    return "random" if weights in ("", "random weights") else weights


def _model_of_run(store, ref: str, device: str):
    """A training run (name under <project>/runs or a folder) or a prediction run id -> LoadedModel."""
    from .training.runs import RUNS_FOLDER, read_run
    from .weights import load_model

    cats = [c.name for c in store.categories()]
    for folder in (Path(store.root) / RUNS_FOLDER / ref, Path(ref)):
        info = read_run(folder)
        if info is not None:
            if info.usable_checkpoint is None:
                raise ValueError(f"run {folder} has no checkpoint yet")
            return load_model(None, str(info.usable_checkpoint), device, project_categories=cats)
    run = store.run(int(ref)) if ref.isdigit() else None
    if run is not None:
        return load_model(run.model, _source_of(run.weights), device, project_categories=cats)
    raise ValueError(f"--model-run {ref!r}: neither a training run under {Path(store.root) / RUNS_FOLDER} "
                     "nor a run folder nor a prediction run id of the project")


def _run_report(args) -> int:
    from annotations.imageio import atomic_write_text
    from annotations.progress import TerminalProgress
    from annotations.store import Store

    from .explain.methods import get_method
    from .explain.model import Explainable
    from .explain.pointing import pointing_game

    if not args.model_run or not args.report:
        return _error("--project needs --model-run and --report")
    if args.image or args.out or args.npy or args.target_box or args.target_class or args.target_index is not None:
        return _error("--project reports on a split: --image, --out, --npy and targets do not apply")
    params = _params(args.param)
    get_method(args.method)
    store = Store.open(args.project, create=False)
    try:
        ids = store.image_ids(args.split)
        if not ids:
            return _error(f"split {args.split!r} of project {store.root} has no images")
        loaded = _model_of_run(store, args.model_run, args.device)
        model = Explainable.from_loaded(loaded)
        if args.layer:
            model.module(args.layer)
        print(f"model: {loaded.describe()}", file=sys.stderr)
        with TerminalProgress("explain") as bar:
            report = pointing_game(model, store, ids, args.method, args.layer, params, args.auc_steps > 0,
                                   max(1, args.auc_steps), split=args.split, progress=bar)
    finally:
        store.close()
    d = report.to_dict()
    atomic_write_text(args.report, json.dumps(d, indent=1))
    acc = "n/a" if d["accuracy"] is None else f"{d['accuracy']:.3f}"
    print(f"pointing game {acc} ({d['hits']}/{d['total']} labels, {len(d['images'])} images); report written to "
          f"{args.report}")
    return 0
