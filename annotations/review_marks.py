"""Review marks: what a person decided about an object a run's ranking flagged as a probably wrong
label -- kept (the label is right), accepted (the model's version was written) or deleted.

A mark belongs to the run and names the object by (kind, annotation_id, prediction_id), so it holds
for every ranking of that run (ranking again replaces the score rows, not the marks), and it keeps a
copy of the object (image, kind, score, extra): a deleted label's score rows go with it (foreign
keys), its mark stays and the review list still shows it as deleted. No mark means "to review".
Deleting the run or the image deletes its marks. Writes announce table "review_marks" (ids = image ids).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .scores import ObjectScore
from .store import Store

MARKS_TABLE = "review_marks"
KEPT, ACCEPTED, DELETED = "kept", "accepted", "deleted"
STATES = (KEPT, ACCEPTED, DELETED)


@dataclass
class ReviewMark:
    run_id: int
    obj: ObjectScore  # the object as it was flagged
    state: str
    updated_at: float


def object_key(obj: ObjectScore) -> tuple[str, int | None, int | None]:
    """What names a flagged object across rankings of one run."""
    return obj.kind, obj.annotation_id, obj.prediction_id


_SAME = "run_id=? AND kind=? AND annotation_id IS ? AND prediction_id IS ?"


def set_mark(store: Store, run_id: int, obj: ObjectScore, state: str) -> None:
    """Mark the object (replacing an earlier mark of it)."""
    if state not in STATES:
        raise ValueError(f"a review mark is one of {', '.join(STATES)}, not {state!r}")
    with store.transaction() as c:
        c.execute(f"DELETE FROM review_marks WHERE {_SAME}", (run_id, *object_key(obj)))
        c.execute("INSERT INTO review_marks (run_id, image_id, annotation_id, prediction_id, kind, score, extra, "
                  "state, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                  (run_id, obj.image_id, obj.annotation_id, obj.prediction_id, obj.kind, float(obj.score),
                   json.dumps(obj.extra), state, time.time()))
        store._emit(MARKS_TABLE, "updated", [obj.image_id])


def clear_mark(store: Store, run_id: int, obj: ObjectScore) -> None:
    """The object is to review again."""
    with store.transaction() as c:
        c.execute(f"DELETE FROM review_marks WHERE {_SAME}", (run_id, *object_key(obj)))
        store._emit(MARKS_TABLE, "removed", [obj.image_id])


def load_marks(store: Store, run_id: int) -> dict[tuple, ReviewMark]:
    """object_key -> mark, of every object of the run marked so far."""
    rows = store._read("SELECT image_id, kind, score, annotation_id, prediction_id, extra, state, updated_at "
                       "FROM review_marks WHERE run_id=? ORDER BY id", (run_id,))
    out = {}
    for r in rows:
        obj = ObjectScore(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]))
        out[object_key(obj)] = ReviewMark(run_id, obj, r[6], r[7])
    return out
