"""Least confidence, margin and entropy on hand-made predictions, rankings worked out by hand."""
from __future__ import annotations

import math

import pytest

from engine.rank import RankError, RankOptions, rank_project
from engine.rank.classes import group_predictions

from .helpers import categories, image, label, pred, run

X, Y = (10, 10, 20, 20), (60, 60, 20, 20)


@pytest.fixture
def project(store):
    """K = 3 categories. Unlabelled images A..D, F; E is labelled (not a candidate).
    A: one object at 0.95         p = (0.95, 0.05)
    B: one object at 0.5          p = (0.5, 0.5)
    C: a 0.4 and b 0.35 at X      one object, p = (0.4, 0.35, 0.25)
    D: nothing
    F: 0.5 at X and 0.95 at Y     two objects
    """
    c = categories(store)
    r = run(store)
    ids = {n: image(store, n) for n in "ABCDEF"}
    pred(store, ids["A"], c["a"], X, 0.95, r)
    pred(store, ids["B"], c["a"], X, 0.5, r)
    top_c = pred(store, ids["C"], c["a"], X, 0.4, r)
    pred(store, ids["C"], c["b"], X, 0.35, r)
    pred(store, ids["E"], c["a"], X, 0.5, r)
    label(store, ids["E"], c["a"], X)
    pred(store, ids["F"], c["a"], X, 0.5, r)
    pred(store, ids["F"], c["a"], Y, 0.95, r)
    return store, r, ids, top_c


def _ranked(store, strategy, r, ids, **opts):
    ranking = rank_project(store, strategy, r, options=RankOptions(**opts))
    name = {v: k for k, v in ids.items()}
    return [(name[s.image_id], round(s.score, 4)) for s in ranking.images], ranking


def test_least_confidence_ranks_the_least_sure_object_first(project):
    store, r, ids, top_c = project
    ranked, ranking = _ranked(store, "uncertainty", r, ids)
    # 1 - p1: C 0.6, B 0.5, F max(0.5, 0.05), A 0.05, D 0; ties by image id (B before F).
    assert ranked == [("C", 0.6), ("B", 0.5), ("F", 0.5), ("A", 0.05), ("D", 0.0)]
    c = ranking.images[0]
    assert [o.prediction_id for o in c.objects] == [top_c] and c.objects[0].annotation_id is None
    assert c.objects[0].kind == "uncertain" and c.objects[0].extra["classes"] == 2


def test_margin_prefers_a_coin_toss_to_a_spread(project):
    store, r, ids, _ = project
    ranked, _ = _ranked(store, "margin", r, ids)
    # 1 - (p1 - p2): B 1.0, F max(1.0, 0.1), C 1 - 0.05 = 0.95, A 1 - 0.9 = 0.1, D 0.
    assert ranked == [("B", 1.0), ("F", 1.0), ("C", 0.95), ("A", 0.1), ("D", 0.0)]


def test_entropy_is_normalised_by_the_number_of_outcomes(project):
    store, r, ids, _ = project
    ranked, _ = _ranked(store, "entropy", r, ids)
    h = lambda *p: -sum(v * math.log(v) for v in p) / math.log(4)  # noqa: E731  K + 1 = 4 outcomes
    assert ranked == [("C", round(h(0.4, 0.35, 0.25), 4)), ("B", 0.5), ("F", 0.5), ("A", round(h(0.95, 0.05), 4)),
                      ("D", 0.0)]


def test_mean_aggregation_and_objects_near_the_threshold(project):
    store, r, ids, _ = project
    ranked, ranking = _ranked(store, "uncertainty", r, ids, aggregate="mean")
    assert ranked == [("C", 0.6), ("B", 0.5), ("F", 0.275), ("A", 0.05), ("D", 0.0)]
    near = {s.image_id: s.extra["near_threshold"] for s in ranking.images}
    assert near == {ids["A"]: 0, ids["B"]: 1, ids["C"]: 1, ids["D"]: 0, ids["F"]: 1}


def test_grouping_joins_other_classes_at_one_place_only(store):
    c = categories(store)
    r = run(store)
    i = image(store, "G")
    pred(store, i, c["a"], X, 0.9, r)
    pred(store, i, c["a"], X, 0.8, r)  # same class: another object (a duplicate), not a class alternative
    pred(store, i, c["b"], (12, 10, 20, 20), 0.3, r)  # IoU 0.82 with the 0.9 one: its second class
    pred(store, i, c["c"], (20, 10, 20, 20), 0.2, r)  # IoU 0.33: elsewhere
    groups = group_predictions(store.annotations(run_id=r), 0.7)
    assert [[a.score for a in g] for g in groups] == [[0.9, 0.3], [0.8], [0.2]]


def test_bad_requests_are_refused_with_a_reason(project):
    store, r, ids, _ = project
    with pytest.raises(RankError, match="no model run 99"):
        rank_project(store, "uncertainty", 99)
    with pytest.raises(RankError, match="unknown strategy"):
        rank_project(store, "coin", r)
    with pytest.raises(RankError, match="--run2"):
        rank_project(store, "disagreement", r)
    with pytest.raises(RankError, match="aggregate"):
        rank_project(store, "uncertainty", r, options=RankOptions(aggregate="median"))
    empty = run(store)
    with pytest.raises(RankError, match="no predictions"):
        rank_project(store, "uncertainty", empty)
