"""Training benchmarks (a script, not a test). Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_training.py throughput [--device cpu|cuda] [--iters 30]
    .venv/bin/python tests/benchmarks/bench_training.py accuracy [--minutes 15] [--device cuda --amp]

throughput: the app's training loop (engine.training.train) against a bare torchvision-style loop
(the same model, dataset and transforms, batch, optimizer and device: DataLoader, forward, sum of
losses, backward, step), alternated to even out a shared machine; prints images/s and the ratio.
accuracy: the recommended from-scratch model on the demo project (300 images, 240 train / 60 val)
trained within the time budget; prints validation mAP@0.5 against minutes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from annotations.demo import generate_demo  # noqa: E402
from annotations.store import Store  # noqa: E402
from engine.training import default_options, train  # noqa: E402
from engine.training.data import (LabelledImages, build_transforms, category_labels, collate_detection,  # noqa: E402
                                  read_samples)
from engine.training.loop import make_optimizer  # noqa: E402
from engine.training.models import build_for_training  # noqa: E402

THROUGHPUT_MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"
ACCURACY_MODEL = "fcos_compact_fpn"  # recommended for training from scratch on a CPU


def demo(folder: Path, n: int) -> Path:
    path = folder / f"demo{n}"
    if not Store.exists(path):
        generate_demo(path, n_images=n, seed=0).close()
    return path


def app_images_per_s(model_name, project, opts, iters, warm, device) -> float:
    stamps = []
    o = default_options(model_name, "random", **{**opts, "max_iterations": iters, "log_every": 1, "val_split": "",
                                            "device": device})
    with tempfile.TemporaryDirectory() as d:
        train(project, o, d, emit=lambda e: stamps.append(time.perf_counter()) if e["event"] == "iteration" else None)
    return (iters - warm) * o.batch_size / (stamps[-1] - stamps[warm - 1])


def bare_images_per_s(model_name, project, opts, iters, warm, device) -> float:
    o = default_options(model_name, "random", **opts)
    store = Store.open(project, create=False)
    label_of = category_labels(store.categories(), "detection")
    samples = read_samples(store, store.image_ids("train"), "detection", label_of)
    names = [c.name for c in store.categories()]
    store.close()
    dev = torch.device(device)
    model = build_for_training(model_name, names, "random", o.image_size, o.roi_batch_size).model.to(dev).train()
    optimizer = make_optimizer(model, o)
    ds = LabelledImages(samples, "detection", build_transforms(True, o.image_size, True, "detection"))
    loader = torch.utils.data.DataLoader(ds, batch_size=o.batch_size, shuffle=True, collate_fn=collate_detection)
    stamps = []
    it = 0
    while it < iters:
        for images, targets in loader:
            images = [i.to(dev) for i in images]
            targets = [{k: v.to(dev) for k, v in t.items() if k != "image_id"} for t in targets]
            loss = sum(model(images, targets).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
            stamps.append(time.perf_counter())
            it += 1
            if it == iters:
                break
    return (iters - warm) * o.batch_size / (stamps[-1] - stamps[warm - 1])


def throughput(args) -> None:
    with tempfile.TemporaryDirectory() as d:
        project = demo(Path(d), 60)
        opts = dict(image_size=320, batch_size=args.batch, optimizer="adamw", lr=1e-3, warmup_iters=5,
                    amp=False)  # the bare loop runs in fp32; the app with --amp, when asked
        ratios, apps, bares = [], [], []
        for r in range(args.rounds):
            b = bare_images_per_s(args.model, project, opts, args.iters, 3, args.device)
            a = app_images_per_s(args.model, project, {**opts, "amp": bool(args.amp)}, args.iters, 3, args.device)
            apps.append(a)
            bares.append(b)
            ratios.append(a / b)
            print(f"round {r + 1}: bare {b:7.2f} images/s   app {a:7.2f} images/s   ratio {a / b:.3f}", flush=True)
        print(f"\n{args.model}, batch {args.batch}, 320 px, {args.device}, {args.iters} iterations per measure "
              f"(first 3 not timed), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"median: bare {statistics.median(bares):.2f}  app {statistics.median(apps):.2f}  "
              f"ratio app/bare {statistics.median(ratios):.3f}  (goal >= 0.9)")


def accuracy(args) -> None:
    folder = Path(args.workdir or tempfile.mkdtemp(prefix="sightline-bench-"))
    project = demo(folder, 300)
    n_train = len(Store.open(project, create=False).image_ids("train"))
    # Size the schedule to the budget: measure the speed over a few iterations first.
    opts = dict(image_size=args.image_size, batch_size=args.batch, device=args.device, workers=args.workers)
    if args.amp is not None:  # else the model family's default (on for the compact models)
        opts["amp"] = args.amp
    probe = app_images_per_s(args.model, project, opts, 12, 4, args.device)
    val_cost = 60 / max(probe * 3, 1e-6)  # inference is roughly 3x faster than a training step per image
    epochs = args.epochs or max(1, int(args.minutes * 60 * 0.97 / (n_train / probe + val_cost)))
    print(f"probe: {probe:.2f} images/s -> {epochs} epochs in {args.minutes} min "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    tuned = {k: v for k, v in (("lr", args.lr), ("warmup_iters", args.warmup)) if v}
    o = default_options(args.model, "random", **opts, **tuned, epochs=epochs, val_every=1, log_every=50, monitor="map50",
                        max_minutes=args.minutes)
    rows = []
    precision = []

    def on_event(e):
        if e["event"] == "start":
            precision.append(e.get("precision", "fp32"))
        if e["event"] == "validation":
            rows.append((e["elapsed_s"] / 60, e["epoch"], e["map50"], e["map"]))
            print(f"{e['elapsed_s'] / 60:6.1f} min  epoch {e['epoch']:3d}  mAP@0.5 {e['map50']:.3f}  "
                  f"mAP@[.5:.95] {e['map']:.3f}", flush=True)
    run_dir = folder / f"run-{int(time.time())}"
    result = train(project, o, run_dir, emit=on_event)
    print(f"\n{args.model} from scratch, {args.image_size} px, batch {args.batch}, {o.optimizer} lr {o.lr}, "
          f"{args.device} {precision[0] if precision else ''}: status {result.status}")
    print("minutes  epoch  mAP@0.5  mAP@[.5:.95]")
    for m, ep, m50, mm in rows:
        print(f"{m:7.1f}  {ep:5d}  {m50:7.3f}  {mm:12.3f}")
    best = max((r[2] for r in rows), default=0.0)
    print(f"best validation mAP@0.5 within {args.minutes} min: {best:.3f} (goal >= 0.8); "
          f"load average now {os.getloadavg()[0]:.1f}; run folder {run_dir}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=("throughput", "accuracy"))
    p.add_argument("--model", help=f"registry name (default: {THROUGHPUT_MODEL} for throughput, "
                                   f"{ACCURACY_MODEL} for accuracy)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision: fp16 on CUDA, bfloat16 on CPUs that have it (default: the family's)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--image-size", type=int, default=320)
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--lr", type=float, default=0.0, help="accuracy: learning rate (0 = the family default)")
    p.add_argument("--warmup", type=int, default=0, help="accuracy: warmup iterations (0 = the family default)")
    p.add_argument("--epochs", type=int, default=0, help="accuracy: epochs (0 = sized from a speed probe)")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--workdir", help="folder for the demo project and the run (default: a temporary one)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}", flush=True)
    args.model = args.model or (THROUGHPUT_MODEL if args.part == "throughput" else ACCURACY_MODEL)
    (throughput if args.part == "throughput" else accuracy)(args)


if __name__ == "__main__":
    main()
