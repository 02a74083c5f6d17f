"""Label-error finding (a script, not a test). Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_rank_label_errors.py [--images 120] [--epochs 20]
        [--image-size 224] [--lr 1e-3] [--noise 0.12] [--folds 2] [--holdout] [--val-every N]
        [--missing-confidence run,0.95,0.5] [--checkpoints A.pt,B.pt] [--restart-epochs N] [--seed 0]
        [--out DIR]

The demo project (exact labels) gets seeded label noise on its train split: a stated share of the
labels, in equal parts moved (shifted by 25-45% of their size), relabelled (another class),
deleted, and duplicated (a copy 0-2 px off). The compact model (fcos_compact_fpn) is trained on
the noisy labels -- with --folds 2 on one half of the train images and scored on the other, then
the other way round, so no image is scored by a model that learnt its own errors; --holdout trains
only the second of those models and scores only its half -- and the
mistakenness ranking of every object (labels, and predictions with no label) is compared with the
injected errors: precision and recall in the top 5..50% of objects, against a random order of the
same objects (mean of 200 shuffles). --restart-epochs N trains each model N epochs more from where it
ended (or from --checkpoints), its schedule started again (warmup, then cosine: a warm restart).
An error counts as found when one of its objects is in the
cut: the moved, relabelled or duplicated label (either copy), or a "missing" object whose
prediction overlaps (IoU >= 0.5) a deleted label's or a moved label's true box. Goal (issue 15): at
least 80% of the errors in the top 15% of objects. The figures for it (about 50 minutes per seed on
two cores; the first 150 epochs can be reused with --checkpoints):

    .venv/bin/python tests/benchmarks/bench_rank_label_errors.py --images 300 --holdout --epochs 150
        --image-size 256 --restart-epochs 100 --missing-confidence run --seed 0    (and 1, 2)
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

from bench_rank_common import demo, log, predict_run, train_model, write_csv

import numpy as np

from annotations import geometry
from annotations.model import LABEL
from annotations.store import Store, copy_annotation
from engine.rank import RankOptions, rank_project

KINDS = ("moved", "relabelled", "deleted", "duplicated")
CUTS = (0.05, 0.10, 0.15, 0.20, 0.30, 0.50)


def _shift(a, dx: float, dy: float, w: int, h: int):
    x, y, bw, bh = a.bbox
    dx = min(max(dx, -x), w - x - bw)  # stay inside the image
    dy = min(max(dy, -y), h - y - bh)
    polys = [[v + (dx if k % 2 == 0 else dy) for k, v in enumerate(p)] for p in a.polygons] if a.polygons else None
    return copy_annotation(a, bbox=(x + dx, y + dy, bw, bh), polygons=polys)


def inject_noise(store: Store, share: float, seed: int) -> list[dict]:
    """Corrupt `share` of the train labels, in equal parts of KINDS; returns the errors."""
    rng = random.Random(seed)
    sizes = {im.id: (im.width, im.height) for im in store.images()}
    labels = store.annotations(status=LABEL, image_ids=store.image_ids("train"))
    chosen = rng.sample(labels, int(round(share * len(labels))))
    cats = [c.id for c in store.categories()]
    errors = []
    with store.transaction():
        for n, a in enumerate(chosen):
            kind = KINDS[n % len(KINDS)]
            w, h = sizes[a.image_id]
            truth = tuple(a.bbox)
            if kind == "moved":
                f = rng.uniform(0.25, 0.45)
                ang = rng.uniform(0, 2 * np.pi)
                store.update_annotation(_shift(a, f * a.bbox[2] * np.cos(ang), f * a.bbox[3] * np.sin(ang), w, h))
                errors.append({"kind": kind, "ids": {a.id}, "truth": truth, "image_id": a.image_id})
            elif kind == "relabelled":
                other = rng.choice([c for c in cats if c != a.category_id])
                store.update_annotation(copy_annotation(a, category_id=other))
                errors.append({"kind": kind, "ids": {a.id}, "truth": truth, "image_id": a.image_id})
            elif kind == "deleted":
                store.delete_annotations([a.id])
                errors.append({"kind": kind, "ids": set(), "truth": truth, "image_id": a.image_id})
            else:
                dup = _shift(copy_annotation(a, id=None), rng.uniform(-2, 2), rng.uniform(-2, 2), w, h)
                errors.append({"kind": kind, "ids": {a.id, store.add_annotation(dup)}, "truth": truth,
                               "image_id": a.image_id})
    return errors


def error_of(obj, boxes: dict, errors: list[dict], by_ann: dict) -> int | None:
    """Index of the injected error an object points at, if any."""
    if obj.annotation_id is not None:
        return by_ann.get(obj.annotation_id)
    if obj.kind == "missing" and obj.prediction_id in boxes:
        for k, e in enumerate(errors):
            if e["image_id"] == obj.image_id and e["kind"] in ("deleted", "moved"):
                if geometry.iou_boxes([boxes[obj.prediction_id]], [e["truth"]])[0, 0] >= 0.5:
                    return k
    return None


def evaluate(objects: list, errors: list[dict], boxes: dict, seed: int) -> list[dict]:
    by_ann = {i: k for k, e in enumerate(errors) for i in e["ids"]}
    hits = [error_of(o, boxes, errors, by_ann) for o in objects]
    n = len(objects)
    rng = np.random.default_rng(seed)
    rows = []
    for cut in CUTS:
        k = max(1, int(round(cut * n)))

        def measure(order):
            top = [hits[i] for i in order[:k]]
            found = {h for h in top if h is not None}
            return sum(h is not None for h in top) / k, len(found) / max(1, len(errors)), found

        p, r, found = measure(list(range(n)))
        rand = [measure(rng.permutation(n))[:2] for _ in range(200)]
        per_kind = {kind: sum(1 for i in found if errors[i]["kind"] == kind) for kind in KINDS}
        rows.append({"cut": cut, "k": k, "precision": p, "recall": r, "per_kind": per_kind,
                     "random_precision": float(np.mean([x[0] for x in rand])),
                     "random_recall": float(np.mean([x[1] for x in rand]))})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--noise", type=float, default=0.12, help="share of train labels corrupted")
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW's peak rate (cosine schedule after warmup)")
    ap.add_argument("--val-every", type=int, default=0, help="also validate every N epochs (0: only at the end)")
    ap.add_argument("--folds", type=int, default=2, choices=(1, 2))
    ap.add_argument("--holdout", action="store_true",
                    help="with --folds 2: train only the model of the second fold and score only its half")
    ap.add_argument("--missing-confidence", default="run,0.95,0.5",
                    help="comma-separated: the rankings compared (a prediction above it is confident: 'missing' "
                         "without a label, 'wrong_class' over another class's label); run: the default, "
                         "relative to the run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoints", default=None,
                    help="comma-separated checkpoints, one per fold, from an earlier run with the same --images, "
                         "--noise, --folds and --seed: no training")
    ap.add_argument("--restart-epochs", type=int, default=0,
                    help="then train each model this many epochs more from its checkpoint, the schedule restarted")
    ap.add_argument("--out", default=None, help="folder for the CSV (default: a temporary one)")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench_rank_errors_"))
    out = Path(args.out) if args.out else work
    out.mkdir(parents=True, exist_ok=True)
    project = work / "project"
    shutil.copytree(demo(work, args.images, args.seed), project)
    store = Store.open(project, create=False)
    errors = inject_noise(store, args.noise, args.seed)
    n_labels = len(store.annotations(status=LABEL, image_ids=store.image_ids("train")))
    counts = ", ".join(f"{sum(e['kind'] == k for e in errors)} {k}" for k in KINDS)
    log(f"{len(errors)} injected errors ({counts}) among {n_labels} train labels of {args.images} images")
    train_ids = store.image_ids("train")
    rng = random.Random(args.seed)
    shuffled = rng.sample(train_ids, len(train_ids))
    halves = [sorted(shuffled[::2]), sorted(shuffled[1::2])] if args.folds == 2 else [train_ids]
    if args.holdout:  # one model, trained on one half, scores the other: half the training of --folds 2
        halves = halves[1:] if args.folds == 2 else halves
        scored = set(halves[0])
        errors = [e for e in errors if e["image_id"] in scored]
        log(f"--holdout: scoring {len(scored)} images holding {len(errors)} of the errors")
    runs = []
    for f, half in enumerate(halves):
        fit_on = [i for i in train_ids if i not in set(half)] if args.folds == 2 else train_ids
        if args.checkpoints:
            ckpt, trained = args.checkpoints.split(",")[f], "reused checkpoint"
        else:
            log(f"fold {f + 1}/{len(halves)}: training on {len(fit_on)} images, {args.epochs} epochs, "
                f"size {args.image_size}")
            ckpt, val = train_model(store, work / f"train{f}", args.epochs, args.image_size, args.seed, fit_on,
                                    lr=args.lr, val_every=args.val_every)
            shutil.copy(ckpt, out / f"fold{f}.pt")
            trained = f"validation mAP {val['map']:.3f}, mAP@0.5 {val['map50']:.3f} (val split, clean labels)"
        if args.restart_epochs:
            log(f"fold {f + 1}/{len(halves)}: {args.restart_epochs} epochs more from {ckpt}, the schedule restarted")
            ckpt, val = train_model(store, work / f"restart{f}", args.restart_epochs, args.image_size, args.seed,
                                    fit_on, source=str(ckpt), lr=args.lr, val_every=args.val_every)
            shutil.copy(ckpt, out / f"fold{f}_restarted.pt")
            trained += (f"; {args.restart_epochs} epochs more: validation mAP {val['map']:.3f}, "
                        f"mAP@0.5 {val['map50']:.3f}")
        run_id = predict_run(store, ckpt, half, embeddings=False)
        log(f"fold {f + 1}: {trained}; predicted {len(half)} images as run {run_id}")
        runs.append((run_id, half))
    boxes = {a.id: a.bbox for r, _ in runs for a in store.annotations(run_id=r)}
    csv_rows = []
    confs = [None if c == "run" else float(c) for c in args.missing_confidence.split(",")]
    for missing_conf in confs:
        opts = RankOptions(missing_confidence=missing_conf)
        objects = []
        for run_id, half in runs:
            objects += [o for s in rank_project(store, "mistakenness", run_id, options=opts, image_ids=half,
                                                save=missing_conf == confs[0]).images for o in s.objects]
        objects.sort(key=lambda o: -o.score)
        kinds = {k: sum(o.kind == k for o in objects) for k in ("missing", "spurious", "wrong_class", "loose_box",
                                                                "supported")}
        name = "run (default)" if missing_conf is None else missing_conf
        print(f"\nmissing_confidence {name}: {len(objects)} objects ranked ({kinds})")
        print(f"{'top':>5} {'k':>5} {'precision':>9} {'random':>7} {'ratio':>6} {'recall':>7} {'random':>7} "
              f"{'ratio':>6}  found by kind")
        for r in evaluate(objects, errors, boxes, args.seed):
            pr = r["precision"] / r["random_precision"] if r["random_precision"] else float("nan")
            rr = r["recall"] / r["random_recall"] if r["random_recall"] else float("nan")
            print(f"{r['cut']:5.0%} {r['k']:5d} {r['precision']:9.3f} {r['random_precision']:7.3f} {pr:6.2f} "
                  f"{r['recall']:7.3f} {r['random_recall']:7.3f} {rr:6.2f}  {r['per_kind']}")
            csv_rows.append(["run" if missing_conf is None else missing_conf, r["cut"], r["k"], r["precision"],
                             r["random_precision"], r["recall"], r["random_recall"],
                             *[r["per_kind"][k] for k in KINDS]])
    total = {k: sum(e["kind"] == k for e in errors) for k in KINDS}
    print(f"\nerrors per kind: {total}")
    write_csv(out / "rank_label_errors.csv", ["missing_confidence", "cut", "k", "precision", "random_precision",
                                              "recall", "random_recall", *[f"found_{k}" for k in KINDS]], csv_rows)
    log(f"CSV: {out / 'rank_label_errors.csv'}")
    store.close()


if __name__ == "__main__":
    main()
