"""Predictor overhead: the app's predict path against a bare `model(images)` loop.

Same model object, same images, same batches, same device and precision. The bare loop does the
least a script would: uint8 -> float tensors on the device, model(batch) under inference_mode,
outputs to the CPU. The app path is Predictor.predict (validation, filtering, boxes to xywh,
masks to RLE, names). Prints images/s for both and the ratio app time / bare time (goal <= 1.15).
Segmenters: the bare loop normalises, resizes, runs the model and takes the argmax on the device.
--switch MODEL...: GPU memory with each model loaded and after releasing it (a model switch).

  .venv/bin/python tests/benchmarks/bench_predictor.py [--model NAME] [--device cpu|cuda] [--fp16]
      [--images 16] [--size 320x240] [--batch 4] [--repeats 3] [--weights random|default|FILE]
      [--score S] [--min-size N --max-size N] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.device import autocast  # noqa: E402
from engine.predictor import Predictor  # noqa: E402
from engine.registry import SEMANTIC, get_spec  # noqa: E402
from engine.weights import load_model  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(model, images, batch: int, device, fp16: bool) -> list:
    outs = []
    for s in range(0, len(images), batch):
        with torch.inference_mode(), autocast(device, fp16):
            x = [torch.from_numpy(im).to(device).permute(2, 0, 1).float().div_(255) for im in images[s:s + batch]]
            out = model(x)
        outs += [{k: v.cpu() for k, v in o.items()} for o in out]
    return outs


def bare_semantic_loop(model, images, batch: int, device, fp16: bool, input_size: int) -> list:
    """What a script does with a segmenter: normalise, resize, forward, upsample, argmax to the CPU."""
    from engine.predictor import IMAGENET_MEAN, IMAGENET_STD
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    outs = []
    for s in range(0, len(images), batch):
        with torch.inference_mode(), autocast(device, fp16):
            x = torch.stack([torch.from_numpy(im).to(device).permute(2, 0, 1) for im in images[s:s + batch]])
            h, w = x.shape[2:]
            x = (x.float().div_(255) - mean) / std
            scale = input_size / min(h, w)
            x = torch.nn.functional.interpolate(x, size=(round(h * scale), round(w * scale)), mode="bilinear",
                                                align_corners=False, antialias=True)
            logits = torch.nn.functional.interpolate(model(x)["out"].float(), size=(h, w), mode="bilinear",
                                                     align_corners=False)
            outs += list(logits.argmax(1).cpu())
    return outs


def memory_after_switch(args) -> int:
    """GPU memory allocated with each model loaded and after it is released (goal: back to the start)."""
    from engine.weights import release_model
    device = torch.device(args.device)
    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    _sync(device)
    base = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
    print(f"memory before any model: {base / 2**20:.1f} MiB allocated")
    for name in args.switch:
        loaded = load_model(name, "random", args.device, fp16=args.fp16)
        Predictor(loaded).predict([image] * 2)
        _sync(device)
        held = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        release_model(loaded)
        del loaded
        _sync(device)
        after = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        reserved = torch.cuda.memory_reserved(device) if device.type == "cuda" else 0
        print(f"{name:34s} loaded {held / 2**20:8.1f} MiB   released {after / 2**20:8.1f} MiB "
              f"(reserved {reserved / 2**20:.1f} MiB)   returned: {'yes' if after <= base + 2**20 else 'NO'}")
    return 0


class ForwardClock:
    """Seconds spent inside model.forward; the rest of a run is the path's own work."""

    def __init__(self, model, device):
        self.device, self.total, self._start = device, 0.0, 0.0
        model.register_forward_pre_hook(self._pre)
        model.register_forward_hook(self._post)

    def _pre(self, *args):
        _sync(self.device)
        self._start = time.perf_counter()

    def _post(self, *args):
        _sync(self.device)
        self.total += time.perf_counter() - self._start


def timed(fn, device, clock: ForwardClock) -> tuple[float, float]:
    """(wall seconds, seconds outside the forward pass)."""
    _sync(device)
    clock.total = 0.0
    t = time.perf_counter()
    fn()
    _sync(device)
    wall = time.perf_counter() - t
    return wall, wall - clock.total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_320_fpn")
    ap.add_argument("--weights", default="random")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--size", default="320x240", help="WxH of the test images")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--score", type=float, default=None, help="app score threshold (default: the model's)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--min-size", type=int, default=None, help="model input shorter side (default: the model's)")
    ap.add_argument("--max-size", type=int, default=None)
    ap.add_argument("--switch", nargs="+", metavar="MODEL", default=None,
                    help="instead: load, use and release these models in turn and print the GPU memory")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.switch:
        return memory_after_switch(args)
    semantic = get_spec(args.model).task == SEMANTIC

    w, h = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(args.images)]
    torch.manual_seed(0)
    # As main.py predict does: detectors resize inside the model, segmenters take the input size.
    size_kw = {} if semantic else {k: v for k, v in (("min_size", args.min_size), ("max_size", args.max_size)) if v}
    loaded = load_model(args.model, args.weights, args.device, fp16=args.fp16, **size_kw)
    predictor = Predictor(loaded, score_threshold=args.score, batch_size=args.batch,
                          input_size=args.min_size if semantic else None)
    model, device = loaded.model, loaded.device
    print(f"model: {loaded.describe()}")
    print(f"{args.images} images of {w}x{h}, batch {args.batch}, torch threads {torch.get_num_threads()}")

    def bare(images_):
        if semantic:
            return bare_semantic_loop(model, images_, args.batch, device, loaded.fp16, predictor.input_size)
        return bare_loop(model, images_, args.batch, device, loaded.fp16)

    bare(images[:args.batch])  # warm-up (kernels, allocator)
    predictor.predict(images[:args.batch])
    clock = ForwardClock(model, device)
    bare_runs, app_runs = [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        bare_runs.append(timed(lambda: bare(images), device, clock))
        app_runs.append(timed(lambda: predictor.predict(images), device, clock))
    bare_t, app_t = [r[0] for r in bare_runs], [r[0] for r in app_runs]
    bare, app = statistics.median(bare_t), statistics.median(app_t)
    n = len(images)
    outside_bare = statistics.median(r[1] for r in bare_runs) / n * 1000
    outside_app = statistics.median(r[1] for r in app_runs) / n * 1000
    detections = sum(len(p) for p in predictor.predict(images[:args.batch]))
    print(f"bare model(images) loop: {n / bare:8.2f} images/s  (runs: {', '.join(f'{t:.2f}s' for t in bare_t)})")
    print(f"app Predictor.predict:   {n / app:8.2f} images/s  (runs: {', '.join(f'{t:.2f}s' for t in app_t)})")
    print(f"ratio app/bare time: median {app / bare:.3f}, best run {min(app_t) / min(bare_t):.3f}  "
          f"(goal <= 1.15; {detections} detections kept on the first batch)")
    print(f"outside the forward pass: bare {outside_bare:.1f} ms/image, app {outside_app:.1f} ms/image "
          f"(forward {statistics.median(bare_t) / n * 1000 - outside_bare:.1f} ms/image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
