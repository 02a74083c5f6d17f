"""Results files of `predict --project` under torchrun: each rank other than 0 appends its images'
predictions to its own file; rank 0 merges what is complete into the store, one transaction a merge.

A line is one image (all its predictions, or why it could not be read), so a rank killed mid-write
loses at most the image it was writing. The merge skips images the run already has, so merging the
same file twice (after a crash, on a rerun) duplicates nothing. Files live beside the project
database, in `.sightline-predict/run-N/`, and go when the run is complete.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional, Union

import msgspec
import numpy as np

from . import run_progress
from .prediction_store import StoredPredictions, store_predictions
from .predictor import ImagePrediction

SHARD_FOLDER = ".sightline-predict"


def shard_dir(store_root: str | os.PathLike, run_id: int) -> Path:
    return Path(store_root) / SHARD_FOLDER / f"run-{run_id}"


def _encode(image_id: int, pred: ImagePrediction) -> dict:
    return {"image_id": int(image_id), "boxes": pred.boxes.tolist(), "scores": pred.scores.tolist(),
            "labels": list(pred.labels), "masks": pred.masks}


class _Line(msgspec.Struct):
    """A results line as _encode writes it, its types checked: the files lie in the project folder."""
    image_id: int
    boxes: list[tuple[float, float, float, float]] = []
    scores: list[float] = []
    labels: list[Union[int, str]] = []
    masks: Optional[list[Any]] = None
    problem: Optional[str] = None


def _checked(raw: bytes) -> _Line | None:
    """The line, or None for a torn one (a killed rank) or one that is not what a rank writes."""
    try:
        line = msgspec.convert(json.loads(raw), _Line)
    except (ValueError, RecursionError, msgspec.ValidationError):
        return None
    n = len(line.boxes)
    same = len(line.scores) == n and len(line.labels) == n and (line.masks is None or len(line.masks) == n)
    return line if same else None


def _decode(line: _Line) -> ImagePrediction:
    return ImagePrediction(np.asarray(line.boxes, np.float32).reshape(-1, 4),
                           np.asarray(line.scores, np.float32), list(line.labels), line.masks)


class ShardWriter:
    """One rank's results file (its first line names the rank and its process)."""

    def __init__(self, folder: Path, rank: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"rank-{rank}.jsonl"
        self._f = open(self.path, "w", encoding="utf-8")
        self._write({"rank": rank, "pid": os.getpid()})

    def _write(self, obj: dict) -> None:
        self._f.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def add(self, image_ids, preds, problems: dict[int, str]) -> None:
        """One batch, flushed to disk before the next is predicted."""
        for image_id, pred in zip(image_ids, preds):
            self._write(_encode(image_id, pred))
        for image_id, text in problems.items():
            self._write({"image_id": int(image_id), "problem": text})
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


class ShardMerger:
    """Rank 0's reader of the other ranks' files; each merge takes only complete new lines."""

    def __init__(self, store, run_id: int, model_name: str, add_categories: bool):
        self.store, self.run_id = store, run_id
        self.model_name, self.add_categories = model_name, add_categories
        self.folder = shard_dir(store.root, run_id)
        self._offsets: dict[Path, int] = {}

    def _new_lines(self) -> list[_Line]:
        lines = []
        for path in sorted(self.folder.glob("rank-*.jsonl")) if self.folder.is_dir() else []:
            with open(path, "rb") as f:
                f.seek(self._offsets.get(path, 0))
                data = f.read()
            end = data.rfind(b"\n") + 1  # a line still being written waits for the next merge
            self._offsets[path] = self._offsets.get(path, 0) + end
            for raw in data[:end].splitlines():
                line = _checked(raw)  # None: a torn line of a killed rank; that image stays missing
                if line is not None:
                    lines.append(line)
        return lines

    def merge(self) -> StoredPredictions:
        lines = self._new_lines()
        if not lines:
            return StoredPredictions()
        done = run_progress.done_ids(self.store, self.run_id)
        items, problems = {}, {}
        for line in lines:
            image_id = line.image_id
            if image_id in done:
                continue
            if line.problem is not None:
                problems[image_id] = line.problem
            else:
                items[image_id] = _decode(line)
        with self.store.transaction():
            out = store_predictions(self.store, self.run_id, items.items(), self.model_name, self.add_categories)
            run_progress.mark_problems(self.store, self.run_id, problems)
        return out

    def discard(self) -> None:
        """Forget the files (after a complete merge)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.parent.rmdir()
        except OSError:
            pass
