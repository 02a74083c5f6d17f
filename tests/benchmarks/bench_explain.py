"""Benchmark: explanation cost against the model's own forward pass, measured in the same run.

    .venv/bin/python tests/benchmarks/bench_explain.py [--model fcos_compact_fpn] [--weights random]
        [--size 320x240] [--repeat 5] [--window 48] [--stride 24] [--device auto]

Prints, each as a ratio to one forward pass of the model on the image (engine.predictor, the way the
app predicts): EigenCAM (goal <= 1.5x), Grad-CAM (goal <= 3x); occlusion's time against the cost
estimate() predicted before it started (goal: within 20%); and memory before and after the
explanations (CPU RSS; GPU allocated memory when on CUDA), as explain() leaves it: it must return to
where it was.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def gpu_mib(device: torch.device) -> float | None:
    return torch.cuda.memory_allocated(device) / 2**20 if device.type == "cuda" else None


def timed(fns: dict, repeat: int, device: torch.device) -> dict:
    """Median seconds of each fn over `repeat` rounds after one warm-up; the functions take turns in
    each round, so a machine that gets busier or quieter mid-run affects them alike."""
    times = {k: [] for k in fns}
    for round_ in range(repeat + 1):
        for k, fn in fns.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if round_:
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def demo_image(width: int, height: int) -> np.ndarray:
    import tempfile

    from annotations.demo import generate_demo
    from annotations.imageio import read_rgb
    with tempfile.TemporaryDirectory() as tmp:
        store = generate_demo(Path(tmp) / "demo", n_images=1, seed=5, size=(width, height), val_fraction=0)
        rgb = read_rgb(store.image_path(store.images()[0]))
        store.close()
    return rgb


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="fcos_compact_fpn")
    p.add_argument("--weights", default="random")
    p.add_argument("--device", default="auto")
    p.add_argument("--size", default="320x240", help="image WIDTHxHEIGHT (a demo image)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--window", type=int, default=48)
    p.add_argument("--stride", type=int, default=24)
    args = p.parse_args(argv)

    from engine.explain import Explainable, estimate, explain
    from engine.explain.targets import top_detection_target
    from engine.predictor import Predictor
    from engine.weights import load_model

    w, h = (int(v) for v in args.size.lower().split("x"))
    image = demo_image(w, h)
    loaded = load_model(args.model, args.weights, args.device)
    dev = loaded.device
    model = Explainable.from_loaded(loaded)
    target = top_detection_target(model, image)
    predictor = Predictor(loaded)
    predictor.predict_one(image)

    rss0, gpu0 = rss_mib(), gpu_mib(dev)
    fns = {"forward": lambda: predictor.predict_one(image)}
    for method in ("eigencam", "gradcam"):
        fns[method] = lambda m=method: explain(model, image, target, m, faithfulness=False)
    t = timed(fns, args.repeat, dev)
    forward = t["forward"]
    rows = {m: {"seconds": round(t[m], 4), "x_forward": round(t[m] / forward, 2)} for m in ("eigencam", "gradcam")}
    occ = {"window": args.window, "stride": args.stride}
    est = estimate(model, image, target, "occlusion", params=occ)
    t0 = time.perf_counter()
    result = explain(model, image, target, "occlusion", params=occ, faithfulness=False)
    actual = time.perf_counter() - t0
    rows["occlusion"] = {"seconds": round(actual, 3), "x_forward": round(actual / forward, 2),
                         "predicted_seconds": round(est.seconds, 3), "forward_passes": est.cost.forward,
                         "actual_over_predicted": round(actual / est.seconds, 3)}
    del result
    rss1, gpu1 = rss_mib(), gpu_mib(dev)
    report = {"model": args.model, "device": str(dev), "image": f"{w}x{h}", "threads": torch.get_num_threads(),
              "forward_seconds": round(forward, 4), "methods": rows,
              "memory": {"rss_before_mib": round(rss0, 1), "rss_after_mib": round(rss1, 1),
                         "rss_delta_mib": round(rss1 - rss0, 1),
                         "gpu_before_mib": gpu0, "gpu_after_mib": gpu1}}
    print(json.dumps(report, indent=1))
    print(f"EigenCAM {rows['eigencam']['x_forward']}x forward (goal <= 1.5), Grad-CAM {rows['gradcam']['x_forward']}x "
          f"(goal <= 3), occlusion {rows['occlusion']['actual_over_predicted']}x its prediction (goal 0.8-1.2), "
          f"RSS {rss0:.0f} -> {rss1:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
