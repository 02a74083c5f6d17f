"""Storing predictions in the project: the one policy the CLI, the GUI and distributed runs share.

- Classes are matched to project categories by name. A class the project has no category for never
  creates one silently: its predictions stay in the run (`run_pending`, under the model's own class
  name) until `accept_run_categories` adds the category and moves them in, or the caller asked for
  categories to be added (`add_categories=True`, the CLI's --add-categories).
- Degenerate predictions (a box, or a mask's extent, under one pixel on a side) are never stored.
- Everything of one call is one transaction, which also marks the images done in a tracked run.
No torch here: `items` are (image id, prediction) with the fields of engine.predictor.ImagePrediction.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from annotations import geometry
from annotations.model import BOX, LABEL, MASK, PREDICTION, Annotation
from annotations.store import StoreError

from . import run_progress

MIN_SIDE = 1.0  # pixels; anything narrower or lower is not an object


@dataclass
class StoredPredictions:
    ids: list[int] = field(default_factory=list)  # annotation ids stored
    kept_out: dict[str, int] = field(default_factory=dict)  # class name -> predictions kept in the run
    degenerate: int = 0  # predictions dropped as under one pixel on a side

    def add(self, other: "StoredPredictions") -> None:
        self.ids += other.ids
        for name, n in other.kept_out.items():
            self.kept_out[name] = self.kept_out.get(name, 0) + n
        self.degenerate += other.degenerate


def is_degenerate(bbox, rle: dict | None = None) -> bool:
    w, h = (geometry.rle_bbox(rle) if rle is not None else bbox)[2:]
    w, h = float(w), float(h)
    return not (math.isfinite(w) and math.isfinite(h) and w >= MIN_SIDE and h >= MIN_SIDE)


def prediction_rows(pred) -> Iterator[tuple[str, tuple[float, float, float, float], dict | None, float] | None]:
    """(class name, xywh box, RLE or None, score) per detection; None in place of a degenerate one."""
    for i, name in enumerate(pred.labels):
        bbox = tuple(float(v) for v in pred.boxes[i])
        rle = pred.masks[i] if pred.masks is not None else None
        yield None if is_degenerate(bbox, rle) else (name, bbox, rle, float(pred.scores[i]))


def store_predictions(store, run_id: int | None, items: Iterable[tuple[int, object]], model_name: str,
                      add_categories: bool = False, replace: bool = False) -> StoredPredictions:
    """Store the predictions of `items` as predictions of `run_id`, in one transaction.

    replace: the run's earlier predictions on these images go first (re-predicting one image).
    Images in `items` are marked done in the run (when it tracks its images). Raises StoreError
    when the project cannot be written (disk full, read-only): nothing of this call is kept.
    """
    items = list(items)
    out = StoredPredictions()
    try:
        with store.transaction() as c:
            category_ids = {cat.name: cat.id for cat in store.categories()}
            rows = {image_id: list(prediction_rows(pred)) for image_id, pred in items}
            if add_categories:
                for name in sorted({r[0] for rs in rows.values() for r in rs if r} - set(category_ids)):
                    category_ids[name] = store.ensure_category(name)
            anns, pending, now = [], [], time.time()
            for image_id, _ in items:
                if replace and run_id is not None:
                    _remove_run_predictions(store, run_id, image_id)
                for row in rows[image_id]:
                    if row is None:
                        out.degenerate += 1
                        continue
                    name, bbox, rle, score = row
                    kind = MASK if rle is not None else BOX
                    cid = category_ids.get(name)
                    if cid is None:
                        out.kept_out[name] = out.kept_out.get(name, 0) + 1
                        if run_id is not None:
                            pending.append((run_id, image_id, name, kind, *bbox, _rle_text(rle), score, now))
                        continue
                    anns.append(Annotation(None, image_id, cid, kind=kind, bbox=bbox, rle=rle, score=score,
                                           status=PREDICTION, source=model_name, run_id=run_id))
            if anns:
                out.ids = store.add_annotations(anns)
            if pending:
                c.executemany("INSERT INTO run_pending (run_id, image_id, class_name, kind, x, y, w, h, rle, score, "
                              "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", pending)
                store._emit("runs", "updated", [run_id])
            if run_id is not None:
                run_progress.mark_done(store, run_id, [image_id for image_id, _ in items])
    except sqlite3.Error as e:
        raise StoreError(f"Could not store predictions in {store.db_path}: {_first_cause(e)}") from e
    return out


def _first_cause(e: BaseException) -> BaseException:
    """SQLite ends a transaction itself on a full disk, so the store's ROLLBACK then fails with
    "cannot rollback"; the error a person needs is the one that came first."""
    while isinstance(e.__context__, sqlite3.Error):
        e = e.__context__
    return e


def _rle_text(rle: dict | None) -> str | None:
    return None if rle is None else json.dumps(geometry.normalize_rle(rle), separators=(",", ":"))


def _remove_run_predictions(store, run_id: int, image_id: int) -> None:
    old = [a.id for a in store.annotations(image_id=image_id, run_id=run_id) if a.status != LABEL]
    if old:
        store.reject_predictions(old)
    with store.transaction() as c:
        c.execute("DELETE FROM run_pending WHERE run_id=? AND image_id=?", (run_id, image_id))


def pending_classes(store, run_id: int) -> dict[str, int]:
    """Class names kept in the run (no project category yet) -> how many predictions each."""
    return dict(store._read("SELECT class_name, COUNT(*) FROM run_pending WHERE run_id=? GROUP BY class_name "
                            "ORDER BY class_name", (run_id,)))


def accept_run_categories(store, run_id: int, names: Iterable[str]) -> list[int]:
    """The user accepts these class names of the run: each becomes a project category (or joins the
    one of that name) and its kept predictions become the run's predictions. Returns their ids."""
    names = sorted(set(names))
    unknown = sorted(set(names) - set(pending_classes(store, run_id)))
    if unknown:
        raise StoreError(f"Run {run_id} keeps no predictions of {', '.join(map(repr, unknown))}.")
    run = store.run(run_id)
    with store.transaction() as c:
        anns = []
        for name in names:
            cid = store.ensure_category(name)
            for image_id, kind, x, y, w, h, rle, score in c.execute(
                    "SELECT image_id, kind, x, y, w, h, rle, score FROM run_pending WHERE run_id=? AND class_name=? "
                    "ORDER BY id", (run_id, name)).fetchall():
                anns.append(Annotation(None, image_id, cid, kind=kind, bbox=(x, y, w, h),
                                       rle=json.loads(rle) if rle else None, score=score, status=PREDICTION,
                                       source=run.model, run_id=run_id))
        c.executemany("DELETE FROM run_pending WHERE run_id=? AND class_name=?", [(run_id, n) for n in names])
        ids = store.add_annotations(anns) if anns else []
        store._emit("runs", "updated", [run_id])
    return ids
