"""The store's records: annotations, model runs and predictions, and the hide/lock flags (a mixin of
annotations.store.Store: it uses the store's transaction, _read, _select, _emit and _images_of)."""
from __future__ import annotations

import json
import re
import sqlite3
import time
from contextlib import contextmanager

import orjson
from typing import Callable, Iterable, Iterator

from . import geometry, outlines
from .errors import StoreError
from .model import LABEL, PREDICTION, Annotation, ModelRun
from .store_counts import IN_CHUNK

BETWEEN_ROWS = 64  # annotations(between=...): records made between two calls (about a millisecond)
_ANN_COLS = ("image_id, category_id, kind, x, y, w, h, polygons, holes, rle, area, iscrowd, score, "
             "status, source, run_id, created_by, created_at, updated_at, extra")


_MAX_ROWID = (1 << 63) - 1
# A batch at least this large, into a table holding no more rows than it, goes in with the table's
# indexes dropped and then built again from the sorted rows: a fifth less CPU than keeping three
# indexes in step row by row (50k COCO labels: 0.54 s -> 0.40 s of SQLite).
BULK_ROWS = 5000
_LONG_NUMBER = re.compile(r"\d{19}")
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # built once: rows are hot


def _dumps(v) -> str | None:
    return None if v is None else _ENCODE(v)


def _dumps_geometry(v) -> str | None:
    """Polygons, holes and RLE as JSON: orjson (several times faster on coordinate lists; the same
    values read back), json for what orjson would not keep exactly (it writes NaN as null, refuses
    integers beyond 64 bits)."""
    if v is None:
        return None
    try:
        out = orjson.dumps(v)
    except TypeError:
        return _ENCODE(v)
    return _ENCODE(v) if b"null" in out else out.decode()


def _loads(text: str):
    """A geometry column's JSON: orjson (several times json's speed on polygon rings, the same
    values and types); json for what orjson refuses (NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _loads_extra(text: str):
    """The extra column: any JSON a label file had. orjson reads integers beyond 64 bits as floats,
    so text with 19 digits in a row goes to json, which keeps them exact. Most rows' extra is empty:
    not parsed."""
    if text == "{}":
        return {}
    return json.loads(text) if _LONG_NUMBER.search(text) else _loads(text)


@contextmanager
def _indexes_set_aside(c: sqlite3.Connection, table: str, batch: int) -> Iterator[None]:
    """Inside a write transaction: for a bulk insert (BULK_ROWS above), the table's own indexes are
    dropped on entry and made again from their stored definitions on exit, within a savepoint: an
    error rolls the insert and the drop back together, also when an outer transaction goes on."""
    if batch < BULK_ROWS or c.execute(f"SELECT 1 FROM {table} LIMIT 1 OFFSET ?", (batch,)).fetchone():
        yield
        return
    c.execute("SAVEPOINT bulk_insert")
    try:
        indexes = c.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                            "AND sql IS NOT NULL", (table,)).fetchall()
        for name, _ in indexes:
            c.execute(f'DROP INDEX "{name}"')
        yield
        for _, sql in indexes:
            c.execute(sql)
    except BaseException:
        try:
            c.execute("ROLLBACK TO bulk_insert")
            c.execute("RELEASE bulk_insert")
        except sqlite3.Error:
            pass  # SQLite rolled the whole transaction back already (a full disk does)
        raise
    c.execute("RELEASE bulk_insert")


class RecordsMixin:
    # ---- annotations ---------------------------------------------------------------------
    def _ann_row(self, a: Annotation, now: float) -> tuple:
        bbox = a.bbox
        if (bbox[2] <= 0 or bbox[3] <= 0) and (a.polygons or a.rle is not None):
            bbox = geometry.annotation_bbox(a)
        area = a.area if a.area is not None else geometry.annotation_area(a)
        rle = None if a.rle is None else geometry.normalize_rle(a.rle)
        return (a.image_id, a.category_id, a.kind, float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]),
                _dumps_geometry(a.polygons), _dumps_geometry(a.holes), _dumps_geometry(rle), float(area),
                int(a.iscrowd), a.score, a.status, a.source, a.run_id, a.created_by, a.created_at, now,
                _ENCODE(a.extra) if a.extra else "{}")

    def add_annotations(self, anns: Iterable[Annotation]) -> list[int]:
        """Insert many annotations in one transaction (ids kept when given). Returns their ids.

        Rows go in with one executemany. An annotation without an id gets the one SQLite would have
        given it row by row (one above the largest id at that point), computed here."""
        anns = list(anns)
        now = time.time()
        with self.transaction() as c, _indexes_set_aside(c, "annotations", len(anns)):
            try:
                ids = [a.id for a in anns]
                if None in ids:
                    top = c.execute("SELECT COALESCE(MAX(id), 0) FROM annotations").fetchone()[0]
                    for k, a in enumerate(anns):
                        top = top + 1 if a.id is None else max(top, a.id)
                        ids[k] = top if a.id is None else a.id
                if ids and max(ids) >= _MAX_ROWID:  # SQLite would pick free ids at random: let it
                    ids = [self._insert_one(c, a, self._ann_row(a, now)) for a in anns]
                    order = range(len(anns))
                else:  # rows made as they are inserted: a large import holds no second copy
                    # In id order: the table's b-tree then grows at its end (an import lists an image's
                    # annotations together, their ids scattered over the file: a fifth slower).
                    order = sorted(range(len(anns)), key=ids.__getitem__)
                    c.executemany(f"INSERT INTO annotations (id, {_ANN_COLS}) VALUES ({','.join('?' * 21)})",
                                  ((ids[k], *self._ann_row(anns[k], now)) for k in order))
                c.executemany("INSERT INTO outlines (annotation_id, points, rings) VALUES (?, ?, ?)",
                              self._outline_rows((ids[k], anns[k]) for k in order))
            except sqlite3.IntegrityError as e:
                raise StoreError(f"Annotation refused (unknown image or category, or duplicate id): {e}") from e
            self._emit("annotations", "added", ids, [a.image_id for a in anns])
        return ids

    @staticmethod
    def _insert_one(c, a: Annotation, row: tuple) -> int:
        if a.id is None:
            return c.execute(f"INSERT INTO annotations ({_ANN_COLS}) VALUES ({','.join('?' * 20)})", row).lastrowid
        return c.execute(f"INSERT INTO annotations (id, {_ANN_COLS}) VALUES ({','.join('?' * 21)})",
                         (a.id, *row)).lastrowid

    @staticmethod
    def _outline_rows(pairs: Iterable[tuple[int, Annotation]]) -> Iterator[tuple]:
        """The outlines table's rows of these (id, annotation): each shape's rings packed
        (annotations/outlines.py), derived here from its polygons and holes, next to the one place
        annotation rows are made; shapes not packed have none."""
        for ann_id, a in pairs:
            points, rings = outlines.pack(a.polygons, a.holes)
            if points is not None:
                yield ann_id, points, rings

    def add_annotation(self, ann: Annotation) -> int:
        return self.add_annotations([ann])[0]

    def update_annotation(self, ann: Annotation) -> None:
        self.update_annotations([ann])

    def update_annotations(self, anns: Iterable[Annotation]) -> None:
        now = time.time()
        anns = list(anns)
        with self.transaction() as c:
            before = self._images_of([a.id for a in anns])
            for a in anns:
                c.execute(f"UPDATE annotations SET ({_ANN_COLS}) = ({','.join('?' * 20)}) WHERE id=?",
                          (*self._ann_row(a, now), a.id))
            c.executemany("DELETE FROM outlines WHERE annotation_id=?", [(a.id,) for a in anns])
            c.executemany("INSERT INTO outlines (annotation_id, points, rings) VALUES (?, ?, ?)",
                          self._outline_rows((a.id, a) for a in anns))
            self._emit("annotations", "updated", [a.id for a in anns], before + [a.image_id for a in anns])

    def delete_annotations(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        with self.transaction() as c:
            images = self._images_of(ids)
            c.executemany("DELETE FROM annotations WHERE id=?", [(i,) for i in ids])
            self._emit("annotations", "removed", ids, images)

    @staticmethod
    def _ann(r) -> Annotation:
        return Annotation(
            id=r[0], image_id=r[1], category_id=r[2], kind=r[3], bbox=(r[4], r[5], r[6], r[7]),
            polygons=_loads(r[8]) if r[8] else None, holes=_loads(r[9]) if r[9] else None,
            rle=_loads(r[10]) if r[10] else None, area=r[11], iscrowd=r[12], score=r[13],
            status=r[14], source=r[15], run_id=r[16], created_by=r[17], created_at=r[18],
            extra=_loads_extra(r[20]))

    def annotations(self, image_id: int | None = None, category_id: int | None = None,
                    status: str | None = None, run_id: int | None = None,
                    image_ids: Iterable[int] | None = None, between: Callable[[], object] | None = None,
                    kind: str | None = None) -> list[Annotation]:
        """The annotations that match, by id. `between()`, when given, is called before each BETWEEN_ROWS
        records are made (a reader on a worker thread waits there while the GUI thread needs the interpreter)."""
        rows = self._annotation_rows(image_id, category_id, status, run_id, image_ids, kind)
        if between is None:
            return [self._ann(r) for r in rows]
        out: list[Annotation] = []
        for batch in self._records(rows, BETWEEN_ROWS, between):
            out += batch
        return out

    def box_rows(self, status: str, run_id: int | None = None,
                 image_ids: Iterable[int] | None = None) -> list[tuple]:
        """(id, image_id, category_id, x, y, w, h, area, iscrowd, score, extra or None when empty) of the
        annotations that match, by id: what an evaluation of boxes reads, the values of their records,
        without their outlines (a sixth of the time at 160k annotations). `image_ids` covering most of
        the project's images are not sent as a filter: all rows are read and picked here (one scan
        instead of many lookups)."""
        where, args = ["status=?"], [status]
        if run_id is not None:
            where.append("run_id=?")
            args.append(run_id)
        picked = None
        if image_ids is not None:
            image_ids = set(image_ids)
            if len(image_ids) > IN_CHUNK and 2 * len(image_ids) >= self._read("SELECT COUNT(*) FROM images")[0][0]:
                picked, image_ids = image_ids, None
        rows = self._select("SELECT id, image_id, category_id, x, y, w, h, area, iscrowd, score, "
                            "CASE WHEN extra = '{}' THEN NULL ELSE extra END FROM annotations",
                            where, args, "image_id", image_ids)
        if picked is not None:
            rows = [r for r in rows if r[1] in picked]
        rows.sort(key=lambda r: r[0])
        return [r if r[10] is None else r[:10] + (_loads_extra(r[10]),) for r in rows]

    def annotation_batches(self, image_id: int, size: int) -> Iterator[list[Annotation]]:
        """The image's annotations, by id, in lists of `size`: the rows are read at the first step, each
        list is made when asked for (the canvas makes an image's items between frames)."""
        yield from self._records(self._annotation_rows(image_id), size)

    def _records(self, rows: list[tuple], size: int,
                 before: Callable[[], object] = lambda: None) -> Iterator[list[Annotation]]:
        """The annotations of these rows, `size` at a time, `before()` called before each list is made."""
        for k in range(0, len(rows), size):
            before()
            yield [self._ann(r) for r in rows[k:k + size]]

    def _annotation_rows(self, image_id: int | None = None, category_id: int | None = None,
                         status: str | None = None, run_id: int | None = None,
                         image_ids: Iterable[int] | None = None, kind: str | None = None) -> list[tuple]:
        where, args = [], []
        for col, val in (("image_id", image_id), ("category_id", category_id), ("status", status),
                         ("run_id", run_id), ("kind", kind)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        rows = self._select(f"SELECT id, {_ANN_COLS} FROM annotations", where, args, "image_id", image_ids)
        rows.sort(key=lambda r: r[0])
        return rows

    def outlines(self, image_id: int) -> outlines.Outlines:
        """The image's shapes as arrays, by id, with their packed rings (annotations/outlines.py): what
        drawing them needs, without an Annotation each. A row without packed rings (a small polygon, or
        one written before the columns existed) is packed from its JSON here."""
        rows = self._read("SELECT a.id, a.category_id, a.kind, a.status, a.score, a.x, a.y, a.w, a.h, o.points, "
                          "o.rings, CASE WHEN o.points IS NULL THEN a.polygons END, "
                          "CASE WHEN o.points IS NULL THEN a.holes END FROM annotations a "
                          "LEFT JOIN outlines o ON o.annotation_id = a.id WHERE a.image_id=? ORDER BY a.id", (image_id,))
        rows = [r[:11] if r[9] is not None or r[11] is None else
                (*r[:9], *outlines.pack(_loads(r[11]), _loads(r[12]) if r[12] else None, least=0)) for r in rows]
        return outlines.outlines_from_rows(rows)

    def annotation(self, ann_id: int) -> Annotation | None:
        rows = self._read(f"SELECT id, {_ANN_COLS} FROM annotations WHERE id=?", (ann_id,))
        return self._ann(rows[0]) if rows else None

    # ---- predictions and runs --------------------------------------------------------------
    def add_run(self, run: ModelRun) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO runs (id, model, weights, kind, params, created_at) VALUES (?,?,?,?,?,?)",
                            (run.id, run.model, run.weights, run.kind, json.dumps(run.params), run.created_at))
            self._emit("runs", "added", [cur.lastrowid])
        return cur.lastrowid

    def runs(self, kind: str | None = None) -> list[ModelRun]:
        rows = self._read("SELECT id, model, weights, kind, params, created_at FROM runs ORDER BY id")
        runs = [ModelRun(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5]) for r in rows]
        return [r for r in runs if kind is None or r.kind == kind]

    def run(self, run_id: int) -> ModelRun | None:
        return next((r for r in self.runs() if r.id == run_id), None)

    def delete_run(self, run_id: int) -> None:
        """Delete a run and the predictions it still owns (accepted ones are labels and stay)."""
        with self.transaction() as c:
            c.execute("UPDATE annotations SET run_id=NULL WHERE run_id=? AND status=?", (run_id, LABEL))
            c.execute("DELETE FROM runs WHERE id=?", (run_id,))
            self._emit("runs", "removed", [run_id])
            self._emit("annotations", "removed", [])

    def accept_predictions(self, ids: Iterable[int]) -> None:
        """Predictions become labels; provenance (model name, score) is kept."""
        ids = list(ids)
        with self.transaction() as c:
            c.executemany("UPDATE annotations SET status=?, updated_at=? WHERE id=? AND status=?",
                          [(LABEL, time.time(), i, PREDICTION) for i in ids])
            self._emit("annotations", "updated", ids, self._images_of(ids))

    def reject_predictions(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        with self.transaction() as c:
            images = self._images_of(ids)
            c.executemany("DELETE FROM annotations WHERE id=? AND status=?", [(i, PREDICTION) for i in ids])
            self._emit("annotations", "removed", ids, images)

    # ---- hide and lock (view state kept with the project) ---------------------------------
    def view_flags(self) -> dict[tuple[str, str], set[int]]:
        """{(kind, flag): ids}: kind "annotation" | "category", flag "hidden" | "locked"."""
        out: dict[tuple[str, str], set[int]] = {}
        for kind, i, flag in self._read("SELECT kind, id, flag FROM view_flags"):
            out.setdefault((kind, flag), set()).add(i)
        return out

    def set_view_flags(self, kind: str, flag: str, ids: Iterable[int], on: bool) -> None:
        rows = [(kind, int(i), flag) for i in ids]
        with self.transaction() as c:
            if on:
                c.executemany("INSERT OR IGNORE INTO view_flags (kind, id, flag) VALUES (?, ?, ?)", rows)
            else:
                c.executemany("DELETE FROM view_flags WHERE kind=? AND id=? AND flag=?", rows)
            self._emit("view_flags", "updated", [r[1] for r in rows])

