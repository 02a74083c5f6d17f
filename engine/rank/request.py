"""A ranking as a person asks for it (`main.py rank` or the window's Label next dock): the request,
and the one function that makes the model passes it needs, then ranks.

The model passes load the run's model (torch) only when one is needed: the run's model on the mirror
images for run2 = FLIP (stored as a run of its own, found again the next time), and backbone
embeddings for a diverse batch when the run has none stored. What the caller shows goes through
callbacks: progress(stage, done, total), note(text) for what was done besides scoring, warn(text) for
images that could not be read; cancel (a CancelToken) is polled between batches (Cancelled is raised
after a pass it stopped).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from annotations.errors import CancelToken
from annotations.store import Store

from .base import RankOptions
from .inputs import candidate_ids, check_run
from .ranking import Ranking, rank_project
from .strategies import get_strategy

log = logging.getLogger(__name__)
FLIP = "flip"  # run2: the run's model on the mirror images
FLIP_STAGE, EMBED_STAGE = "Predicting the mirror images", "Computing image features"

Progress = Callable[[str, int, int], object]


@dataclass
class RankRequest:
    strategy: str
    run_id: int
    run2: int | str | None = None  # a run id, FLIP, or None
    options: RankOptions = field(default_factory=RankOptions)
    split: str | None = None
    diverse: int | None = None  # pick this many, near-duplicates penalised
    neighbours: int = 10  # nearest neighbours per image for the diversity penalty
    weights: str | None = None  # checkpoint of the run's model (default: what the run recorded)
    device: str = "auto"
    batch_size: int = 4


class _LazyPredictor:
    """The run's model, loaded (torch and all) the first time a pass needs it."""

    def __init__(self, store: Store, req: RankRequest, note: Callable[[str], None]):
        self.store, self.req, self.note, self.predictor = store, req, note, None

    def __call__(self):
        if self.predictor is None:
            from .models import predictor_for_run
            r = self.req
            self.predictor = predictor_for_run(self.store, r.run_id, r.weights, r.device, r.batch_size)
            self.note(f"model: {self.predictor.loaded.describe()}")
        return self.predictor


def run_ranking(store: Store, req: RankRequest, progress: Progress | None = None,
                cancel: CancelToken | None = None, note: Callable[[str], None] | None = None,
                warn: Callable[[str], None] | None = None) -> Ranking:
    """Rank as requested, with the model passes it needs; raises RankError (readable), Cancelled."""
    progress = progress or (lambda _stage, _done, _total: None)
    note = note or (lambda _text: None)
    stopped = cancel or CancelToken()
    strategy = get_strategy(req.strategy)
    check_run(store, req.run_id)
    predictor = _LazyPredictor(store, req, note)

    def check() -> None:
        stopped.check("ranking cancelled")

    run2 = req.run2
    if run2 is not None and not strategy.needs_run2:
        (warn or log.warning)(f"the second run is not used by {strategy.name!r}")
        run2 = None
    if run2 == FLIP:
        from .flip import find_flip_run, flip_run
        run2 = find_flip_run(store, req.run_id)
        if run2 is None:
            ids = candidate_ids(store, strategy.candidates, req.split)
            progress(FLIP_STAGE, 0, len(ids))
            run2 = flip_run(store, predictor(), req.run_id, ids, cancel=stopped, warn=warn,
                            progress=lambda d, t: progress(FLIP_STAGE, d, t))
            check()
            note(f"mirror-image predictions of run {req.run_id} stored as run {run2}")
        else:
            note(f"using run {run2}, the mirror-image predictions of run {req.run_id}")

    def embed(ids: list[int]):
        from .embeddings import embed_store_images
        out = embed_store_images(store, predictor(), ids, req.run_id, cancel=stopped, warn=warn,
                                 progress=lambda d, t: progress(EMBED_STAGE, d, t))
        check()
        return out

    ranking = rank_project(store, strategy.name, req.run_id, run2, req.options, split=req.split,
                           diverse=req.diverse, k=req.neighbours, embed=embed)
    check()
    return ranking
