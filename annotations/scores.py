"""Ranking scores and image embeddings, kept in the project store beside the runs they came from.

A score set is one ranking: a strategy (uncertainty, mistakenness, ...) over the predictions of a
run (and of a second run for disagreement), with the options it used. It holds one score per image
and any number of per-object scores, each naming the label it is about (`annotation_id`, None where
the label is missing) and the prediction behind it (`prediction_id`). Scoring the same strategy and
runs again replaces the set. Deleting a run, an image or an annotation deletes the scores that
depend on it (foreign keys), so a fixed label drops out of the review list by itself.

Embeddings are one float32 vector per (run, image): the run's model's own features of the image.

The tables come from the store's migration `_SCORES`; these functions use the store's transaction
and read helpers, and announce writes to listeners as table "scores" (ids = image ids).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .store import Store

SCORES_TABLE = "scores"  # StoreEvent.table of score writes


@dataclass
class ObjectScore:
    image_id: int
    kind: str  # missing, spurious, wrong_class, loose_box, supported, uncertain, unmatched, matched
    score: float
    annotation_id: int | None = None  # the label this is about; None where a label is missing
    prediction_id: int | None = None  # the prediction behind the score, if any
    extra: dict = field(default_factory=dict)
    id: int | None = field(default=None, compare=False)  # its stored row, once stored


@dataclass
class ImageScore:
    image_id: int
    score: float
    objects: list[ObjectScore] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class ScoreSet:
    id: int
    strategy: str
    run_id: int
    run2_id: int | None
    params: dict
    created_at: float


def save_scores(store: Store, strategy: str, run_id: int, run2_id: int | None, params: dict,
                images: Iterable[ImageScore]) -> int:
    """Store one ranking in one transaction, replacing the earlier one of the same strategy and runs.
    Returns the new set's id."""
    images = list(images)
    with store.transaction() as c:
        c.execute("DELETE FROM score_sets WHERE strategy=? AND run_id=? AND run2_id IS ?", (strategy, run_id, run2_id))
        set_id = c.execute("INSERT INTO score_sets (strategy, run_id, run2_id, params, created_at) VALUES (?,?,?,?,?)",
                           (strategy, run_id, run2_id, json.dumps(params), time.time())).lastrowid
        c.executemany("INSERT INTO image_scores (set_id, image_id, score, extra) VALUES (?,?,?,?)",
                      [(set_id, im.image_id, float(im.score), json.dumps(im.extra)) for im in images])
        c.executemany("INSERT INTO object_scores (set_id, image_id, annotation_id, prediction_id, kind, score, extra) "
                      "VALUES (?,?,?,?,?,?,?)",
                      [(set_id, o.image_id, o.annotation_id, o.prediction_id, o.kind, float(o.score),
                        json.dumps(o.extra)) for im in images for o in im.objects])
        store._emit(SCORES_TABLE, "updated", [im.image_id for im in images])
    return set_id


def _set(r) -> ScoreSet:
    return ScoreSet(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5])


def score_sets(store: Store, strategy: str | None = None, run_id: int | None = None) -> list[ScoreSet]:
    """Stored rankings, newest first."""
    rows = store._read("SELECT id, strategy, run_id, run2_id, params, created_at FROM score_sets "
                       "ORDER BY created_at DESC, id DESC")
    return [_set(r) for r in rows if (strategy is None or r[1] == strategy) and (run_id is None or r[2] == run_id)]


def find_set(store: Store, strategy: str, run_id: int, run2_id: int | None = None) -> ScoreSet | None:
    rows = store._read("SELECT id, strategy, run_id, run2_id, params, created_at FROM score_sets "
                       "WHERE strategy=? AND run_id=? AND run2_id IS ? ORDER BY id DESC LIMIT 1",
                       (strategy, run_id, run2_id))
    return _set(rows[0]) if rows else None


def image_scores(store: Store, set_id: int) -> dict[int, float]:
    """image id -> score of one set (what a file list sorts by)."""
    return dict(store._read("SELECT image_id, score FROM image_scores WHERE set_id=?", (set_id,)))


def _object(r) -> ObjectScore:
    return ObjectScore(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])


def object_scores(store: Store, set_id: int, image_id: int | None = None) -> list[ObjectScore]:
    """Per-object scores of a set (of one image when given), best first."""
    sql = "SELECT image_id, kind, score, annotation_id, prediction_id, extra, id FROM object_scores WHERE set_id=?"
    args: tuple = (set_id,)
    if image_id is not None:
        sql += " AND image_id=?"
        args += (image_id,)
    return [_object(r) for r in store._read(sql + " ORDER BY score DESC, id", args)]


def load_scores(store: Store, set_id: int) -> list[ImageScore]:
    """A whole stored ranking: images best first (ties by id), each with its objects best first."""
    objects: dict[int, list[ObjectScore]] = {}
    for o in object_scores(store, set_id):
        objects.setdefault(o.image_id, []).append(o)
    rows = store._read("SELECT image_id, score, extra FROM image_scores WHERE set_id=? ORDER BY score DESC, image_id",
                       (set_id,))
    return [ImageScore(r[0], r[1], objects.get(r[0], []), json.loads(r[2])) for r in rows]


_OBJECT_COLUMNS = "id, set_id, image_id, annotation_id, prediction_id, kind, score, extra"


def dependent_object_rows(store: Store, annotation_ids) -> list[tuple]:
    """The per-object score rows that name these annotations (as label or prediction): what deleting
    the annotations deletes with them. Give them to restore_object_rows when the annotations are back."""
    ids = sorted({int(i) for i in annotation_ids})
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    cols = ", ".join(f"o.{c}" for c in _OBJECT_COLUMNS.split(", "))
    return store._read(f"SELECT {cols}, s.created_at FROM object_scores o JOIN score_sets s ON s.id = o.set_id "
                       f"WHERE o.annotation_id IN ({marks}) OR o.prediction_id IN ({marks})", (*ids, *ids))


def restore_object_rows(store: Store, rows: list[tuple]) -> None:
    """Put back rows from dependent_object_rows (an undo restored their annotations, with their ids).
    Rows still there, of a set replaced since, or naming an annotation or image that is not there are
    skipped (a foreign key would refuse them); a set is the same set when its id and creation time are
    (a replaced set's id may be taken again)."""
    if not rows:
        return
    with store.transaction() as c:
        for r in rows:
            c.execute(f"INSERT OR IGNORE INTO object_scores ({_OBJECT_COLUMNS}) SELECT ?,?,?,?,?,?,?,? "
                      "WHERE EXISTS (SELECT 1 FROM score_sets WHERE id=? AND created_at=?) "
                      "AND EXISTS (SELECT 1 FROM images WHERE id=?) "
                      "AND (? IS NULL OR EXISTS (SELECT 1 FROM annotations WHERE id=?)) "
                      "AND (? IS NULL OR EXISTS (SELECT 1 FROM annotations WHERE id=?))",
                      (*r[:8], r[1], r[8], r[2], r[3], r[3], r[4], r[4]))
        store._emit(SCORES_TABLE, "updated", sorted({r[2] for r in rows}))


def delete_scores(store: Store, set_id: int) -> None:
    with store.transaction() as c:
        c.execute("DELETE FROM score_sets WHERE id=?", (set_id,))
        store._emit(SCORES_TABLE, "removed", [])


# ---- embeddings -----------------------------------------------------------------------------------
def save_embeddings(store: Store, run_id: int, vectors: dict[int, np.ndarray]) -> None:
    """One vector per image (float32), replacing earlier ones of the same run and image."""
    with store.transaction() as c:
        c.executemany("INSERT OR REPLACE INTO image_embeddings (run_id, image_id, vector) VALUES (?,?,?)",
                      [(run_id, int(i), np.asarray(v, "<f4").ravel().tobytes()) for i, v in vectors.items()])


def load_embeddings(store: Store, run_id: int, image_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    rows = store._read("SELECT image_id, vector FROM image_embeddings WHERE run_id=?", (run_id,))
    wanted = None if image_ids is None else set(image_ids)
    return {r[0]: np.frombuffer(r[1], "<f4").copy() for r in rows if wanted is None or r[0] in wanted}
