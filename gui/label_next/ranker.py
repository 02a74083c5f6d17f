"""The ranking job: engine.rank.rank_project on a run's stored predictions, run in a gui.jobs.Job.

The model passes a ranking may need (the run's model on the mirror images for "flip", backbone
embeddings for a diverse batch) load torch: they are imported here, inside the job, never when the
window opens. Progress and cancel go through the job's context.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from annotations.store import Store

log = logging.getLogger(__name__)
FLIP = "flip"  # run2 choice: the run's model on the mirror images


@dataclass
class RankRequest:
    strategy: str
    run_id: int
    run2: int | str | None = None  # a run id, FLIP, or None
    aggregate: str = "max"
    diverse: int | None = None


@dataclass
class RankResult:
    request: RankRequest
    ranking: object  # engine.rank.Ranking
    names: dict[int, str] = field(default_factory=dict)  # image id -> file name
    notes: list[str] = field(default_factory=list)  # what the job did besides scoring


def rank_job(ctx, store: Store, req: RankRequest) -> RankResult:
    """Job function: fn(ctx, store, request) -> RankResult (raises RankError, Cancelled)."""
    from engine.rank import RankOptions, get_strategy, rank_project
    from engine.rank.inputs import candidate_ids, check_run

    strategy = get_strategy(req.strategy)
    check_run(store, req.run_id)
    notes: list[str] = []
    predictor = _LazyPredictor(store, req.run_id, notes)
    cancel = lambda: ctx.cancelled  # noqa: E731

    run2 = req.run2 if strategy.needs_run2 else None
    if run2 == FLIP:
        from engine.rank.flip import find_flip_run, flip_run
        run2 = find_flip_run(store, req.run_id)
        if run2 is None:
            ids = candidate_ids(store, strategy.candidates)
            ctx.progress(0, len(ids), "Predicting the mirror images")
            run2 = flip_run(store, predictor(), req.run_id, ids, cancel=cancel, warn=notes.append,
                            progress=lambda d, t: ctx.progress(d, t, "Predicting the mirror images"))
            notes.append(f"mirror-image predictions of run {req.run_id} stored as run {run2}")
        ctx.check()

    def embed(ids):
        from engine.rank.embeddings import embed_store_images
        out = embed_store_images(store, predictor(), ids, req.run_id, cancel=cancel, warn=notes.append,
                                 progress=lambda d, t: ctx.progress(d, t, "Computing image features"))
        ctx.check()
        return out

    ctx.progress(0, 0, f"Scoring with {strategy.name}")
    ranking = rank_project(store, strategy.name, req.run_id, run2, RankOptions(aggregate=req.aggregate),
                           diverse=req.diverse, embed=embed)
    ctx.check()
    names = {im.id: im.file_name for im in store.images(ids=[s.image_id for s in ranking.images])}
    return RankResult(req, ranking, names, notes)


class _LazyPredictor:
    """The run's model, loaded (torch and all) the first time a pass needs it."""

    def __init__(self, store: Store, run_id: int, notes: list[str]):
        self.store, self.run_id, self.notes, self.predictor = store, run_id, notes, None

    def __call__(self):
        if self.predictor is None:
            from engine.rank.models import predictor_for_run
            self.predictor = predictor_for_run(self.store, self.run_id)
            self.notes.append(f"model: {self.predictor.loaded.describe()}")
        return self.predictor
