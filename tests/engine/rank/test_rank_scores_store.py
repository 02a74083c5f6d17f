"""Scores in the store: one migration, replace on re-scoring, cascades, events, embeddings."""
from __future__ import annotations

import sqlite3

import numpy as np

from annotations import scores
from annotations.scores import ImageScore, ObjectScore
from annotations.store import DB_NAME, MIGRATIONS, Store

from .helpers import categories, image, label, pred, run


def test_an_older_project_gets_the_score_tables(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / DB_NAME)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.commit()
    conn.close()
    with Store.open(folder, create=False) as store:
        r = run(store)
        i = image(store, "x")
        scores.save_scores(store, "uncertainty", r, None, {}, [ImageScore(i, 0.5)])
        assert scores.image_scores(store, scores.find_set(store, "uncertainty", r).id) == {i: 0.5}


def test_save_replace_load_and_cascade(store):
    c = categories(store, ("a",))
    r, r2 = run(store), run(store)
    i, j = image(store, "i"), image(store, "j")
    lab = label(store, i, c["a"], (0, 0, 5, 5))
    p = pred(store, i, c["a"], (0, 0, 5, 5), 0.9, r)
    events = []
    store.subscribe(events.append)
    objs = [ObjectScore(i, "wrong_class", 0.9, lab, p, {"iou": 1.0}), ObjectScore(i, "missing", 0.95, None, p)]
    first = scores.save_scores(store, "mistakenness", r, None, {"aggregate": "max"},
                               [ImageScore(i, 0.95, objs), ImageScore(j, 0.1)])
    assert events[-1].table == scores.SCORES_TABLE and set(events[-1].ids) == {i, j}
    loaded = scores.load_scores(store, first)
    assert [(s.image_id, s.score) for s in loaded] == [(i, 0.95), (j, 0.1)]
    assert [(o.kind, o.annotation_id, o.extra) for o in loaded[0].objects] == [
        ("missing", None, {}), ("wrong_class", lab, {"iou": 1.0})]
    second = scores.save_scores(store, "mistakenness", r, None, {}, [ImageScore(i, 0.5, objs)])
    assert [s.id for s in scores.score_sets(store)] == [second]  # the same strategy and run: replaced
    other = scores.save_scores(store, "disagreement", r, r2, {}, [ImageScore(j, 0.3)])
    assert scores.find_set(store, "disagreement", r, r2).id == other
    assert scores.find_set(store, "disagreement", r) is None
    store.delete_annotations([lab])  # a fixed label leaves the review list
    assert [o.kind for o in scores.object_scores(store, second, i)] == ["missing"]
    store.delete_run(r2)
    assert scores.find_set(store, "disagreement", r, r2) is None
    store.delete_run(r)
    assert scores.score_sets(store) == []


def test_embeddings_round_trip_per_run(store):
    r = run(store)
    i, j = image(store, "i"), image(store, "j")
    scores.save_embeddings(store, r, {i: np.arange(4, dtype=np.float32), j: np.ones(4)})
    got = scores.load_embeddings(store, r, [i])
    assert list(got) == [i] and got[i].dtype == np.float32 and got[i].tolist() == [0, 1, 2, 3]
    scores.save_embeddings(store, r, {i: np.zeros(4)})
    assert scores.load_embeddings(store, r)[i].tolist() == [0, 0, 0, 0]
    store.delete_images([i])
    assert set(scores.load_embeddings(store, r)) == {j}
