"""Opening a project database without writing to it: the read-only connection and the check
that runs before the first write (so a damaged database is refused whole, never modified)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def writable(root: Path, db: Path) -> bool:
    return os.access(db, os.W_OK) and os.access(root, os.W_OK)


def disk_full(error: sqlite3.Error, folder: Path, room: int = 1 << 20) -> bool:
    """Whether SQLite failed for want of space: it says "database or disk is full", or only "disk
    I/O error" when its -wal or -shm file beside the database cannot grow (then the folder's file
    system has less than `room` bytes free)."""
    text = str(error)
    if "full" in text:
        return True
    if "disk I/O error" not in text:
        return False
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows): say what SQLite said
        return False
    return st.f_bavail * st.f_frsize < room


def read_only_connection(db: Path, busy_timeout_ms: int = 60_000) -> sqlite3.Connection:
    """mode=ro; immutable=1 when even that cannot open (a WAL database in a read-only folder whose
    -shm file cannot be created)."""
    uri = Path(db).absolute().as_uri()
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = sqlite3.connect(uri + query, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except BaseException as e:
            conn.close()
            if query.endswith("immutable=1") or not isinstance(e, sqlite3.OperationalError):
                raise
    raise AssertionError("unreachable")


def verify_database(db: Path, error: type[Exception], rows=None):
    """Read-only look at an existing database before anything writes to it; `rows(connection)`, when
    given, looks further on the same connection once the file holds (its result is returned)."""
    try:
        conn = read_only_connection(db)
        try:
            result = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            looked = rows(conn) if rows is not None and result == ["ok"] else None
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise error(f"{db} is not a readable project database (damaged, or another kind of file: {e}); "
                    "it was left as it was.") from e
    if result != ["ok"]:
        raise error(f"{db} is damaged ({'; '.join(result[:3])}); it was left as it was. Restore it from a "
                         "backup, or copy its images to a new project.")
    return looked
