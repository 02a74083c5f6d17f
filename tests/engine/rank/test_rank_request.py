"""engine.rank.run_ranking, the one function behind `main.py rank` and the window's Label next dock:
a stored mirror-image run is found again (no model loaded), a second run the strategy does not use
is named in a warning, a cancel is raised as Cancelled, a run without recorded weights is a
readable error when a model pass is needed."""
from __future__ import annotations

import pytest

from annotations.errors import Cancelled, CancelToken
from engine.rank import FLIP, RankError, RankOptions, RankRequest, rank_project, run_ranking

from .helpers import categories, image, pred, run

BOX = (10, 10, 40, 40)


@pytest.fixture
def two_runs(store):
    """Run r on three unlabelled images, and f: r's "mirror-image" run, disagreeing on u2 only."""
    c = categories(store, ("a",))
    r = run(store)
    f = run(store, flip="horizontal", flip_of=r)
    ids = [image(store, n) for n in ("u1", "u2", "u3")]
    for i, score in zip(ids, (0.55, 0.9, 0.7)):
        pred(store, i, c["a"], BOX, score, r)
        if i != ids[1]:
            pred(store, i, c["a"], BOX, score, f)
    return r, f, ids


def test_the_stored_mirror_run_is_used_without_a_model(store, two_runs):
    r, f, ids = two_runs
    notes, stages = [], []
    ranking = run_ranking(store, RankRequest("disagreement", r, FLIP), note=notes.append,
                          progress=lambda *a: stages.append(a))
    assert ranking.run2_id == f and ranking.images[0].image_id == ids[1]  # only r sees u2
    assert notes == [f"using run {f}, the mirror-image predictions of run {r}"] and stages == []
    assert [s.image_id for s in ranking.images] == [s.image_id for s in rank_project(store, "disagreement", r, f).images]


def test_an_unused_second_run_is_named_and_ignored(store, two_runs):
    r, f, ids = two_runs
    warnings = []
    ranking = run_ranking(store, RankRequest("uncertainty", r, f, RankOptions(aggregate="mean")), warn=warnings.append)
    assert warnings == ["the second run is not used by 'uncertainty'"]
    assert ranking.run2_id is None and [s.image_id for s in ranking.images] == [ids[0], ids[2], ids[1]]
    assert ranking.options.aggregate == "mean"


def test_cancel_is_raised(store, two_runs):
    r, _f, _ids = two_runs
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_ranking(store, RankRequest("uncertainty", r), cancel=token)


def test_a_model_pass_for_a_run_without_recorded_weights_is_a_readable_error(store, two_runs):
    r, _f, _ids = two_runs
    with pytest.raises(RankError, match="cannot be loaded again"):
        run_ranking(store, RankRequest("uncertainty", r, diverse=2))  # no stored embeddings: needs the model
