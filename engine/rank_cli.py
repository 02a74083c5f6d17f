"""`main.py rank`: rank a project's images from a run's stored predictions.

  main.py rank --project P --run R --strategy uncertainty|margin|entropy|disagreement|mistakenness
               [--run2 R2|flip] [--diverse N] [--json OUT] [--aggregate max|mean] [--split S]

uncertainty, margin and entropy rank the unlabelled images (what to label next); disagreement
compares run R with run R2 on them (--run2 flip: run R's model on the mirror images, stored as a
new run); mistakenness ranks the labelled images by how probably their labels are wrong. The scores
are stored in the project. --diverse N keeps N images chosen by score with a penalty for
near-duplicates in the run model's feature space (computed with the run's model when not stored).
--json writes a list, best first: image_id, file_name, score, why, objects (annotation_id, null
where a label is missing; prediction_id; kind; score).
"""
from __future__ import annotations

import json
import sys

from annotations.cli_numbers import number
from annotations.ranges import BIG
from annotations.cli_pixels import add_max_pixels_argument, apply_max_pixels

EXIT_BAD_INPUT = 2


def add_arguments(p, name):
    from .rank.base import AGGREGATES
    from .rank.strategies import strategy_names

    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--run", type=number(int, 1, BIG), required=True, help="id of the model run whose predictions are scored")
    p.add_argument("--strategy", required=True, choices=strategy_names())
    p.add_argument("--run2", default=None, help="disagreement: the second run's id, or 'flip'")
    p.add_argument("--diverse", type=number(int, 1, 10_000_000), default=None, metavar="N",
                   help="pick N images, near-duplicates penalised")
    p.add_argument("--json", default=None, metavar="OUT", help="write the ranking as JSON to OUT")
    p.add_argument("--aggregate", default="max", choices=AGGREGATES, help="image score from object scores")
    p.add_argument("--split", default=None, help="only images of this split (train, val, test)")
    p.add_argument("--threshold", type=number(float, 0, 1), default=0.5, help="decision threshold for 'near the threshold'")
    p.add_argument("--missing-confidence", type=number(float, 0, 1), default=None,
                   help="mistakenness: a prediction above this is confident (a possibly missing label, or a "
                        "possibly wrong class); default: the run's median confidence where it is right, at most 0.5")
    p.add_argument("--neighbours", type=number(int, 1, 1000), default=10, help="--diverse: nearest neighbours per image")
    p.add_argument("--weights", default=None,
                   help="checkpoint of the run's model, for --run2 flip and --diverse (default: the run's own)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda, for --run2 flip and --diverse")
    p.add_argument("--batch-size", type=number(int, 1, 4096), default=4)
    p.add_argument("--top", type=number(int, 0, BIG), default=20, help="rows to print")
    add_max_pixels_argument(p)


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args) -> int:
    from annotations.errors import SightlineError
    from annotations.store import Store

    from .rank.request import FLIP

    apply_max_pixels(args)
    try:
        if args.diverse is not None and args.diverse < 1:
            return _error(f"--diverse must be at least 1, not {args.diverse}")
        run2 = args.run2
        if run2 is not None and run2 != FLIP:
            try:
                run2 = int(run2)
            except ValueError:
                return _error(f"--run2 must be a run id or 'flip', not {args.run2!r}")
        store = Store.open(args.project, create=False)
        try:
            return _rank(store, args, run2)
        finally:
            store.close()
    except (SightlineError, OSError, ValueError) as e:
        return _error(str(e))


class _StageBars:
    """progress(stage, done, total) as one terminal bar per stage."""

    def __init__(self):
        self.stage, self.bar = None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from annotations.progress import TerminalProgress
        if stage != self.stage:
            self.close()
            self.stage, self.bar = stage, TerminalProgress(stage).__enter__()
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        self.stage, self.bar = None, None


def _rank(store, args, run2) -> int:
    from annotations.imageio import atomic_write_text

    from .rank import RankOptions, RankRequest, run_ranking, to_json
    from .rank.report import table

    opts = RankOptions(aggregate=args.aggregate, threshold=args.threshold, missing_confidence=args.missing_confidence)
    req = RankRequest(args.strategy, args.run, run2, opts, args.split, args.diverse, args.neighbours, args.weights,
                      args.device, args.batch_size)
    bars = _StageBars()
    try:
        ranking = run_ranking(store, req, progress=bars, note=lambda text: print(text, file=sys.stderr), warn=_warn)
    finally:
        bars.close()
    entries = to_json(store, ranking)
    print(table(entries, max(0, args.top)))
    text = f"{ranking.pool} images scored with {ranking.strategy}; scores stored as set {ranking.set_id}"
    if args.json:
        atomic_write_text(args.json, json.dumps(entries, indent=1))
        text += f"; JSON written to {args.json}"
    print(text)
    return 0


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)
