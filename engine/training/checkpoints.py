"""Checkpoints in the agreed format (see engine.weights): written atomically, read back safely.

engine.weights owns the format; this module calls it when present and otherwise writes the
same dict itself, so training does not wait on that module.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from engine.checksum import add_checksum, checksum_problem

FORMAT, VERSION = "sightline-checkpoint", 1


def save(path: str | os.PathLike, model: torch.nn.Module, model_name: str, categories: list[str],
         **extra: Any) -> Path:
    path = Path(path)
    try:
        from engine.weights import save_checkpoint
    except ImportError:
        save_checkpoint = None
    if save_checkpoint is not None:
        save_checkpoint(path, model, model_name, categories, **extra)
        return path
    state = add_checksum({"format": FORMAT, "version": VERSION, "model_name": model_name,
                          "categories": list(categories), "model": model.state_dict(), **extra})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load(path: str | os.PathLike) -> dict:
    """The checkpoint dict; a bare state_dict file comes back as {"model": state_dict}."""
    try:
        from engine.weights import load_checkpoint
    except ImportError:
        load_checkpoint = None
    if load_checkpoint is not None:
        return load_checkpoint(path)
    # Everything training stores (RNG states included) is tensors and plain values.
    data = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(data, dict) and data.get("format") == FORMAT:
        problem = checksum_problem(data)
        if problem:
            raise ValueError(f"{path}: refused: {problem}")
        return data
    if isinstance(data, dict) and all(isinstance(v, torch.Tensor) for v in data.values()):
        return {"model": data}
    raise ValueError(f"{path}: not a Sightline checkpoint nor a state_dict")


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
