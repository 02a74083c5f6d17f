"""Review marks in the store: one guarded migration, set/clear/load per run, marks outlive the score
rows a deleted label takes with it and a new ranking of the run; score rows come back after an undo."""
from __future__ import annotations

import sqlite3

import pytest

from annotations import review_marks as rm
from annotations import scores
from annotations.scores import ImageScore, ObjectScore
from annotations.store import DB_NAME, MIGRATIONS, Store

from .helpers import categories, image, label, pred, run


def test_a_project_from_before_the_marks_gets_their_table(tmp_path):
    mine = next(m for m in MIGRATIONS if "review_marks" in m)
    before = MIGRATIONS.index(mine)
    folder = tmp_path / "old"
    folder.mkdir()
    conn = sqlite3.connect(folder / DB_NAME)
    for m in MIGRATIONS[:before]:
        conn.executescript(m)
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(before),))
    conn.commit()
    conn.close()
    with Store.open(folder, create=False) as store:
        r, i = run(store), image(store, "x")
        rm.set_mark(store, r, ObjectScore(i, "spurious", 0.5, None, None), rm.KEPT)
        assert [m.state for m in rm.load_marks(store, r).values()] == [rm.KEPT]
    conn = sqlite3.connect(folder / DB_NAME)
    conn.executescript(mine)  # guarded: once more changes nothing
    assert conn.execute("SELECT state FROM review_marks").fetchall() == [(rm.KEPT,)]
    conn.close()


def _flagged(store):
    c = categories(store, ("a", "b"))
    r = run(store)
    i = image(store, "i")
    lab = label(store, i, c["a"], (0, 0, 10, 10))
    p = pred(store, i, c["b"], (0, 0, 10, 10), 0.8, r)
    miss = pred(store, i, c["a"], (50, 50, 10, 10), 0.99, r)
    objs = [ObjectScore(i, "wrong_class", 0.9, lab, p, {"iou": 1.0}), ObjectScore(i, "missing", 0.995, None, miss)]
    set_id = scores.save_scores(store, "mistakenness", r, None, {}, [ImageScore(i, 0.995, objs)])
    return r, i, lab, set_id


def test_marks_per_run_replace_clear_and_outlive_their_score_rows(store):
    r, i, lab, set_id = _flagged(store)
    wrong, missing = sorted(scores.object_scores(store, set_id), key=lambda o: o.kind, reverse=True)
    assert wrong.kind == "wrong_class" and wrong.id is not None
    events = []
    store.subscribe(events.append)
    rm.set_mark(store, r, wrong, rm.KEPT)
    rm.set_mark(store, r, wrong, rm.DELETED)  # the same object: replaced
    rm.set_mark(store, r, missing, rm.ACCEPTED)
    assert events[-1].table == rm.MARKS_TABLE and events[-1].ids == [i]
    marks = rm.load_marks(store, r)
    assert {k: m.state for k, m in marks.items()} == {rm.object_key(wrong): rm.DELETED,
                                                       rm.object_key(missing): rm.ACCEPTED}
    assert marks[rm.object_key(wrong)].obj == wrong  # a copy of what was flagged
    assert rm.load_marks(store, run(store)) == {}  # another run has none
    with pytest.raises(ValueError):
        rm.set_mark(store, r, wrong, "maybe")

    store.delete_annotations([lab])  # the label's score row goes; its mark stays
    assert [o.kind for o in scores.object_scores(store, set_id)] == ["missing"]
    assert rm.load_marks(store, r)[rm.object_key(wrong)].state == rm.DELETED
    scores.save_scores(store, "mistakenness", r, None, {}, [ImageScore(i, 0.1)])  # ranked again
    assert len(rm.load_marks(store, r)) == 2
    rm.clear_mark(store, r, missing)
    assert list(rm.load_marks(store, r)) == [rm.object_key(wrong)]
    store.delete_run(r)
    assert rm.load_marks(store, r) == {}


def test_score_rows_a_deletion_took_come_back_with_the_label(store):
    r, i, lab, set_id = _flagged(store)
    before = scores.object_scores(store, set_id)
    taken = scores.dependent_object_rows(store, [lab])
    assert [row[3] for row in taken] == [lab]
    label_itself = store.annotation(lab)
    store.delete_annotations([lab])
    scores.restore_object_rows(store, taken)  # the label is not back: nothing restored
    assert len(scores.object_scores(store, set_id)) == 1
    store.add_annotations([label_itself])  # as an undo does, with its id
    scores.restore_object_rows(store, taken)
    scores.restore_object_rows(store, taken)  # twice: still once
    after = scores.object_scores(store, set_id)
    assert after == before and [o.id for o in after] == [o.id for o in before]
    scores.save_scores(store, "mistakenness", r, None, {}, [ImageScore(i, 0.1)])  # the set replaced
    scores.restore_object_rows(store, taken)
    assert scores.object_scores(store, scores.find_set(store, "mistakenness", r).id) == []
