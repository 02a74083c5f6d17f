"""What every format shares: errors, reports, progress with cancel, checks on coordinates, and
writing a folder of outputs atomically. (Mapping onto the project's ids lives in pending.py.)"""
from __future__ import annotations

import contextlib
import errno
import gc
import json
import math
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..imageio import atomic_write_bytes, write_failure
from ..model import ImageRecord
from ..wording import counted
from ..errors import Cancelled, SightlineError  # noqa: F401 - Cancelled is re-exported
from ..ranges import BIG

Progress = Callable[[int, int], "bool | None"]
# Folder names that mean a split (Roboflow writes valid/, others validation/).
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


@contextlib.contextmanager
def gc_paused():
    """No cyclic garbage collection while a file's millions of small objects are built, checked and
    stored (a COCO import, an evaluation's JSON): they hold no cycles, and each collection would walk
    all of them again (2-3x the work itself). Reference counting frees them as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass(frozen=True)
class FormatInfo:
    """A format: its module (annotations/formats/<name>.py, with export_<name> and, where it can be
    read, import_<name>) declares it as FORMAT; how menus and dialogs name it, and where it comes in them."""
    name: str
    title: str  # for menus: "COCO JSON"
    imports: bool = True  # has import_<name>
    single_file: bool = False  # one file (else a folder)
    order: int = 100  # place in menus and lists (then by name)
    folder_title: str = ""  # a one-file format that also imports a data-set folder: its menu title


class FormatError(SightlineError):
    """Bad input or an impossible export. The message names the file and the entry."""


_DIGITS = re.compile(r"limit \((\d+) digits\).*value has (\d+) digits")


MAX_FILE_BYTES = 4 << 30  # a label or results file larger than this is refused before it is read


def read_regular(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, or OSError saying why not: a device, a pipe or a folder is no label file
    (/dev/zero would be read until memory ran out, and opening a pipe waits for a writer), and one
    over `limit` is refused."""
    not_regular = OSError(errno.EINVAL, "not a regular file (a device, a pipe or a folder)")
    too_big = OSError(errno.EFBIG, f"larger than {f'{limit >> 30} GB' if limit >= 1 << 30 else f'{limit >> 20} MB'}; "
                                   "refused")
    if not stat.S_ISREG(os.stat(path).st_mode):  # looked at before it is opened
        raise not_regular
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # replaced in between
            raise not_regular
        if st.st_size > limit:
            raise too_big
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise too_big
    return data


def visible(files) -> list[Path]:
    """Sorted, without hidden files, which are no label files: an export's list of what it wrote,
    macOS's ._name copies beside each file of an archive."""
    return sorted(p for p in files if not p.name.startswith("."))


def refused_value(e: ValueError) -> str:
    """A parser's ValueError in words: Python refuses integers of thousands of digits (the limit
    keeps a 5000-digit "id" from costing seconds of CPU), other values say what they say."""
    text = str(e).splitlines()[0] if str(e) else e.__class__.__name__
    m = _DIGITS.search(text)
    if m:
        return f"a number of {m.group(2)} digits (at most {m.group(1)} are read)"
    return text[:200]


@dataclass
class ImportReport:
    images: int = 0  # images added to the project
    annotations: int = 0
    categories: int = 0  # categories added to the project
    images_matched: int = 0  # images already in the project that received annotations
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    run_id: int | None = None  # set when predictions were imported
    id_map: dict = field(default_factory=dict)  # {"images"|"categories": {file id: project id}} where they differ

    def __str__(self) -> str:
        if self.cancelled:
            return "Import cancelled; the project is unchanged."
        s = (f"Imported {counted(self.annotations, 'annotation')} on {counted(self.images, 'new image')}"
             f" ({self.images_matched} already in the project), {counted(self.categories, 'new category', 'new categories')}.")
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
        s = (f"Exported {counted(self.annotations, 'annotation')} on {counted(self.images, 'image')}, "
             f"{counted(self.categories, 'category', 'categories')} to {self.path} ({counted(self.files, 'file')}).")
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
_NUMBER_TYPES = {int, float}  # exact types: a JSON true/false or "3" is not a coordinate
MAX_ID = BIG  # SQLite's INTEGER
FAR_MARGIN = 64  # pixels: coordinates up to 2 x the image size + this are rounding or sloppy tools
MAX_SIDE = 1 << 20  # widths/heights above a million pixels a side are not images


def check_numbers(values, where: str, what: str, allow_negative: bool = False) -> list[float]:
    """Finite, non-negative JSON numbers (not strings, not booleans), else a FormatError naming
    `where` and `what`. Numbers come back as given (ints stay ints), so a file read and written
    again is unchanged."""
    if isinstance(values, list) and values:
        try:  # fast path in C for the usual case: sum is NaN/inf when any value is
            if set(map(type, values)) <= _NUMBER_TYPES and math.isfinite(sum(values)) \
                    and (allow_negative or min(values) >= 0):
                return values
        except (TypeError, OverflowError):
            pass
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise FormatError(f"{where}: {what} holds {_short(v)}, which is not a number")
        try:
            f = float(v)
        except OverflowError:
            raise FormatError(f"{where}: {what} holds a number too large for a coordinate") from None
        if not math.isfinite(f):
            raise FormatError(f"{where}: {what} holds {v}, coordinates must be finite numbers")
        if v < 0 and not allow_negative:
            raise FormatError(f"{where}: {what} holds the negative value {v}")
        out.append(v)
    return out


def check_number(v, where: str, what: str, allow_negative: bool = False):
    """One value, as check_numbers checks each (the same message when it is refused)."""
    try:
        if type(v) in _NUMBER_TYPES and math.isfinite(v) and (allow_negative or v >= 0):
            return v
    except OverflowError:  # an integer beyond a float: refused below
        pass
    return check_numbers([v], where, what, allow_negative)[0]


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def check_id(v, where: str, what: str = "id") -> int:
    """A whole JSON number that fits the database (not a bool, a string or a list)."""
    if type(v) is int and -MAX_ID <= v <= MAX_ID:  # the usual case, in one test
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        raise FormatError(f"{where}: {what} must be a whole number, got {_short(v)}")
    if not -MAX_ID <= v <= MAX_ID:
        raise FormatError(f"{where}: {what} {str(v)[:30]}... is too large (at most 2^63 - 1)")
    return v


def check_side(v, where: str, what: str) -> int:
    v = check_id(v, where, what)
    if not 0 < v <= MAX_SIDE:
        raise FormatError(f"{where}: {what} must be a positive number of pixels up to {MAX_SIDE}, got {v}")
    return v


def check_extent(flat, width: int, height: int, where: str, what: str) -> None:
    """Refuse coordinates far outside the image (they crash pycocotools' rasteriser) and shapes
    lying wholly outside it."""
    xs, ys = flat[0::2], flat[1::2]
    _check_bounds(min(xs), min(ys), max(xs), max(ys), width, height, where, what)


def check_box_extent(bbox, width: int, height: int, where: str) -> None:
    x, y, w, h = bbox
    x1, y1 = x + w, y + h
    _check_bounds(min(x, x1), min(y, y1), max(x, x1), max(y, y1), width, height, where, "bbox")


def _check_bounds(x0, y0, x1, y1, width: int, height: int, where: str, what: str) -> None:
    if x1 > 2 * width + FAR_MARGIN or y1 > 2 * height + FAR_MARGIN:
        raise FormatError(f"{where}: {what} reaches ({x1:.6g}, {y1:.6g}), far outside the "
                          f"{width}x{height} image")
    if x0 >= width or y0 >= height:
        raise FormatError(f"{where}: {what} lies wholly outside the {width}x{height} image")


def check_ring(ring, where: str, what: str = "polygon") -> list[float]:
    """One flat [x0, y0, x1, y1, ...] ring of at least 3 points."""
    if not isinstance(ring, (list, tuple)):
        raise FormatError(f"{where}: {what} is {type(ring).__name__}, expected a list of coordinates")
    if len(ring) % 2:
        raise FormatError(f"{where}: {what} has an odd number of coordinates ({len(ring)})")
    if len(ring) < 6:
        raise FormatError(f"{where}: {what} has {len(ring) // 2} point(s); a polygon needs at least 3")
    return check_numbers(ring, where, what)


def ring_fits(ring, width: int, height: int) -> bool:
    """True when check_ring and check_extent both take this ring as it is (a list of at least three
    finite, non-negative x, y pairs near the image): the usual case, tested in a few passes in C.
    False tells nothing: the checks themselves then find what is wrong, with their messages."""
    if type(ring) is not list or len(ring) % 2 or len(ring) < 6 or not set(map(type, ring)) <= _NUMBER_TYPES:
        return False
    try:
        if not math.isfinite(sum(ring)):
            return False
    except OverflowError:
        return False
    xs, ys = ring[0::2], ring[1::2]
    x0, y0 = min(xs), min(ys)
    return 0 <= x0 < width and 0 <= y0 < height and max(xs) <= 2 * width + FAR_MARGIN \
        and max(ys) <= 2 * height + FAR_MARGIN


def box_fits(bbox, width: int, height: int) -> bool:
    """True when check_box and check_box_extent both take this box as it is (as ring_fits)."""
    if type(bbox) is not list or len(bbox) != 4 or not set(map(type, bbox)) <= _NUMBER_TYPES:
        return False
    try:
        if not math.isfinite(sum(bbox)):
            return False
    except OverflowError:
        return False
    x, y, w, h = bbox
    return 0 <= x < width and 0 <= y < height and w >= 0 and h >= 0 and x + w <= 2 * width + FAR_MARGIN \
        and y + h <= 2 * height + FAR_MARGIN


def check_box(bbox, where: str) -> tuple[float, float, float, float]:
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise FormatError(f"{where}: bbox must be 4 numbers [x, y, width, height], got {_short(bbox)}")
    x, y, w, h = check_numbers(bbox, where, "bbox")
    return (x, y, w, h)


# ---- writing a folder of files all at once ----------------------------------------------------
EXPORT_MANIFEST = ".sightline-export.json"  # in a folder export: the files it wrote


class StagedFolder:
    """Files are written under a hidden sibling folder, then moved into place one by one with
    os.replace (each atomic). A cancelled or failed export leaves the target untouched.

    The files an export wrote are listed in the target's EXPORT_MANIFEST; exporting into the same
    folder again removes those of the last export that this one does not write (an image moved
    from train to val would otherwise stay in both splits' folders, and Ultralytics would train on
    a validation image). Files no export of this app wrote are left as they are."""

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise FormatError(f"{self.target}: exists and is not a folder")
        self.stage = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        self.files = 0

    def __enter__(self) -> "StagedFolder":
        shutil.rmtree(self.stage, ignore_errors=True)
        try:
            self.stage.mkdir(parents=True)
        except OSError as e:
            raise write_failure(self.target, e) from e
        return self

    def path(self, relative: str) -> Path:
        p = self.stage / relative
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_text(self, relative: str, text: str) -> None:
        self.write_bytes(relative, text.encode("utf-8"))

    def write_bytes(self, relative: str, data: bytes) -> None:
        try:
            self.path(relative).write_bytes(data)
        except OSError as e:  # a full disk: name the file the export was writing
            raise write_failure(self.target / relative, e) from e
        self.files += 1

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                files = [(src, self.target / src.relative_to(self.stage))
                         for src in sorted(self.stage.rglob("*")) if src.is_file()]
                for src, dst in files:  # everything on disk first: a full disk leaves the target untouched
                    try:
                        with open(src, "rb") as f:
                            os.fsync(f.fileno())
                    except OSError as e:
                        raise write_failure(dst, e) from e
                for src, dst in files:
                    try:
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(src, dst)
                    except OSError as e:
                        raise write_failure(dst, e) from e
                self._replace_manifest([dst.relative_to(self.target).as_posix() for _, dst in files])
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
        return False

    def _replace_manifest(self, written: list[str]) -> None:
        """Remove what the last export here wrote and this one did not; list this one's files."""
        manifest = self.target / EXPORT_MANIFEST
        keep = set(written)
        for rel, stamp in _manifest_files(manifest).items():
            p = self.target / rel
            try:
                if rel in keep or _stamp(p) != stamp:  # edited since, or not the file that export wrote
                    continue
                p.unlink()
                for parent in p.parents:  # folders it leaves empty go too, up to the target
                    if parent == self.target or any(parent.iterdir()):
                        break
                    parent.rmdir()
            except OSError:
                continue  # a file that cannot be removed stays; the export itself is complete
        stamps = {}
        for rel in written:
            try:
                stamps[rel] = _stamp(self.target / rel)
            except OSError:
                continue
        try:
            atomic_write_bytes(manifest, json.dumps({"written_by": "Sightline", "files": stamps}).encode())
        except SightlineError:
            pass  # no list: the next export into this folder removes nothing


def _stamp(p: Path) -> list[int]:
    """What identifies the file an export wrote (size, modification time, inode): a list naming a
    file is no reason to remove it; only the very file it wrote, unchanged, is removed."""
    st = p.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _manifest_files(manifest: Path) -> dict[str, list[int]]:
    """relative path -> stamp of each file a manifest lists inside its folder; {} for none."""
    try:
        data = json.loads(read_regular(manifest, 64 << 20))
    except (OSError, ValueError, RecursionError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    out = {}
    for rel, stamp in files.items() if isinstance(files, dict) else ():
        if isinstance(rel, str) and rel and "\0" not in rel and not os.path.isabs(rel) \
                and ".." not in Path(rel).parts and rel != EXPORT_MANIFEST \
                and isinstance(stamp, list) and len(stamp) == 3 and all(type(v) is int for v in stamp):
            out[rel] = stamp
    return out


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
            base, n = f"{stem}_{r.id}", 1
            stem = base
            while stem in seen:  # another image's own name was already base (name_12.jpg)
                n += 1
                stem = f"{base}_{n}"
        seen[stem] = r.id
        out[r.id] = stem
    if clashes:
        warnings.append(f"{clashes} image(s) share a file stem with another image; their output files "
                        "carry the image id (e.g. name_12)")
    return out
