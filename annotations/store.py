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

from .model import Annotation, Category, ImageRecord
from .errors import StoreError
from .store_open import disk_full, read_only_connection, verify_database, writable
from .store_check import refuse_foreign_rows
from .store_records import _ANN_COLS, _ENCODE, RecordsMixin, _dumps  # noqa: F401 - used by the formats
from .store_counts import IN_CHUNK, StoreCounts
from .store_schema import MIGRATIONS, SCHEMA_VERSION, schema_version  # noqa: F401 - tests and tools read them here

DB_NAME = "project.sightline"
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
BUSY_TIMEOUT_MS = 60_000
# SQLite's page cache per connection (KiB). Its default of 2 MiB makes a large import spill index
# pages to the WAL again and again (a third of the insert time at 50k annotations); the cache only
# grows as pages are used, so small projects take no more memory.
CACHE_KIB = 65_536


@dataclass
class StoreEvent:
    table: str  # "images" | "categories" | "annotations" | "runs" | "meta"
    action: str  # "added" | "updated" | "removed"
    ids: list[int] = field(default_factory=list)
    image_ids: list[int] = field(default_factory=list)  # for annotations: the images they lie on


class _Lease:
    """A thread's hold on one of the store's connections (kept in the store's thread-local). When the
    thread's Python state is cleared -- the thread ended, or a Qt pool thread's run did -- the lease
    goes with it and hands the connection back to the store's idle list for the next thread (an
    append: atomic, no lock, safe wherever the collector runs this). It holds that list, not the
    store, so a closed store is not kept alive by its own thread-local."""
    __slots__ = ("conn", "idle")

    def __init__(self, conn: sqlite3.Connection, idle: list):
        self.conn, self.idle = conn, idle

    def __del__(self):
        self.idle.append(self.conn)  # after close(): a closed connection no one takes (_conn refuses)


class Store(RecordsMixin, StoreCounts):
    """A project: `root` folder (images are registered relative to it) + its database."""

    def __init__(self, root: Path, db_path: Path, read_only: bool = False):
        self.root = root
        self.db_path = db_path
        self.read_only = read_only  # opened without write access: every write raises StoreError
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []  # every open connection, closed by close()
        self._idle: list[sqlite3.Connection] = []  # those whose thread has gone, for the next thread
        self._conns_lock = threading.Lock()
        self._listeners: list[Callable[[StoreEvent], None]] = []
        self._closed = False

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, create: bool = True, read_only: bool | None = None) -> "Store":
        """Open the project in folder `path` (or the database file itself); create it if asked.

        An existing database is checked (PRAGMA quick_check, read-only) before anything writes to
        it: a damaged one raises StoreError at once and is left as it was. read_only None opens it
        read-only when the folder or the file cannot be written, or the disk is too full for SQLite's
        -wal and -shm files (export and browse still work)."""
        p = Path(path).expanduser().resolve()
        may_read_only = read_only is None
        if p.is_file() or p.suffix == Path(DB_NAME).suffix:
            root, db = p.parent, p
        else:
            root, db = p, p / DB_NAME
        existed = db.exists()
        if not existed:
            if not create:
                raise StoreError(f"No project at {root} (no {DB_NAME} there).")
            if read_only:
                raise StoreError(f"No project at {root} to open read-only.")
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"{root}: cannot create the project folder ({e.strerror or e})") from e
        else:
            checked = verify_database(db, StoreError, lambda c: refuse_foreign_rows(c, db, StoreError, SCHEMA_VERSION))
            if read_only is None:
                read_only = not writable(root, db)
            elif read_only is False and not writable(root, db):
                raise StoreError(f"{root} cannot be written (a read-only folder or database); nothing was changed.")
        store = cls(root, db, bool(read_only))
        try:
            store._migrate()
            if existed and not checked:  # an older schema: its rows once migrated
                refuse_foreign_rows(store._conn(), db, StoreError)
        except sqlite3.DatabaseError as e:
            store.close()
            if not disk_full(e, root):
                raise StoreError(f"{db} is not a readable project database: {e}") from e
            if may_read_only and existed:  # reading needs no room: export and browse still work
                return cls.open(path, create=False, read_only=True)
            raise StoreError(f"{db}: cannot be opened for writing: the disk is full; nothing was changed.") from e
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def exists(path: str | os.PathLike) -> bool:
        p = Path(path)
        return (p / DB_NAME).exists() or (p.is_file() and p.suffix == Path(DB_NAME).suffix)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection. A thread keeps it while its Python thread state lives; a Qt pool
        thread's state lasts one run, so a worker's connection goes back to `_idle` when its run ends
        (_Lease) and the next worker takes it: as many connections as threads at once, not one per run."""
        if self._closed:
            raise StoreError("The project is closed.")
        lease = getattr(self._local, "lease", None)
        if lease is None:
            try:
                conn = self._idle.pop()
            except IndexError:
                conn = self._new_conn()
            self._local.lease = _Lease(conn, self._idle)
            self._local.depth = 0
            self._local.pending = []
            return conn
        return lease.conn

    def _new_conn(self) -> sqlite3.Connection:
        if self.read_only:
            conn = read_only_connection(self.db_path, BUSY_TIMEOUT_MS)
        else:
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        try:
            if not self.read_only:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode=WAL")  # fails on a full disk (no room for -wal)
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        except BaseException:
            conn.close()  # not kept: closed now, not when the garbage collector finds it
            raise
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _migrate(self) -> None:
        """Bring the schema up to date; writes nothing when it already is (a read-only project
        opens only when it needs no migration)."""
        conn = self._conn()
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise StoreError(f"This project was written by a newer version (schema {version}).")
        if version == SCHEMA_VERSION:
            return
        if self.read_only:
            raise StoreError(f"{self.db_path} is read-only and needs an upgrade (schema {version} to "
                             f"{SCHEMA_VERSION}); open it once with write access.")
        with self.transaction():
            version = schema_version(conn)  # another process may have migrated meanwhile
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
            self._idle.clear()
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
        if self.read_only:
            raise StoreError(f"{self.root} is open read-only (its folder or database cannot be written); "
                             "nothing was changed.")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise self._write_error(e) from e
        loc.depth = 1
        loc.pending = []
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            loc.depth = 0
            loc.pending = []
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolled back already (a full disk does); the first error is the one to tell
            if isinstance(e, sqlite3.OperationalError):
                raise self._write_error(e) from e
            raise
        loc.depth = 0
        events, loc.pending = loc.pending, []
        for ev in events:
            for cb in list(self._listeners):
                cb(ev)

    def _write_error(self, e: sqlite3.OperationalError) -> Exception:
        text = str(e)
        if disk_full(e, self.root):
            return StoreError(f"{self.db_path}: cannot write: the disk is full; nothing was changed.")
        if "readonly" in text or "read-only" in text:
            return StoreError(f"{self.db_path}: cannot write: the project is read-only; nothing was changed.")
        return e

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
