"""What every format shares: errors, reports, progress with cancel, checks on coordinates,
and the mapping of a file's categories and images onto the project's."""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from ..model import Category, ImageRecord
from ..store import Store

Progress = Callable[[int, int], "bool | None"]


class FormatError(Exception):
    """Bad input or an impossible export. The message names the file and the entry."""


class Cancelled(Exception):
    """Raised inside an import or export when progress() returned False; nothing is changed."""


@dataclass
class ImportReport:
    images: int = 0  # images added to the project
    annotations: int = 0
    categories: int = 0  # categories added to the project
    images_matched: int = 0  # images already in the project that received annotations
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    run_id: int | None = None  # set when predictions were imported

    def __str__(self) -> str:
        if self.cancelled:
            return "Import cancelled; the project is unchanged."
        s = (f"Imported {self.annotations} annotations on {self.images} new images"
             f" ({self.images_matched} already in the project), {self.categories} new categories.")
        return s + "".join(f"\n  warning: {w}" for w in self.warnings)


@dataclass
class ExportReport:
    images: int = 0
    annotations: int = 0
    categories: int = 0
    files: int = 0  # files written
    path: str = ""
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False

    def __str__(self) -> str:
        if self.cancelled:
            return "Export cancelled; nothing was written."
        s = (f"Exported {self.annotations} annotations on {self.images} images, {self.categories} categories "
             f"to {self.path} ({self.files} files).")
        return s + "".join(f"\n  warning: {w}" for w in self.warnings)


class Ticker:
    """Calls progress(done, total) now and then; raises Cancelled when it returns False."""

    def __init__(self, progress: Progress | None, total: int, every: int = 1):
        self.progress, self.total, self.every = progress, max(int(total), 0), max(1, every)
        self.done = 0

    def step(self, n: int = 1) -> None:
        before = self.done
        self.done += n
        if self.progress is not None and (self.done // self.every != before // self.every or self.done >= self.total):
            self.report()

    def report(self) -> None:
        if self.progress is not None and self.progress(min(self.done, self.total), self.total) is False:
            raise Cancelled()


# ---- checks ---------------------------------------------------------------------------------
_NUMBER_TYPES = {int, float}  # exact types: a JSON true/false is not a coordinate

def check_numbers(values, where: str, what: str, allow_negative: bool = False) -> list[float]:
    """Finite, non-negative numbers, else a FormatError naming `where` and `what`.

    Numbers come back as given (ints stay ints), so a file read and written again is unchanged."""
    if isinstance(values, list) and values:
        try:  # fast path in C for the usual case: sum is NaN/inf when any value is
            if math.isfinite(sum(values)) and (allow_negative or min(values) >= 0) \
                    and set(map(type, values)) <= _NUMBER_TYPES:
                return values
        except TypeError:
            pass
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise FormatError(f"{where}: {what} holds {v!r}, which is not a number") from None
        if not math.isfinite(v):
            raise FormatError(f"{where}: {what} holds {v}, coordinates must be finite numbers")
        if v < 0 and not allow_negative:
            raise FormatError(f"{where}: {what} holds the negative value {v}")
        out.append(v)
    return out


def check_ring(ring, where: str, what: str = "polygon") -> list[float]:
    """One flat [x0, y0, x1, y1, ...] ring of at least 3 points."""
    if not isinstance(ring, (list, tuple)):
        raise FormatError(f"{where}: {what} is {type(ring).__name__}, expected a list of coordinates")
    if len(ring) % 2:
        raise FormatError(f"{where}: {what} has an odd number of coordinates ({len(ring)})")
    if len(ring) < 6:
        raise FormatError(f"{where}: {what} has {len(ring) // 2} point(s); a polygon needs at least 3")
    return check_numbers(ring, where, what)


def check_box(bbox, where: str) -> tuple[float, float, float, float]:
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise FormatError(f"{where}: bbox must be 4 numbers [x, y, width, height], got {bbox!r}")
    x, y, w, h = check_numbers(bbox, where, "bbox")
    return (x, y, w, h)


# ---- ids ------------------------------------------------------------------------------------
def existing_ids(store: Store, table: str) -> set[int]:
    with store.transaction() as conn:  # joins the import's transaction when there is one
        return {r[0] for r in conn.execute(f"SELECT id FROM {table}")}  # noqa: S608 - fixed names


class IdAllocator:
    """Keeps a wanted id when it is free, otherwise hands out a new one above all used ids."""

    def __init__(self, used: Iterable[int]):
        self.used = set(used)
        self.next = max(self.used, default=0) + 1
        self.remapped = 0

    def take(self, wanted) -> int:
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0 and wanted not in self.used:
            self.used.add(wanted)
            self.next = max(self.next, wanted + 1)
            return wanted
        if wanted is not None:
            self.remapped += 1
        while self.next in self.used:
            self.next += 1
        self.used.add(self.next)
        return self.next


# ---- categories -----------------------------------------------------------------------------
class CategoryMapper:
    """Names (or a file's category ids) -> project category ids, adding missing categories.

    A category whose name is already in the project maps onto it; a new one keeps the file's id
    when that id is free."""

    def __init__(self, store: Store):
        self.store = store
        self.by_name = {c.name: c.id for c in store.categories()}
        self.ids = IdAllocator(self.by_name.values())
        self.new: list[Category] = []

    def id_for(self, name: str, wanted_id: int | None = None, supercategory: str = "",
               extra: dict | None = None) -> int:
        name = str(name).strip()
        if name in self.by_name:
            return self.by_name[name]
        cid = self.ids.take(wanted_id)
        self.by_name[name] = cid
        self.new.append(Category(cid, name, supercategory, "", dict(extra or {})))
        return cid

    def flush(self) -> int:
        """Add the new categories to the store (inside the caller's transaction)."""
        if self.new:
            self.store.add_categories(self.new)
        n, self.new = len(self.new), []
        return n


# ---- images ---------------------------------------------------------------------------------
class ImageMapper:
    """Image files -> project image ids: an image registered under the same name is reused,
    a new one is added (keeping a wanted id when free)."""

    def __init__(self, store: Store):
        self.store = store
        self.by_name = {r.file_name: r.id for r in store.images()}
        self.ids = IdAllocator(self.by_name.values())
        self.new: list[ImageRecord] = []
        self.matched: set[int] = set()
        self._folders: dict[Path, str] = {}

    def registered_name(self, path: str | os.PathLike) -> str:
        return self.store.relative_name(path)

    def name_under(self, folder: Path, file_name: str) -> str:
        """registered_name(folder / file_name), resolving the folder once rather than every file
        (thousands of resolve() calls dominate a big import otherwise)."""
        rel = PurePosixPath(file_name.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            return self.store.relative_name(folder / file_name)
        if folder not in self._folders:
            self._folders[folder] = self.store.relative_name(folder)
        base = self._folders[folder]
        return rel.as_posix() if base == "." else f"{base}/{rel.as_posix()}"

    def known(self, name: str) -> int | None:
        return self.by_name.get(name)

    def id_for(self, name: str, width: int, height: int, wanted_id: int | None = None, split: str = "",
               extra: dict | None = None) -> int:
        if name in self.by_name:
            iid = self.by_name[name]
            self.matched.add(iid)
            return iid
        iid = self.ids.take(wanted_id)
        self.by_name[name] = iid
        self.new.append(ImageRecord(iid, name, int(width), int(height), split, dict(extra or {})))
        return iid

    def flush(self) -> int:
        if self.new:
            self.store.add_images(self.new)
        n, self.new = len(self.new), []
        return n


# ---- writing a folder of files all at once ----------------------------------------------------
class StagedFolder:
    """Files are written under a hidden sibling folder, then moved into place one by one with
    os.replace (each atomic). A cancelled or failed export leaves the target untouched."""

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise FormatError(f"{self.target}: exists and is not a folder")
        self.stage = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        self.files = 0

    def __enter__(self) -> "StagedFolder":
        shutil.rmtree(self.stage, ignore_errors=True)
        self.stage.mkdir(parents=True)
        return self

    def path(self, relative: str) -> Path:
        p = self.stage / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_text(self, relative: str, text: str) -> None:
        self.path(relative).write_text(text, encoding="utf-8")
        self.files += 1

    def write_bytes(self, relative: str, data: bytes) -> None:
        self.path(relative).write_bytes(data)
        self.files += 1

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                for src in sorted(self.stage.rglob("*")):
                    if src.is_file():
                        dst = self.target / src.relative_to(self.stage)
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        with open(src, "rb") as f:
                            os.fsync(f.fileno())
                        os.replace(src, dst)
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
        return False


def safe_stem(file_name: str) -> str:
    """A file stem for per-image outputs: the image's stem (its folders are dropped)."""
    return Path(file_name).stem or "image"


def unique_stems(records: list[ImageRecord], warnings: list[str]) -> dict[int, str]:
    """image id -> output stem; images sharing a stem get their id appended (and a warning)."""
    seen: dict[str, int] = {}
    out = {}
    clashes = 0
    for r in records:
        stem = safe_stem(r.file_name)
        if stem in seen:
            clashes += 1
            stem = f"{stem}_{r.id}"
        seen[stem] = r.id
        out[r.id] = stem
    if clashes:
        warnings.append(f"{clashes} image(s) share a file stem with another image; their output files "
                        "carry the image id (e.g. name_12)")
    return out
