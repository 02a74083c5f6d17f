"""Run folders: what a training run writes, and reading runs back (for the window and for resume).

    RUN_DIR/run.json       status, options, position, best validation, history (rewritten atomically)
    RUN_DIR/metrics.jsonl  every event the run printed, one JSON object per line (appended)
    RUN_DIR/last.pt        resumable checkpoint      RUN_DIR/best.pt  best validation so far
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import msgspec

from annotations.imageio import atomic_write_text

RUNS_FOLDER = "runs"


class RunFiles:
    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir)
        self.last = self.dir / "last.pt"
        self.best = self.dir / "best.pt"
        self.events = self.dir / "metrics.jsonl"
        self.summary = self.dir / "run.json"

    def append_event(self, event: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")

    def write_summary(self, summary: dict) -> None:
        atomic_write_text(self.summary, json.dumps(summary, indent=1))

    def promote_last_to_best(self) -> None:
        """best.pt becomes the checkpoint last.pt holds now: a hard link where the file system allows (last.pt is
        only ever replaced by rename, so best.pt keeps its own copy of the bytes), a copy otherwise."""
        tmp = self.best.with_name(f".{self.best.name}.tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        try:
            os.link(self.last, tmp)
        except OSError:
            with open(self.last, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
        os.replace(tmp, self.best)


@dataclass
class RunInfo:
    path: Path
    status: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)
    best_metric: float | None = None
    best_epoch: int | None = None
    monitor: str = ""
    epoch: int = 0
    iteration: int = 0
    total_iterations: int | None = None
    history: list[dict] = field(default_factory=list)
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    updated_at: float = 0.0
    error: str = ""
    categories: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def usable_checkpoint(self) -> Path | None:
        """The checkpoint to predict with: the best one, else the last."""
        return self.best_checkpoint or self.last_checkpoint


class _Best(msgspec.Struct):
    value: Optional[float] = None
    epoch: Optional[int] = None
    monitor: str = ""


class _Position(msgspec.Struct):
    epoch: int = 0
    iteration: int = 0


class _Summary(msgspec.Struct):
    """What the window and resume read of run.json, each field's type checked: a run folder lies in
    the project folder, which may come from someone else."""
    status: str = "?"
    model: str = "?"
    options: dict[str, Any] = {}
    best: Optional[_Best] = None
    position: Optional[_Position] = None
    total_iterations: Optional[int] = None
    history: list[dict[str, Any]] = []
    updated_at: float = 0.0
    error: str = ""
    categories: list[str] = []


def read_run(run_dir: str | os.PathLike) -> RunInfo | None:
    """A run folder's summary; None when it holds none, or one that is not what a run writes."""
    files = RunFiles(run_dir)
    try:
        s = msgspec.convert(json.loads(files.summary.read_text(encoding="utf-8")), _Summary)
    except (OSError, ValueError, RecursionError, msgspec.ValidationError):
        return None
    best, pos = s.best or _Best(), s.position or _Position()
    return RunInfo(
        path=files.dir, status=s.status, model=s.model, options=s.options,
        best_metric=best.value, best_epoch=best.epoch, monitor=best.monitor,
        epoch=pos.epoch, iteration=pos.iteration, total_iterations=s.total_iterations, history=s.history,
        last_checkpoint=files.last if files.last.exists() else None,
        best_checkpoint=files.best if files.best.exists() else None,
        updated_at=s.updated_at if 0 <= s.updated_at < 1e11 else 0.0, error=s.error, categories=s.categories)


def list_runs(project_root: str | os.PathLike) -> list[RunInfo]:
    """Runs under <project>/runs/, newest first."""
    folder = Path(project_root) / RUNS_FOLDER
    if not folder.is_dir():
        return []
    runs = [r for r in (read_run(p) for p in folder.iterdir() if p.is_dir()) if r is not None]
    return sorted(runs, key=lambda r: r.updated_at, reverse=True)


def new_run_dir(project_root: str | os.PathLike, model: str) -> Path:
    """A fresh folder name under <project>/runs/: <model>-<n>."""
    folder = Path(project_root) / RUNS_FOLDER
    n = 1
    while (folder / f"{model}-{n}").exists():
        n += 1
    return folder / f"{model}-{n}"


def resume_options(run_dir: str | os.PathLike, **overrides):
    """The options a run was started with (from its last checkpoint), with some replaced."""
    from . import checkpoints
    from .options import TrainOptions
    files = RunFiles(run_dir)
    if not files.last.exists():
        raise FileNotFoundError(f"{files.dir} holds no last.pt to resume from.")
    opts = TrainOptions.from_dict(checkpoints.load(files.last)["options"])
    for k, v in overrides.items():
        if v is not None:
            setattr(opts, k, v)
    return opts
