"""`main.py predict --project`: one run in the project, on one process or sharded under torchrun.

Rank 0 alone opens the store. It picks the run (a new one; the one named by --resume; or the
interrupted run of the same command, which is how a rerun or torchrun's restart fills the gaps),
merges results files a killed attempt left, and sends every rank the images still missing. Each
rank predicts its share (every world_size-th image, DistributedSampler-style without padding):
rank 0 stores its batches directly, the others write results files that rank 0 merges as they
grow and once more at the end. The run records which images are done, so a killed process
leaves it incomplete with the exact images missing, never looking complete.
"""
from __future__ import annotations

from dataclasses import dataclass

from annotations.errors import SightlineError

from . import run_progress
from .prediction_store import StoredPredictions, pending_classes

COMMAND = "main.py predict"


class RunChoiceError(SightlineError):
    """--resume names a run that cannot be resumed; the message says why."""


@dataclass
class Plan:
    run_id: int
    records: list  # ImageRecord with absolute file names: the images still missing
    total: int  # images of the run
    resumed: bool
    shard_folder: str


def settings_of(args) -> dict:
    """What makes two `predict --project` commands the same command."""
    return {k: getattr(args, k, None) for k in ("model", "weights", "score", "classes", "nms", "min_size",
                                               "max_size", "split", "add_categories")}


def _resumable(store, settings: dict) -> int | None:
    for run in reversed(store.runs("predict")):
        if run.params.get("settings") == settings:
            status = run_progress.run_status(store, run.id)
            if status is not None and status.status == run_progress.INCOMPLETE:
                return run.id
    return None


def _chosen_run(store, args, predictor) -> tuple[int, bool]:
    from .predictor import new_prediction_run

    settings = settings_of(args)
    if args.resume is not None:
        run = store.run(args.resume)
        status = run_progress.run_status(store, args.resume) if run is not None else None
        if run is None or run.kind != "predict":
            raise RunChoiceError(f"{store.root} has no prediction run {args.resume}.")
        if status is None:
            raise RunChoiceError(f"Run {run.id} does not record its images, so it cannot be resumed.")
        if status.status == run_progress.RUNNING:
            raise RunChoiceError(f"Run {run.id} is still running in another process.")
        if run.model != args.model:
            raise RunChoiceError(f"Run {run.id} was made with {run.model}, not {args.model}.")
        return run.id, True
    found = _resumable(store, settings)
    if found is not None:
        return found, True
    run_id = new_prediction_run(store, predictor, split=args.split, command=COMMAND, settings=settings)
    return run_id, False


def plan_run(store, args, predictor, image_ids: list[int]) -> Plan:
    from .predict_shards import ShardMerger, shard_dir
    from .predictor import absolute_record

    run_id, resumed = _chosen_run(store, args, predictor)
    run_progress.begin_run(store, run_id, [] if resumed else image_ids)
    if resumed:  # what a killed attempt's ranks wrote but nobody merged
        ShardMerger(store, run_id, predictor.loaded.name, args.add_categories).merge()
        ShardMerger(store, run_id, predictor.loaded.name, args.add_categories).discard()
    status = run_progress.run_status(store, run_id)
    records = [absolute_record(store, r) for r in store.images(ids=status.missing_ids)]
    return Plan(run_id, records, status.total, resumed, str(shard_dir(store.root, run_id)))


def predict_share(ctx, store, plan: Plan, predictor, add_categories: bool, progress, warn) -> StoredPredictions:
    """This rank's images: rank 0 stores them (and merges the others' files), others write a file."""
    from pathlib import Path

    from .predict_shards import ShardMerger, ShardWriter

    mine = plan.records[ctx.rank::ctx.world_size]
    if ctx.is_main:
        merge = ShardMerger(store, plan.run_id, predictor.loaded.name, add_categories).merge if ctx.active else None
        return predictor.predict_store_images(store, [r.id for r in mine], plan.run_id, progress=progress,
                                              add_categories=add_categories, warn=warn, after_batch=merge)
    writer = ShardWriter(Path(plan.shard_folder), ctx.rank)
    try:
        done = 0
        for asked, kept, preds, problems in predictor.predict_records(mine):
            for text in problems.values():
                warn(text)
            writer.add(kept, preds, problems)
            done += len(asked)
            progress(done, len(mine))
    finally:
        writer.close()
    return StoredPredictions()


def finish(ctx, store, plan: Plan, predictor, add_categories: bool, outcome: StoredPredictions, peers_ok: bool):
    """Rank 0, after every rank is done (or one failed): the last merge and the run's status."""
    from .predict_shards import ShardMerger

    if ctx.active:
        merger = ShardMerger(store, plan.run_id, predictor.loaded.name, add_categories)
        outcome.add(merger.merge())
        if peers_ok:
            merger.discard()
    return run_progress.finish_run(store, plan.run_id)


def report(store, plan: Plan, status, outcome: StoredPredictions, warn) -> str:
    kept = pending_classes(store, plan.run_id)
    if kept:
        names = ", ".join(f"{n} ({k})" for n, k in kept.items())
        warn(f"kept out of the project, no category of that name: {names}; they stay in run {plan.run_id} "
             "until accepted (or predict again with --add-categories)")
    if outcome.degenerate:
        warn(f"{outcome.degenerate} predictions under one pixel on a side were not stored")
    if status.status != run_progress.COMPLETE:
        warn(f"{status.describe()}; run the same command again (or --resume {plan.run_id}) to fill them")
    where = "in resumed run" if plan.resumed else "as run"
    return (f"{plan.total} images, {len(outcome.ids)} predictions stored {where} {plan.run_id} in {store.root} "
            f"({status.status})")


def mark_interrupted(store, run_id: int) -> None:
    """After an error or Ctrl-C in this process: the run says incomplete (if the store can still be
    written; if not, it reads incomplete anyway once this process is gone)."""
    try:
        run_progress.finish_run(store, run_id)
    except Exception:  # noqa: BLE001 - the error that got us here is the one to report
        pass
