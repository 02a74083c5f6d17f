"""Labelling budget (a script, not a test). Run from the repository root:

    .venv/bin/python tests/benchmarks/bench_rank_budget.py [--images 120] [--rounds 2] [--batch 20]
        [--initial 20] [--first-epochs 30] [--epochs 10] [--first-iters N] [--round-iters N] [--lr 1e-3]
        [--image-size 160] [--diverse] [--strategies random,...] [--first-run DIR] [--out DIR]
    .venv/bin/python tests/benchmarks/bench_rank_budget.py --merge A/rank_budget.csv,B/rank_budget.csv --out DIR

The demo project's train split starts with `initial` labelled images (seeded) and the rest
unlabelled; the demo's exact labels stand in for the person. Each round: predict the unlabelled
images with the current model, rank them with the strategy, "label" the top `batch`, and train
briefly (from the previous round's checkpoint, `epochs` epochs, or more to make at least
`round-iters` optimizer steps; --scratch trains from random weights as the first model was).
Strategies: random (seeded), uncertainty, margin, entropy and disagreement (the model on each
image and its mirror image); all start from the same labelled set
and the same first model, with the same seeds and budget. Prints validation mAP and mAP@0.5 against
labelled images, writes rank_budget.csv, rank_budget.png and rank_budget_map50.png, and for each strategy the share of random's
final labels at which it first reaches random's final mAP (goal, issue 15: <= 70% for the best).
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import tempfile
from pathlib import Path

from bench_rank_common import (MODEL, PREDICT_SCORE, demo, epochs_for, line_plot, log, predict_run, train_model,
                               write_csv)

from annotations.model import LABEL
from annotations.store import Store, copy_annotation

STRATEGIES = ("random", "uncertainty", "margin", "entropy", "disagreement")


def reach(curve: list[tuple[int, float]], target: float) -> float | None:
    """The first labelled count (interpolated) at which the curve reaches target."""
    for (n0, m0), (n1, m1) in zip(curve, curve[1:]):
        if m0 >= target:
            return float(n0)
        if m1 >= target:
            return n0 + (target - m0) / (m1 - m0) * (n1 - n0)
    return float(curve[0][0]) if curve and curve[0][1] >= target else None


def summarise(metric: str, curves: dict[str, list[tuple[int, float]]]) -> None:
    print(f"\nvalidation {metric}")
    print(f"{'strategy':<14}" + "".join(f"{n:>9}" for n, _ in next(iter(curves.values()))) + "   (labelled images)")
    for s, curve in curves.items():
        print(f"{s:<14}" + "".join(f"{m:9.4f}" for _, m in curve))
    if "random" in curves:
        final_n, final_m = curves["random"][-1]
        print(f"random's final {metric} {final_m:.4f} with {final_n} labelled images; labels each strategy needs "
              "to reach it:")
        for s, curve in curves.items():
            n = reach(curve, final_m)
            text = f"{n:6.1f} images = {n / final_n:.0%} of random's" if n is not None else "not reached"
            print(f"  {s:<14} {text}")


def choose(store: Store, strategy: str, ckpt: str, pool: list[int], batch: int, rng: random.Random,
           diverse: bool) -> list[int]:
    if strategy == "random":
        return rng.sample(pool, min(batch, len(pool)))
    from engine.rank import rank_project
    run_id = predict_run(store, ckpt, pool, embeddings=diverse)
    run2 = None
    if strategy == "disagreement":
        from engine.predictor import Predictor
        from engine.rank.flip import flip_run
        from engine.weights import load_model
        predictor = Predictor(load_model(None, ckpt, "cpu"), score_threshold=PREDICT_SCORE, batch_size=8)
        run2 = flip_run(store, predictor, run_id, pool)
    ranking = rank_project(store, strategy, run_id, run2, image_ids=pool, diverse=batch if diverse else None)
    return [s.image_id for s in ranking.images[:batch]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--initial", type=int, default=20)
    ap.add_argument("--first-epochs", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--first-iters", type=int, default=0,
                    help="at least this many optimizer steps for the first model (more epochs on a small set)")
    ap.add_argument("--round-iters", type=int, default=0, help="at least this many steps in each round's training")
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW's peak rate (cosine schedule after warmup)")
    ap.add_argument("--first-run", default=None,
                    help="training folder of an earlier run's first model (OUT/train_initial) with the same --images, "
                         "--initial and --seed: used instead of training it again (strategies can run in parallel)")
    ap.add_argument("--image-size", type=int, default=160)
    ap.add_argument("--scratch", action="store_true", help="train every round from random weights")
    ap.add_argument("--diverse", action="store_true", help="pick each batch with the near-duplicate penalty")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="folder for the CSV and PNG (default: a temporary one)")
    ap.add_argument("--merge", default=None, metavar="A.csv,B.csv",
                    help="no training: one report (tables, CSV, plots in --out) from runs made in parallel")
    args = ap.parse_args()
    if args.merge:
        out = Path(args.out or ".")
        out.mkdir(parents=True, exist_ok=True)
        merge(args.merge.split(","), out, f"{MODEL}, demo {args.images} images, batch {args.batch}")
        return
    import torch
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench_rank_budget_"))
    out = Path(args.out) if args.out else work
    out.mkdir(parents=True, exist_ok=True)

    initial = work / "initial"
    shutil.copytree(demo(work, args.images, args.seed), initial)
    store = Store.open(initial, create=False)
    train_ids = store.image_ids("train")
    oracle = {i: [] for i in train_ids}
    for a in store.annotations(status=LABEL, image_ids=train_ids):
        oracle[a.image_id].append(a)
    labelled0 = sorted(random.Random(args.seed).sample(train_ids, args.initial))
    store.delete_annotations([a.id for i in train_ids if i not in set(labelled0) for a in oracle[i]])
    store.close()
    log(f"{args.images} images: {len(train_ids)} train ({args.initial} labelled), {args.images - len(train_ids)} val; "
        f"{args.rounds} rounds of {args.batch}; {MODEL} at {args.image_size}px")
    first_epochs = epochs_for(args.initial, args.first_iters, least=args.first_epochs)
    if args.first_run:  # an earlier run's first model (same --images, --initial, --seed): shared, not retrained
        ckpt0 = str(Path(args.first_run) / "last.pt")
        val0 = json.loads((Path(args.first_run) / "run.json").read_text())["history"][-1]
        first_epochs = val0["epoch"]
    else:
        ckpt0, val0 = train_model(initial, work / "train_initial", first_epochs, args.image_size, args.seed, lr=args.lr)
        shutil.copytree(work / "train_initial", out / "train_initial", dirs_exist_ok=True)
    map0, map50_0 = val0["map"], val0["map50"]
    log(f"first model ({first_epochs} epochs): validation mAP {map0:.4f}, mAP@0.5 {map50_0:.4f} "
        f"with {args.initial} labelled images")

    curves: dict[str, list[tuple[int, float]]] = {}
    curves50: dict[str, list[tuple[int, float]]] = {}
    for strategy in [s.strip() for s in args.strategies.split(",") if s.strip()]:
        folder = work / strategy
        shutil.copytree(initial, folder)
        store = Store.open(folder, create=False)
        rng = random.Random(args.seed + 1)
        labelled, ckpt, curve, curve50 = set(labelled0), ckpt0, [(args.initial, map0)], [(args.initial, map50_0)]
        for r in range(args.rounds):
            pool = [i for i in train_ids if i not in labelled]
            picked = choose(store, strategy, ckpt, pool, args.batch, rng, args.diverse)
            store.add_annotations([copy_annotation(a, id=None) for i in picked for a in oracle[i]])
            labelled |= set(picked)
            if args.scratch:
                source, epochs = "random", epochs_for(len(labelled), args.first_iters, least=args.first_epochs)
            else:
                source, epochs = ckpt, epochs_for(len(labelled), args.round_iters, least=args.epochs)
            steps = epochs * -(-len(labelled) // 8)  # a tenth of the round warms the fresh optimizer up
            ckpt, val = train_model(store, work / f"train_{strategy}_{r}", epochs, args.image_size, args.seed,
                                    source=source, lr=args.lr, warmup_iters=min(100, max(1, steps // 10)))
            m = val["map"]
            curve.append((len(labelled), m))
            curve50.append((len(labelled), val["map50"]))
            n_objects = sum(len(oracle[i]) for i in picked)
            log(f"{strategy}: round {r + 1}: +{len(picked)} images ({n_objects} objects) -> {len(labelled)} labelled, "
                f"{epochs} epochs, validation mAP {m:.4f}, mAP@0.5 {val['map50']:.4f}")
        curves[strategy], curves50[strategy] = curve, curve50
        store.close()

    report(curves, curves50, out, f"{MODEL}, demo {args.images} images, batch {args.batch}")


def report(curves: dict, curves50: dict, out: Path, title: str) -> None:
    """Tables, reach against random, rank_budget.csv and the two plots."""
    for metric, cs in (("mAP", curves), ("mAP@0.5", curves50)):
        summarise(metric, cs)
    rows = [[s, n, m, m50] for s in curves for (n, m), (_, m50) in zip(curves[s], curves50[s])]
    write_csv(out / "rank_budget.csv", ["strategy", "labelled_images", "val_map", "val_map50"], rows)
    line_plot(out / "rank_budget.png", {s: [(float(n), m) for n, m in c] for s, c in curves.items()},
              "labelled images", "validation mAP", title)
    line_plot(out / "rank_budget_map50.png", {s: [(float(n), m) for n, m in c] for s, c in curves50.items()},
              "labelled images", "validation mAP@0.5", title)
    log(f"CSV and plots: {out / 'rank_budget.csv'}, {out / 'rank_budget.png'}, {out / 'rank_budget_map50.png'}")


def merge(csv_files: list[str], out: Path, title: str) -> None:
    """One report from the rank_budget.csv files of runs made in parallel (--first-run)."""
    curves: dict[str, list] = {}
    curves50: dict[str, list] = {}
    for name in csv_files:
        with open(name, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                n = int(row["labelled_images"])
                curves.setdefault(row["strategy"], []).append((n, float(row["val_map"])))
                curves50.setdefault(row["strategy"], []).append((n, float(row["val_map50"])))
    order = sorted(curves, key=lambda s: STRATEGIES.index(s) if s in STRATEGIES else len(STRATEGIES))
    report({s: curves[s] for s in order}, {s: curves50[s] for s in order}, out, title)


if __name__ == "__main__":
    main()
