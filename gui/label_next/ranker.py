"""The ranking job: engine.rank.run_ranking (the CLI's own function) run in a gui.jobs.Job.

The model passes a ranking may need (the run's model on the mirror images for "flip", backbone
embeddings for a diverse batch) load torch inside the job, never when the window opens (engine.rank
imports torch only in the modules that run a model). Progress and cancel go through the job's context.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from annotations.store import Store
from engine.rank import RankRequest, run_ranking


@dataclass
class RankResult:
    request: RankRequest
    ranking: object  # engine.rank.Ranking
    names: dict[int, str] = field(default_factory=dict)  # image id -> file name
    notes: list[str] = field(default_factory=list)  # what the job did besides scoring


def rank_job(ctx, store: Store, req: RankRequest) -> RankResult:
    """Job function: fn(ctx, store, request) -> RankResult (raises RankError, Cancelled)."""
    notes: list[str] = []
    ctx.progress(0, 0, f"Scoring with {req.strategy}")
    ranking = run_ranking(store, req, progress=lambda stage, done, total: ctx.progress(done, total, stage),
                          cancel=ctx.token, note=notes.append, warn=notes.append)
    names = {im.id: im.file_name for im in store.images(ids=[s.image_id for s in ranking.images])}
    return RankResult(req, ranking, names, notes)
