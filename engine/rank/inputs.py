"""Reading what a ranking needs from the store: candidate images, a run's predictions, labels."""
from __future__ import annotations

from typing import Iterable

from annotations.model import LABEL, PREDICTION, Annotation
from annotations.store import Store

from .base import LABELLED, UNLABELLED, RankError, RankInput, Strategy


def check_run(store: Store, run_id: int) -> None:
    if store.run(run_id) is None:
        known = ", ".join(str(r.id) for r in store.runs()) or "none"
        raise RankError(f"project {store.root}: no model run {run_id} (runs: {known})")


def _by_image(anns: Iterable[Annotation], wanted: set[int]) -> dict[int, list[Annotation]]:
    out: dict[int, list[Annotation]] = {}
    for a in anns:
        if a.image_id in wanted:
            out.setdefault(a.image_id, []).append(a)
    return out


def candidate_ids(store: Store, candidates: str, split: str | None = None,
                  image_ids: Iterable[int] | None = None) -> list[int]:
    """Images without labels (UNLABELLED) or with some (LABELLED), of a split or a given list."""
    if image_ids is not None:
        ids = sorted(set(image_ids))
        known = set(store.image_ids())
        missing = [i for i in ids if i not in known]
        if missing:
            raise RankError(f"project {store.root}: images {missing[:5]} are not in the project")
    else:
        ids = store.image_ids(split)
    labelled = {i for i, (n_labels, _) in store.annotation_counts().items() if n_labels}
    if candidates == LABELLED:
        return [i for i in ids if i in labelled]
    if candidates == UNLABELLED:
        return [i for i in ids if i not in labelled]
    return ids


def read_input(store: Store, strategy: Strategy, run_id: int, run2_id: int | None = None,
               split: str | None = None, image_ids: Iterable[int] | None = None) -> RankInput:
    check_run(store, run_id)
    if strategy.needs_run2:
        if run2_id is None:
            raise RankError(f"strategy {strategy.name!r} compares two runs: give the second run (--run2)")
        check_run(store, run2_id)
    ids = candidate_ids(store, strategy.candidates, split, image_ids)
    if not ids:
        where = f"split {split!r} of " if split else ""
        raise RankError(f"{where}project {store.root} has no {strategy.candidates} images to rank "
                        f"with {strategy.name!r}")
    wanted = set(ids)
    preds = _by_image(store.annotations(status=PREDICTION, run_id=run_id, image_ids=ids), wanted)
    if not preds:
        raise RankError(f"project {store.root}: run {run_id} has no predictions on the {len(ids)} "
                        f"{strategy.candidates} images to rank")
    preds2 = None
    if strategy.needs_run2:
        preds2 = _by_image(store.annotations(status=PREDICTION, run_id=run2_id, image_ids=ids), wanted)
    labels = {}
    if strategy.candidates == LABELLED:
        labels = _by_image(store.annotations(status=LABEL, image_ids=ids), wanted)
    return RankInput(store.images(ids=ids), preds, preds2, labels, [c.id for c in store.categories()])
