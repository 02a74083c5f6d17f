"""Shared steps of the ranking benchmarks (bench_rank_label_errors.py, bench_rank_budget.py): the
demo project, a brief training of the compact model, a prediction run with image embeddings, and
a CSV + PNG line plot drawn with OpenCV (matplotlib is not a dependency)."""
from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from annotations.demo import generate_demo  # noqa: E402
from annotations.store import Store  # noqa: E402

MODEL = "fcos_compact_fpn"
PREDICT_SCORE = 0.05  # low, so the ranking sees the uncertain detections too


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def demo(folder: Path, n: int, seed: int) -> Path:
    path = folder / f"demo{n}_s{seed}"
    if not Store.exists(path):
        generate_demo(path, n_images=n, seed=seed).close()
    return path


def epochs_for(n_images: int, iterations: int, batch_size: int = 8, least: int = 1) -> int:
    """Epochs that give at least `iterations` optimizer steps on n_images (a small labelled set
    otherwise gets a handful of steps and learns nothing)."""
    per_epoch = max(1, -(-n_images // batch_size))
    return max(least, -(-iterations // per_epoch))


def train_model(project, out_dir: Path, epochs: int, image_size: int, seed: int, train_ids=None,
                source: str = "random", batch_size: int = 8, lr: float = 1e-3,
                val_every: int = 0, warmup_iters: int | None = None) -> tuple[str, dict]:
    """Train the compact model on the labelled images among train_ids (default: the train split)
    with AdamW and a cosine schedule after a linear warmup; returns (checkpoint, the last
    validation's metrics: map, map50, ...). With val_every, earlier validations are logged too.
    warmup_iters defaults to min(100, 5 * epochs)."""
    from engine.training import default_options, train
    warmup = min(100, 5 * epochs) if warmup_iters is None else warmup_iters
    o = default_options(MODEL, "random", epochs=epochs, image_size=image_size, seed=seed, device="cpu",
                        batch_size=batch_size, log_every=10_000, warmup_iters=warmup)
    o.source, o.optimizer, o.lr, o.freeze_backbone_epochs = source, "adamw", lr, 0
    o.val_every = val_every or epochs  # at least one validation, at the end: the figure reported
    if train_ids is not None:
        o.train_image_ids = list(train_ids)
    result = train(project, o, out_dir)
    for h in result.history[:-1]:
        log(f"  epoch {h['epoch']}: validation mAP {h['map']:.3f}, mAP@0.5 {h['map50']:.3f}")
    last = dict(result.history[-1]) if result.history else {"map": float("nan"), "map50": float("nan")}
    return result.last_checkpoint, last


def predict_run(store: Store, checkpoint: str, image_ids, embeddings: bool = True) -> int:
    """A prediction run of the checkpoint on image_ids (score >= PREDICT_SCORE), with image
    embeddings stored from the same pass; returns the run id."""
    from engine.predictor import Predictor, new_prediction_run
    from engine.rank.embeddings import embed_store_images
    from engine.weights import load_model
    predictor = Predictor(load_model(None, checkpoint, "cpu"), score_threshold=PREDICT_SCORE, batch_size=8)
    run_id = new_prediction_run(store, predictor, command="benchmark")
    if embeddings:
        embed_store_images(store, predictor, image_ids, run_id, store_as_predictions=True)
    else:
        predictor.predict_store_images(store, image_ids, run_id, batch_size=8)
    return run_id


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


_COLOURS = [(0, 0, 0), (200, 60, 30), (40, 140, 40), (30, 80, 210), (0, 150, 200), (160, 40, 160), (120, 120, 0)]


def line_plot(path: Path, series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str,
              title: str, size: tuple[int, int] = (900, 600)) -> None:
    """Lines with markers, axes with ticks, a legend: a PNG drawn with OpenCV."""
    import cv2
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 80, 200, 50, 60
    xs = [x for pts in series.values() for x, _ in pts] or [0, 1]
    ys = [y for pts in series.values() for _, y in pts if np.isfinite(y)] or [0, 1]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = 0.0, max(max(ys) * 1.1, 1e-3)

    def px(x, y):
        return (int(left + (x - x0) / (x1 - x0) * (w - left - right)),
                int(h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)))

    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(img, px(x0, y0), px(x1, y1), (0, 0, 0), 1)
    for t in np.linspace(y0, y1, 6):
        p = px(x0, t)
        cv2.line(img, p, (p[0] - 5, p[1]), (0, 0, 0), 1)
        cv2.putText(img, f"{t:.3g}", (p[0] - 70, p[1] + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for t in sorted(set(xs)):
        p = px(t, y0)
        cv2.line(img, p, (p[0], p[1] + 5), (0, 0, 0), 1)
        cv2.putText(img, f"{t:g}", (p[0] - 10, p[1] + 22), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, title, (left + 150, 25), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, x_label, (w // 2 - 80, h - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, y_label, (5, top - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for n, (name, pts) in enumerate(series.items()):
        colour = _COLOURS[n % len(_COLOURS)]
        good = [px(x, y) for x, y in pts if np.isfinite(y)]
        for a, b in zip(good, good[1:]):
            cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        for p in good:
            cv2.circle(img, p, 4, colour, -1, cv2.LINE_AA)
        ly = top + 20 + 25 * n
        cv2.line(img, (w - right + 15, ly - 5), (w - right + 45, ly - 5), colour, 2)
        cv2.putText(img, name, (w - right + 52, ly), font, 0.5, colour, 1, cv2.LINE_AA)
    cv2.imwrite(str(path), img[:, :, ::-1])
