"""YOLO txt (Ultralytics layout): images/<split>/x.jpg beside labels/<split>/x.txt, one object per
line, normalised coordinates. A line is `class cx cy w h` (a box) or `class x1 y1 x2 y2 ...` (a
polygon), optionally followed by a confidence. Class names come from data.yaml (names as a list or
a {index: name} dict, splits from train/val/test) or classes.txt."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from .. import geometry
from ..imageio import ImageReadError, image_size
from ..model import BOX, LABEL, POLYGON, PREDICTION, Annotation
from ..store import IMAGE_EXTENSIONS, Store
from .common import (Cancelled, ExportReport, FormatError, ImportReport, Progress, StagedFolder, Ticker,
                     unique_stems)
from .pending import NameResolver, PendingCategory, PendingImage, commit_import

SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
TOLERANCE = 1e-3  # normalised coordinates a hair outside [0, 1] are rounding, not errors


# ---- finding the data set ---------------------------------------------------------------------
def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise FormatError(f"{path}: malformed YAML ({e})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a mapping with 'names'")
    return data


def _names_from_yaml(data: dict, where: Path) -> dict[int, str]:
    names = data.get("names")
    if isinstance(names, list):
        return {i: str(n) for i, n in enumerate(names)}
    if isinstance(names, dict):
        try:
            return {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError):
            raise FormatError(f"{where}: 'names' keys must be class indices (0, 1, ...)") from None
    raise FormatError(f"{where}: 'names' must be a list or a {{index: name}} mapping")


def _names_from_txt(path: Path) -> dict[int, str]:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return {i: n for i, n in enumerate(ln for ln in lines if ln)}


def _layout(path: Path) -> tuple[Path, dict[int, str], dict, Path]:
    """(root, class names, yaml data or {}, file the names came from)."""
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        data = _read_yaml(path)
        root = path.parent / data["path"] if data.get("path") else path.parent
        if not root.is_dir():
            root = path.parent
        return root, _names_from_yaml(data, path), data, path
    if not path.is_dir():
        raise FormatError(f"{path}: no such folder (a YOLO data set is a folder or its data.yaml)")
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (path / name).is_file():
            return _layout(path / name)
    for candidate in (path / "classes.txt", path / "labels" / "classes.txt", path / "obj.names"):
        if candidate.is_file():
            return path, _names_from_txt(candidate), {}, candidate
    raise FormatError(f"{path}: no data.yaml or classes.txt naming the classes")


def _images_in(target: Path) -> list[Path]:
    if target.is_file() and target.suffix == ".txt":  # a list of image paths
        out = []
        for line in target.read_text(encoding="utf-8").splitlines():
            if line.strip():
                p = Path(line.strip())
                out.append(p if p.is_absolute() else target.parent / p)
        return out
    if target.is_dir():
        return sorted(p for p in target.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    return []


def _image_splits(root: Path, data: dict) -> dict[Path, str]:
    """Every image of the data set -> its split ("" when none is known)."""
    out: dict[Path, str] = {}
    for key, split in (("train", "train"), ("val", "val"), ("test", "test")):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else [entries] if entries else []:
            for p in _images_in(root / str(entry)):
                out.setdefault(p, split)
    images_dir = root / "images" if (root / "images").is_dir() else root
    for p in _images_in(images_dir):
        if p not in out:
            rel = p.relative_to(images_dir).parts
            out[p] = SPLIT_NAMES.get(rel[0].lower(), "") if len(rel) > 1 else ""
    return out


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last /images/ of the path becomes /labels/, the suffix .txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


# ---- import -----------------------------------------------------------------------------------
def import_yolo(store: Store, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
                progress: Progress | None = None) -> ImportReport:
    path = Path(path)
    root, names, data, names_file = _layout(path)
    images = _image_splits(Path(image_dir) if image_dir is not None else root, data)
    if not images:
        raise FormatError(f"{path}: no images found (expected images/ beside labels/)")
    labels = {label_path(p): p for p in images}
    _check_orphan_labels(root, labels, names_file)
    report = ImportReport()
    ticker = Ticker(progress, len(images), every=200)
    resolver = NameResolver(store)
    pending: list[PendingImage] = []
    try:
        for label_file, image_file in labels.items():
            try:
                w, h = image_size(image_file)
            except ImageReadError as e:
                raise FormatError(f"{label_file}: its image cannot be decoded: {e}") from None
            image = PendingImage(resolver.name(image_file), w, h, split=images[image_file], source=str(label_file))
            if label_file.is_file():
                _read_labels(label_file, image, names, report)
            pending.append(image)
            ticker.step()
    except Cancelled:
        return ImportReport(cancelled=True)
    categories = [PendingCategory(n, i + 1) for i, n in sorted(names.items())]  # class order = id order
    commit_import(store, pending, report, categories)
    return report


def _check_orphan_labels(root: Path, labels: dict[Path, Path], names_file: Path) -> None:
    candidates = set((root / "labels").rglob("*.txt")) if (root / "labels").is_dir() else set()
    for d in {p.parent for p in labels}:
        if d.is_dir() and d != root:
            candidates.update(d.glob("*.txt"))
    for f in sorted(candidates):
        if f not in labels and f != names_file and f.name != "classes.txt":
            raise FormatError(f"{f}: labels for an image that does not exist "
                              f"(no {f.stem}.* in the matching images folder)")


def _read_labels(label_file: Path, image: PendingImage, names: dict[int, str], report: ImportReport) -> None:
    try:
        text = label_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"{label_file}: cannot be read ({e})") from None
    w, h = image.width, image.height
    for n, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        where = f"{label_file}: line {n}"
        try:
            cls = int(tokens[0])
            values = [float(t) for t in tokens[1:]]
        except ValueError:
            raise FormatError(f"{where}: expected a class index and numbers, got {line.strip()!r}") from None
        if cls not in names:
            raise FormatError(f"{where}: class {cls} is not among the {len(names)} class names")
        for v in values:
            if v != v or v in (float("inf"), float("-inf")):
                raise FormatError(f"{where}: coordinates must be finite numbers, got {v}")
            if v < -TOLERANCE:
                raise FormatError(f"{where}: negative coordinate {v}")
            if v > 1 + TOLERANCE:
                raise FormatError(f"{where}: coordinate {v} is not normalised to 0..1 (pixel coordinates?)")
        score = None
        if len(values) in (5,) or (len(values) >= 7 and len(values) % 2 == 1):
            score = values.pop()
        if len(values) == 4:
            cx, cy, bw, bh = values
            x0, y0 = max(0.0, (cx - bw / 2) * w), max(0.0, (cy - bh / 2) * h)
            x1, y1 = min(float(w), (cx + bw / 2) * w), min(float(h), (cy + bh / 2) * h)
            image.add(names[cls], Annotation(None, 0, 0, kind=BOX, bbox=(x0, y0, x1 - x0, y1 - y0), score=score))
        elif len(values) >= 6:
            ring = [min(max(v, 0.0), 1.0) * (w if i % 2 == 0 else h) for i, v in enumerate(values)]
            image.add(names[cls], Annotation(None, 0, 0, kind=POLYGON, polygons=[ring],
                                             bbox=geometry.polygon_bbox([ring]), score=score))
        else:
            report.warnings.append(f"rejected {where}: polygon has {len(values) // 2} point(s); "
                                   "a polygon needs at least 3")


# ---- export -----------------------------------------------------------------------------------
def _fmt(values) -> str:
    return " ".join(f"{v:.6f}" for v in values)


def _lines(a: Annotation, index: int, w: int, h: int, as_polygons: bool, counts: dict) -> list[str]:
    tail = f" {a.score:.6f}" if a.status == PREDICTION and a.score is not None else ""
    if a.kind == BOX or not (a.polygons or a.rle is not None):
        x, y, bw, bh = a.bbox
        if as_polygons:
            ring = [x, y, x + bw, y, x + bw, y + bh, x, y + bh]
            return [f"{index} {_fmt(v / (w if i % 2 == 0 else h) for i, v in enumerate(ring))}{tail}"]
        return [f"{index} {_fmt(((x + bw / 2) / w, (y + bh / 2) / h, bw / w, bh / h))}{tail}"]
    if a.kind == POLYGON:
        rings, holes = a.polygons, a.holes
    else:
        rings, holes = geometry.rle_to_polygons(a.rle)
    counts["holes"] += bool(holes)
    counts["parts"] += len(rings) > 1
    return [f"{index} {_fmt(v / (w if i % 2 == 0 else h) for i, v in enumerate(r))}{tail}"
            for r in rings if len(r) >= 6]


def export_yolo(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
                include_predictions: bool = False) -> ExportReport:
    """OUT/data.yaml, OUT/classes.txt, OUT/images/<split>/ (hard links or copies of the images) and
    OUT/labels/<split>/<stem>.txt. Class index = position of the category in id order. When any
    object is a polygon or mask, boxes are written as 4-point polygons (YOLO reads a file as all
    boxes or all polygons)."""
    records = store.images(ids=image_ids)
    anns = store.annotations(image_ids=[r.id for r in records], status=None if include_predictions else LABEL)
    cats = store.categories()
    index = {c.id: i for i, c in enumerate(cats)}
    by_image: dict[int, list[Annotation]] = {}
    for a in anns:
        by_image.setdefault(a.image_id, []).append(a)
    as_polygons = any(a.kind != BOX for a in anns)
    report = ExportReport(images=len(records), annotations=len(anns), categories=len(cats), path=str(out_path))
    stems = unique_stems(records, report.warnings)
    counts = {"holes": 0, "parts": 0, "missing": 0}
    splits_used: set[str] = set()
    ticker = Ticker(progress, len(records), every=100)
    try:
        with StagedFolder(out_path) as out:
            for rec in records:
                sub = f"{rec.split}/" if rec.split else ""
                splits_used.add(rec.split)
                lines = [ln for a in by_image.get(rec.id, [])
                         for ln in _lines(a, index[a.category_id], rec.width, rec.height, as_polygons, counts)]
                out.write_text(f"labels/{sub}{stems[rec.id]}.txt", "".join(ln + "\n" for ln in lines))
                src = store.image_path(rec)
                if src.is_file():
                    _link_or_copy(src, out.path(f"images/{sub}{stems[rec.id]}{src.suffix}"))
                    out.files += 1
                else:
                    counts["missing"] += 1
                ticker.step()
            out.write_text("data.yaml", _data_yaml(cats, splits_used))
            out.write_text("classes.txt", "".join(c.name + "\n" for c in cats))
            report.files = out.files
    except Cancelled:
        return ExportReport(cancelled=True)
    if as_polygons and any(a.kind == BOX for a in anns):
        report.warnings.append("boxes were written as 4-point polygons because the set also has polygons/masks")
    if counts["holes"]:
        report.warnings.append(f"{counts['holes']} shape(s) with holes lost their holes (YOLO polygons have none)")
    if counts["parts"]:
        report.warnings.append(f"{counts['parts']} multi-part shape(s) were written as one line per part")
    if counts["missing"]:
        report.warnings.append(f"{counts['missing']} image file(s) were not found; only their labels were written")
    return report


def _data_yaml(cats, splits: set[str]) -> str:
    data: dict = {"path": "."}
    named = sorted(s for s in splits if s)
    for s in ("train", "val", "test"):
        if s in named:
            data[s] = f"images/{s}"
    if not named or "" in splits:
        data.setdefault("train", "images")
        data.setdefault("val", "images")
    data["nc"] = len(cats)
    data["names"] = {i: c.name for i, c in enumerate(cats)}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
