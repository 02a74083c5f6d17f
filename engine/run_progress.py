"""Which images a prediction run still lacks, and whether it is running, complete or incomplete.

A tracked run lists its images in `run_images` (done or not) and has one `run_state` row. The
storing function marks images done in the same transaction as their predictions, so a killed
process leaves an exact record of what is missing. A run whose state says "running" but whose
owning process is gone (same host) reads as incomplete. No torch here: the GUI reads this too.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Iterable

RUNNING, COMPLETE, INCOMPLETE = "running", "complete", "incomplete"


@dataclass
class RunStatus:
    run_id: int
    status: str  # RUNNING | COMPLETE | INCOMPLETE
    total: int
    missing_ids: list[int] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)  # image id -> why it is missing (when known)

    @property
    def missing(self) -> int:
        return len(self.missing_ids)

    def describe(self) -> str:
        if self.status == COMPLETE:
            return f"run {self.run_id} complete ({self.total} images)"
        return f"run {self.run_id} {self.status}: {self.missing} of {self.total} images missing"


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    """False only when the owner ran on this host and its process is gone."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def begin_run(store, run_id: int, image_ids: Iterable[int]) -> None:
    """Start (or take over, when resuming) tracking `run_id` over `image_ids`."""
    ids = list(image_ids)
    with store.transaction() as c:
        c.execute("INSERT OR REPLACE INTO run_state (run_id, status, owner, updated_at) VALUES (?,?,?,?)",
                  (run_id, RUNNING, owner_tag(), time.time()))
        c.executemany("INSERT OR IGNORE INTO run_images (run_id, image_id) VALUES (?, ?)",
                      [(run_id, i) for i in ids])
        store._emit("runs", "updated", [run_id])


def mark_done(store, run_id: int, image_ids: Iterable[int]) -> None:
    """Inside the transaction that stores their predictions (untracked runs: nothing happens)."""
    with store.transaction() as c:
        c.executemany("UPDATE run_images SET done=1, problem='' WHERE run_id=? AND image_id=?",
                      [(run_id, i) for i in image_ids])


def mark_problems(store, run_id: int, problems: dict[int, str]) -> None:
    if not problems:
        return
    with store.transaction() as c:
        c.executemany("UPDATE run_images SET problem=? WHERE run_id=? AND image_id=? AND done=0",
                      [(text, run_id, i) for i, text in problems.items()])


def done_ids(store, run_id: int) -> set[int]:
    return {r[0] for r in store._read("SELECT image_id FROM run_images WHERE run_id=? AND done=1", (run_id,))}


def finish_run(store, run_id: int) -> RunStatus:
    """Record the end of this process's work: complete when no image is missing."""
    with store.transaction() as c:
        missing = c.execute("SELECT COUNT(*) FROM run_images WHERE run_id=? AND done=0", (run_id,)).fetchone()[0]
        c.execute("UPDATE run_state SET status=?, updated_at=? WHERE run_id=?",
                  (INCOMPLETE if missing else COMPLETE, time.time(), run_id))
        store._emit("runs", "updated", [run_id])
    return run_status(store, run_id)


def run_status(store, run_id: int) -> RunStatus | None:
    """The run's status, or None for runs that do not track their images (interactive ones)."""
    state = store._read("SELECT status, owner FROM run_state WHERE run_id=?", (run_id,))
    if not state:
        return None
    status, owner = state[0]
    rows = store._read("SELECT image_id, done, problem FROM run_images WHERE run_id=? ORDER BY image_id", (run_id,))
    missing = [r[0] for r in rows if not r[1]]
    if status == RUNNING and not _owner_alive(owner):
        status = INCOMPLETE
    elif status == COMPLETE and missing:  # images added to the run later
        status = INCOMPLETE
    return RunStatus(run_id, status, len(rows), missing, {r[0]: r[2] for r in rows if not r[1] and r[2]})
