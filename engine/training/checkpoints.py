"""Checkpoints of training runs: the app's format is engine.weights' (save_checkpoint writes it
atomically with a checksum of the weights, load_checkpoint reads it back safely); here, the clean-up
of what a killed process left behind."""
from __future__ import annotations

import os
from pathlib import Path

from engine.weights import load_checkpoint as load  # noqa: F401 - the names training uses
from engine.weights import save_checkpoint as save  # noqa: F401


def remove_stale_temporaries(run_dir: str | os.PathLike) -> list[Path]:
    """Delete the half-written checkpoints (.NAME.tmpPID) a killed process left in `run_dir`;
    those of a process still alive are kept. Returns what was deleted."""
    removed = []
    for tmp in Path(run_dir).glob(".*.tmp*"):
        pid = tmp.name.rsplit(".tmp", 1)[-1]
        if not pid.isdigit() or (int(pid) != os.getpid() and _alive(int(pid))):
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
