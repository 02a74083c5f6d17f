"""Ranking a project's images with a strategy: score, store, and optionally pick a diverse batch."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from annotations.scores import ImageScore, load_embeddings, save_scores
from annotations.store import Store

from .base import RankError, RankOptions
from .diversity import diverse_order
from .inputs import read_input
from .strategies import get_strategy

Embed = Callable[[list[int]], dict[int, np.ndarray]]


@dataclass
class Ranking:
    strategy: str
    run_id: int
    run2_id: int | None
    options: RankOptions
    images: list[ImageScore]  # best first; with `diverse`, the picked batch in the order picked
    set_id: int | None = None  # the stored score set
    diverse: int | None = None
    pool: int = 0  # how many images were scored
    params: dict = field(default_factory=dict)


def rank_project(store: Store, strategy: str, run_id: int, run2_id: int | None = None,
                 options: RankOptions | None = None, split: str | None = None,
                 image_ids: Iterable[int] | None = None, diverse: int | None = None, k: int = 10,
                 embed: Embed | None = None, save: bool = True) -> Ranking:
    """Score the strategy's candidate images from the stored predictions of run_id (and run2_id).

    Scores are stored (per image and per object, replacing the strategy's earlier ones for these
    runs) unless save=False. diverse=N keeps the N images chosen by score with a penalty for
    near-duplicates in run_id's embedding space (stored embeddings; `embed(image_ids)` computes
    missing ones). Raises RankError with a readable message.
    """
    opts = options or RankOptions()
    opts.check()
    strat = get_strategy(strategy)
    data = read_input(store, strat, run_id, run2_id if strat.needs_run2 else None, split, image_ids)
    scores = sorted(strat.score(data, opts), key=lambda s: (-s.score, s.image_id))
    run2 = run2_id if strat.needs_run2 else None
    params = {**opts.to_dict(), "split": split}
    set_id = save_scores(store, strat.name, run_id, run2, params, scores) if save else None
    ranking = Ranking(strat.name, run_id, run2, opts, scores, set_id, diverse, len(scores), params)
    if diverse is not None:
        vectors = run_embeddings(store, run_id, [s.image_id for s in scores], embed)
        choice = diverse_order([s.score for s in scores], vectors, diverse, k)
        ranking.images = []
        for i, penalty in zip(choice.order, choice.penalties):
            s = scores[i]
            ranking.images.append(ImageScore(s.image_id, s.score, s.objects, {**s.extra, "penalty": round(penalty, 6)}))
    return ranking


def run_embeddings(store: Store, run_id: int, image_ids: list[int],
                   embed: Embed | None) -> np.ndarray:
    """The stored embeddings of run_id for these images (rows in that order), the missing ones
    computed with `embed` first; RankError when some are missing and nothing can compute them."""
    have = load_embeddings(store, run_id, image_ids)
    missing = [i for i in image_ids if i not in have]
    if missing and embed is not None:
        have.update(embed(missing))
        missing = [i for i in image_ids if i not in have]
    if missing:
        raise RankError(f"run {run_id} has no image embeddings for {len(missing)} of the {len(image_ids)} images "
                        "(needed for a diverse batch); they are computed with the run's model")
    return np.stack([have[i] for i in image_ids])
