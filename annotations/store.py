"""The project store: one SQLite database (WAL) beside the project's images.

Every public write is one transaction; `with store.transaction():` groups several into one (an
import is all-or-nothing). Each thread gets its own connection, so the GUI and a background job can
write at once; SQLite's busy timeout serialises the writers and no "database is locked" escapes.
Listeners registered with `subscribe` hear about committed changes (in the writing thread).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import orjson

from . import geometry
from .model import LABEL, PREDICTION, Annotation, Category, ImageRecord, ModelRun
from .errors import SightlineError
from .store_counts import IN_CHUNK, StoreCounts

DB_NAME = "project.sightline"
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
BUSY_TIMEOUT_MS = 60_000


class StoreError(SightlineError):
    """A user-facing problem with the store (message is meant to be read)."""


@dataclass
class StoreEvent:
    table: str  # "images" | "categories" | "annotations" | "runs" | "meta"
    action: str  # "added" | "updated" | "removed"
    ids: list[int] = field(default_factory=list)
    image_ids: list[int] = field(default_factory=list)  # for annotations: the images they lie on


# Each entry migrates from version i to i+1.
_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE categories (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, supercategory TEXT NOT NULL DEFAULT '',
    color TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL DEFAULT '{}');
CREATE TABLE images (
    id INTEGER PRIMARY KEY, file_name TEXT NOT NULL UNIQUE, width INTEGER NOT NULL,
    height INTEGER NOT NULL, split TEXT NOT NULL DEFAULT '', extra TEXT NOT NULL DEFAULT '{}',
    added_at REAL NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, model TEXT NOT NULL, weights TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'predict', params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    kind TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    polygons TEXT, holes TEXT, rle TEXT, area REAL NOT NULL, iscrowd INTEGER NOT NULL DEFAULT 0,
    score REAL, status TEXT NOT NULL DEFAULT 'label', source TEXT NOT NULL DEFAULT 'hand',
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, updated_at REAL NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX ann_image ON annotations(image_id);
CREATE INDEX ann_category ON annotations(category_id);
CREATE INDEX ann_run ON annotations(run_id);
CREATE INDEX img_split ON images(split);
"""
# Hide and lock, kept with the project; rows go when their annotation or category goes.
_VIEW_FLAGS = """
CREATE TABLE IF NOT EXISTS view_flags (
    kind TEXT NOT NULL CHECK (kind IN ('annotation', 'category')), id INTEGER NOT NULL,
    flag TEXT NOT NULL CHECK (flag IN ('hidden', 'locked')), PRIMARY KEY (kind, id, flag)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS view_flags_annotation_gone AFTER DELETE ON annotations
    BEGIN DELETE FROM view_flags WHERE kind = 'annotation' AND id = OLD.id; END;
CREATE TRIGGER IF NOT EXISTS view_flags_category_gone AFTER DELETE ON categories
    BEGIN DELETE FROM view_flags WHERE kind = 'category' AND id = OLD.id; END;
"""
MIGRATIONS: list[str] = [_SCHEMA_V1, _VIEW_FLAGS]
SCHEMA_VERSION = len(MIGRATIONS)

_ANN_COLS = ("image_id, category_id, kind, x, y, w, h, polygons, holes, rle, area, iscrowd, score, "
             "status, source, run_id, created_by, created_at, updated_at, extra")


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # built once: rows are hot


def _dumps(v) -> str | None:
    return None if v is None else _ENCODE(v)


def _loads(text: str):
    """An annotation column's JSON: orjson (several times json's speed on polygon rings, the same
    values and types); json for what orjson refuses (NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Store(StoreCounts):
    """A project: `root` folder (images are registered relative to it) + its database."""

    def __init__(self, root: Path, db_path: Path):
        self.root = root
        self.db_path = db_path
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._listeners: list[Callable[[StoreEvent], None]] = []
        self._closed = False

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, create: bool = True) -> "Store":
        """Open the project in folder `path` (or the database file itself); create it if asked."""
        p = Path(path).expanduser().resolve()
        if p.is_file() or p.suffix == Path(DB_NAME).suffix:
            root, db = p.parent, p
        else:
            root, db = p, p / DB_NAME
        if not db.exists():
            if not create:
                raise StoreError(f"No project at {root} (no {DB_NAME} there).")
            root.mkdir(parents=True, exist_ok=True)
        store = cls(root, db)
        try:
            store._migrate()
        except sqlite3.DatabaseError as e:
            store.close()
            raise StoreError(f"{db} is not a readable project database: {e}") from e
        return store

    @staticmethod
    def exists(path: str | os.PathLike) -> bool:
        p = Path(path)
        return (p / DB_NAME).exists() or (p.is_file() and p.suffix == Path(DB_NAME).suffix)

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("The project is closed.")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            self._local.depth = 0
            self._local.pending = []
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        with self.transaction():
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            version = 0
            if has_meta:
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"This project was written by a newer version (schema {version}).")
            for v in range(version, SCHEMA_VERSION):
                for stmt in _statements(MIGRATIONS[v]):
                    conn.execute(stmt)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        with self._conns_lock:
            for c in self._conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- transactions and events -----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested uses join the outermost. Events fire after commit."""
        conn = self._conn()
        loc = self._local
        if loc.depth:
            loc.depth += 1
            try:
                yield conn
            finally:
                loc.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        loc.depth = 1
        loc.pending = []
        try:
            yield conn
        except BaseException:
            loc.depth = 0
            conn.execute("ROLLBACK")
            loc.pending = []
            raise
        loc.depth = 0
        conn.execute("COMMIT")
        events, loc.pending = loc.pending, []
        for ev in events:
            for cb in list(self._listeners):
                cb(ev)

    def _emit(self, table: str, action: str, ids: Iterable[int], image_ids: Iterable[int] = ()) -> None:
        self._local.pending.append(StoreEvent(table, action, list(ids), sorted(set(image_ids))))

    def _images_of(self, ann_ids: list[int]) -> list[int]:
        """The images these annotations lie on (read inside the caller's transaction)."""
        rows = self._select("SELECT DISTINCT image_id FROM annotations", [], [], "id", ann_ids)
        return [r[0] for r in rows]

    def subscribe(self, callback: Callable[[StoreEvent], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _read(self, sql: str, args=()) -> list[tuple]:
        return self._conn().execute(sql, args).fetchall()

    # ---- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str, default=None):
        row = self._read("SELECT value FROM meta WHERE key=?", (key,))
        return json.loads(row[0][0]) if row else default

    def set_meta(self, key: str, value) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
            self._emit("meta", "updated", [])

    # ---- categories ----------------------------------------------------------------------
    def add_category(self, cat: Category) -> int:
        return self.add_categories([cat])[0]

    def add_categories(self, cats: Iterable[Category]) -> list[int]:
        ids = []
        with self.transaction() as c:
            for cat in cats:
                if not cat.name.strip():
                    raise StoreError("A category needs a name.")
                try:
                    cur = c.execute("INSERT INTO categories (id, name, supercategory, color, extra) VALUES (?,?,?,?,?)",
                                    (cat.id, cat.name, cat.supercategory, cat.color, json.dumps(cat.extra)))
                except sqlite3.IntegrityError as e:
                    raise StoreError(f"Category {cat.name!r} (id {cat.id}) already exists.") from e
                ids.append(cur.lastrowid)
            self._emit("categories", "added", ids)
        return ids

    def update_category(self, cat: Category) -> None:
        with self.transaction() as c:
            try:
                c.execute("UPDATE categories SET name=?, supercategory=?, color=?, extra=? WHERE id=?",
                          (cat.name, cat.supercategory, cat.color, json.dumps(cat.extra), cat.id))
            except sqlite3.IntegrityError as e:
                raise StoreError(f"Another category is already named {cat.name!r}.") from e
            self._emit("categories", "updated", [cat.id])

    def delete_category(self, category_id: int, reassign_to: int | None = None) -> int:
        """Delete a category. Its annotations move to `reassign_to`, or are deleted with it.
        Returns how many annotations were moved or deleted."""
        with self.transaction() as c:
            n = c.execute("SELECT COUNT(*) FROM annotations WHERE category_id=?", (category_id,)).fetchone()[0]
            if reassign_to is not None:
                c.execute("UPDATE annotations SET category_id=?, updated_at=? WHERE category_id=?",
                          (reassign_to, time.time(), category_id))
            c.execute("DELETE FROM categories WHERE id=?", (category_id,))
            self._emit("categories", "removed", [category_id])
            if n:
                self._emit("annotations", "updated" if reassign_to is not None else "removed", [])
        return n

    def categories(self) -> list[Category]:
        return [Category(r[0], r[1], r[2], r[3], json.loads(r[4]))
                for r in self._read("SELECT id, name, supercategory, color, extra FROM categories ORDER BY id")]

    def category(self, category_id: int) -> Category | None:
        return next((c for c in self.categories() if c.id == category_id), None)

    def category_by_name(self, name: str) -> Category | None:
        return next((c for c in self.categories() if c.name == name), None)

    def ensure_category(self, name: str) -> int:
        cat = self.category_by_name(name)
        return cat.id if cat else self.add_category(Category(None, name))

    # ---- images --------------------------------------------------------------------------
    def relative_name(self, path: str | os.PathLike) -> str:
        """How a file is registered: relative to the project root when inside it, else absolute."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return p.as_posix()

    def image_path(self, image: ImageRecord | int) -> Path:
        rec = self.image(image) if isinstance(image, int) else image
        p = Path(rec.file_name)
        return p if p.is_absolute() else self.root / p

    def add_images(self, records: Iterable[ImageRecord]) -> list[int]:
        ids = []
        now = time.time()
        with self.transaction() as c:
            for r in records:
                try:
                    cur = c.execute("INSERT INTO images (id, file_name, width, height, split, extra, added_at) "
                                    "VALUES (?,?,?,?,?,?,?)",
                                    (r.id, r.file_name, int(r.width), int(r.height), r.split, json.dumps(r.extra), now))
                except sqlite3.IntegrityError as e:
                    raise StoreError(f"Image {r.file_name!r} (id {r.id}) is already in the project.") from e
                ids.append(cur.lastrowid)
            self._emit("images", "added", ids)
        return ids

    def add_image(self, record: ImageRecord) -> int:
        return self.add_images([record])[0]

    def add_image_folder(self, folder: str | os.PathLike, recursive: bool = True,
                         progress: Callable[[int, int], bool | None] | None = None) -> tuple[list[int], list[str]]:
        """Register every image file under `folder` not yet in the project.

        Sizes come from file headers. Returns (new ids, problems) where problems name files that
        could not be read. `progress(done, total)` returning False cancels (nothing is added).
        """
        from .imageio import image_size, ImageReadError
        folder = Path(folder)
        files = sorted(p for p in (folder.rglob("*") if recursive else folder.glob("*"))
                       if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and DB_NAME not in p.name)
        known = {r[0] for r in self._read("SELECT file_name FROM images")}
        records, problems = [], []
        for i, p in enumerate(files):
            if progress is not None and progress(i, len(files)) is False:
                return [], problems
            name = self.relative_name(p)
            if name in known:
                continue
            try:
                w, h = image_size(p)
            except ImageReadError as e:
                problems.append(str(e))
                continue
            records.append(ImageRecord(None, name, w, h))
        return self.add_images(records), problems

    def _image(self, r) -> ImageRecord:
        return ImageRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]))

    def image(self, image_id: int) -> ImageRecord | None:
        rows = self._read("SELECT id, file_name, width, height, split, extra FROM images WHERE id=?", (image_id,))
        return self._image(rows[0]) if rows else None

    def _select(self, sql: str, where: list[str], args: list, id_col: str, ids: Iterable[int] | None) -> list[tuple]:
        """Rows matching `where`, and with `id_col` in `ids` when given (queried in chunks), by id."""
        if ids is None:
            chunks = [None]
        else:
            wanted = sorted(set(ids))
            chunks = [wanted[i:i + IN_CHUNK] for i in range(0, len(wanted), IN_CHUNK)]
        rows = []
        for chunk in chunks:
            w, a = list(where), list(args)
            if chunk is not None:
                w.append(f"{id_col} IN ({','.join('?' * len(chunk))})")
                a += chunk
            rows += self._read(sql + (" WHERE " + " AND ".join(w) if w else ""), a)
        return sorted(rows, key=lambda r: r[0]) if len(chunks) > 1 else rows

    def images(self, split: str | None = None, ids: Iterable[int] | None = None) -> list[ImageRecord]:
        where, args = ([], []) if split is None else (["split=?"], [split])
        rows = self._select("SELECT id, file_name, width, height, split, extra FROM images", where, args, "id", ids)
        if ids is None:
            rows.sort(key=lambda r: r[0])
        return [self._image(r) for r in rows]

    def image_ids(self, split: str | None = None) -> list[int]:
        if split is None:
            return [r[0] for r in self._read("SELECT id FROM images ORDER BY id")]
        return [r[0] for r in self._read("SELECT id FROM images WHERE split=? ORDER BY id", (split,))]

    def image_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM images")[0][0]

    def update_image(self, rec: ImageRecord) -> None:
        with self.transaction() as c:
            c.execute("UPDATE images SET file_name=?, width=?, height=?, split=?, extra=? WHERE id=?",
                      (rec.file_name, rec.width, rec.height, rec.split, json.dumps(rec.extra), rec.id))
            self._emit("images", "updated", [rec.id])

    def set_split(self, image_ids: Iterable[int], split: str) -> None:
        ids = list(image_ids)
        with self.transaction() as c:
            c.executemany("UPDATE images SET split=? WHERE id=?", [(split, i) for i in ids])
            self._emit("images", "updated", ids)

    def delete_images(self, image_ids: Iterable[int]) -> None:
        ids = list(image_ids)
        with self.transaction() as c:
            c.executemany("DELETE FROM images WHERE id=?", [(i,) for i in ids])
            self._emit("images", "removed", ids)

    # ---- annotations ---------------------------------------------------------------------
    def _ann_row(self, a: Annotation, now: float) -> tuple:
        bbox = a.bbox
        if (bbox[2] <= 0 or bbox[3] <= 0) and (a.polygons or a.rle is not None):
            bbox = geometry.annotation_bbox(a)
        area = a.area if a.area is not None else geometry.annotation_area(a)
        rle = None if a.rle is None else geometry.normalize_rle(a.rle)
        return (a.image_id, a.category_id, a.kind, float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3]),
                _dumps(a.polygons), _dumps(a.holes), _dumps(rle), float(area), int(a.iscrowd), a.score,
                a.status, a.source, a.run_id, a.created_by, a.created_at, now, _ENCODE(a.extra))

    def add_annotations(self, anns: Iterable[Annotation]) -> list[int]:
        """Insert many annotations in one transaction (ids kept when given). Returns their ids."""
        anns = list(anns)
        now = time.time()
        ids = []
        with self.transaction() as c:
            try:
                for a in anns:
                    row = self._ann_row(a, now)
                    if a.id is None:
                        cur = c.execute(f"INSERT INTO annotations ({_ANN_COLS}) VALUES ({','.join('?' * 20)})", row)
                    else:
                        cur = c.execute(f"INSERT INTO annotations (id, {_ANN_COLS}) VALUES ({','.join('?' * 21)})",
                                        (a.id, *row))
                    ids.append(cur.lastrowid)
            except sqlite3.IntegrityError as e:
                raise StoreError(f"Annotation refused (unknown image or category, or duplicate id): {e}") from e
            self._emit("annotations", "added", ids, [a.image_id for a in anns])
        return ids

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
            extra=_loads(r[20]))

    def annotations(self, image_id: int | None = None, category_id: int | None = None,
                    status: str | None = None, run_id: int | None = None,
                    image_ids: Iterable[int] | None = None) -> list[Annotation]:
        where, args = [], []
        for col, val in (("image_id", image_id), ("category_id", category_id), ("status", status), ("run_id", run_id)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        rows = self._select(f"SELECT id, {_ANN_COLS} FROM annotations", where, args, "image_id", image_ids)
        rows.sort(key=lambda r: r[0])
        return [self._ann(r) for r in rows]

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

    # ---- checks --------------------------------------------------------------------------
    def integrity_check(self) -> str:
        return self._read("PRAGMA integrity_check")[0][0]


def _statements(script: str) -> list[str]:
    """The SQL statements of a script (a trigger's body keeps its inner semicolons)."""
    out, current = [], ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                out.append(current.strip())
            current = ""
    return out


def copy_annotation(a: Annotation, **changes) -> Annotation:
    """A changed copy (dataclasses.replace, with the mutable fields copied deeply enough)."""
    b = replace(a, **changes)
    if "polygons" not in changes and a.polygons is not None:
        b.polygons = [list(p) for p in a.polygons]
    if "holes" not in changes and a.holes is not None:
        b.holes = [list(p) for p in a.holes]
    if "rle" not in changes and a.rle is not None:
        b.rle = dict(a.rle)
    if "extra" not in changes:
        b.extra = dict(a.extra)
    return b
