"""YOLO txt (Ultralytics layout): images/<split>/x.jpg beside labels/<split>/x.txt, one object per
line, normalised coordinates. A line is `class cx cy w h` (a box) or `class x1 y1 x2 y2 ...` (a
polygon), optionally followed by a confidence. Class names come from data.yaml (names as a list or
a {index: name} dict, splits from train/val/test), classes.txt, or darknet's obj.names (CVAT's
"YOLO 1.1" and datumaro's yolo export), whose obj.data names the list file of each subset."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import yaml

from .. import geometry
from ..model import BOX, LABEL, POLYGON, PREDICTION, Annotation
from ..store import IMAGE_EXTENSIONS, Store
from .common import (SPLIT_NAMES, Cancelled, ExportReport, FormatError, FormatInfo, ImportReport, Progress,
                     StagedFolder, Ticker, read_regular, refused_value, unique_stems)
from .paths import ImagePaths, export_image
from .pending import NameResolver, PendingCategory, PendingImage, commit_import

FORMAT = FormatInfo("yolo", "YOLO (txt folder)", order=30)

TOLERANCE = 1e-3  # normalised coordinates a hair outside [0, 1] are rounding, not errors
MAX_YAML_BYTES = 1 << 20
IMAGE_DIRS = ("images", "Images")  # Ultralytics' images/, datumaro's Images/
LABEL_DIRS = {"images": ("labels",), "Images": ("Annotations", "Labels", "labels")}
DEFAULT_SPLIT_DIR = "default"  # where an export puts the images of no split beside named splits


# ---- finding the data set ---------------------------------------------------------------------
class _AliasRefused(yaml.YAMLError):
    pass


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without anchors/aliases: a data.yaml has no use for them, and a few nested aliases
    (a "billion laughs" file) expand to gigabytes when the names are read."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused("YAML aliases (*name) are not accepted in a data set description")
        return super().compose_node(parent, index)


def _read_yaml(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise FormatError(f"{path}: larger than {MAX_YAML_BYTES >> 20} MB; not a data set description")
        data = yaml.load(read_regular(path).decode("utf-8"), Loader=_NoAliasLoader)  # a SafeLoader
    except _AliasRefused as e:
        raise FormatError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise FormatError(f"{path}: malformed YAML{at} ({getattr(e, 'problem', None) or e})") from None
    except RecursionError:
        raise FormatError(f"{path}: nested too deeply to be a data set description") from None
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except ValueError as e:  # an integer of thousands of digits
        raise FormatError(f"{path}: not acceptable YAML: {refused_value(e)}") from None
    except OSError as e:
        raise FormatError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a mapping with 'names'")
    return data


def _name(v, where: Path) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise FormatError(f"{where}: class names must be text, got {type(v).__name__}")
    return str(v)


def _names_from_yaml(data: dict, where: Path) -> dict[int, str]:
    names = data.get("names")
    if isinstance(names, list):
        return {i: _name(n, where) for i, n in enumerate(names)}
    if isinstance(names, dict):
        try:
            return {int(k): _name(v, where) for k, v in names.items()}
        except (TypeError, ValueError):
            raise FormatError(f"{where}: 'names' keys must be class indices (0, 1, ...)") from None
    raise FormatError(f"{where}: 'names' must be a list or a {{index: name}} mapping")


def _names_from_txt(path: Path) -> dict[int, str]:
    try:
        lines = [ln.strip() for ln in read_regular(path).decode("utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: cannot be read ({e})") from None
    return {i: n for i, n in enumerate(ln for ln in lines if ln)}


def _layout(path: Path) -> tuple[Path, dict[int, str], dict, Path]:
    """(root, class names, yaml data or {}, file the names came from). The root follows
    Ultralytics' check_det_dataset: `path` when given (relative to the YAML's folder here, never
    to the current directory), else the YAML's folder."""
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        data = _read_yaml(path)
        given = data.get("path")
        root = path.parent / str(given) if isinstance(given, (str, int, float)) and given else path.parent
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
            return path, _names_from_txt(candidate), _darknet_data(path / "obj.data"), candidate
    raise FormatError(f"{path}: no data.yaml or classes.txt naming the classes")


def _darknet_data(path: Path) -> dict:
    """obj.data's `key = value` lines as data.yaml's split entries: `train = data/train.txt`,
    `valid = data/valid.txt` (darknet reads its files from its own data/ folder, which the data set
    is; the prefix is dropped as datumaro does). Other keys (classes, names, backup) are not splits."""
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise FormatError(f"{path}: larger than {MAX_YAML_BYTES >> 20} MB; not a darknet data file")
        lines = read_regular(path).decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise FormatError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise FormatError(f"{path}: cannot be read ({e.strerror or e})") from None
    out = {}
    for line in lines:
        key, eq, value = line.partition("=")
        split = SPLIT_NAMES.get(key.strip().lower())  # CVAT's subsets: Train, Validation, Test
        if eq and split and value.strip() and not line.lstrip().startswith("#"):
            out.setdefault(split, [])
            out[split].append(_darknet_local(path.parent, value.strip()))
    return out


def _darknet_local(root: Path, entry: str) -> str:
    """A darknet path relative to darknet's folder ("data/obj_train_data/1.jpg"): relative to the data
    set once its "data/" is dropped, unless the data set itself holds a data/ folder with it."""
    entry = entry.replace("\\", "/")
    if entry.startswith("data/") and not (root / entry).exists():
        return entry[len("data/"):]
    return entry


def _images_in(target: Path, paths: ImagePaths) -> list[Path]:
    if target.is_file() and target.suffix == ".txt":  # a list of image paths
        out = []
        try:
            lines = read_regular(target).decode("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise FormatError(f"{target}: cannot be read ({e})") from None
        for n, line in enumerate(lines, 1):
            if line.strip():
                entry = _darknet_local(target.parent, line.strip())
                out.append(paths.resolve(target.parent, entry, f"{target}: line {n}"))
        return out
    if target.is_dir():
        return sorted(p for p in target.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    return []


def _entry_path(root: Path, entry: str, paths: ImagePaths, where: str) -> Path:
    """Ultralytics: root/entry, or root/entry-without-'../' when that is missing (Roboflow writes ../train/images)."""
    p = root / entry
    if not p.exists() and entry.startswith("../"):
        p = root / entry[3:]
    return paths.resolve(root, os.path.relpath(p, root), where)


def _image_splits(root: Path, data: dict, paths: ImagePaths, yaml_file: Path) -> dict[Path, str]:
    """Every image of the data set -> its split ("" when none is known)."""
    out: dict[Path, str] = {}
    for key, split in (("train", "train"), ("val", "val"), ("validation", "val"), ("test", "test")):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else [entries] if entries else []:
            if not isinstance(entry, str):
                raise FormatError(f"{yaml_file}: '{key}' must be a folder, a list file or a list of them")
            for p in _images_in(_entry_path(root, entry, paths, f"{yaml_file}: {key}"), paths):
                out.setdefault(p, split)
    images_dir = next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), root)
    for p in _images_in(images_dir, paths):
        if p not in out:
            rel = p.relative_to(images_dir).parts
            out[p] = SPLIT_NAMES.get(rel[0].lower(), "") if len(rel) > 1 else ""
    return out


def label_path(image: Path) -> Path:
    """Ultralytics' img2label_paths: the last /images/ of the path becomes /labels/, the suffix .txt
    (and datumaro's Images/ becomes Annotations/ or labels/, whichever exists)."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in LABEL_DIRS:
            candidates = []
            for d in LABEL_DIRS[parts[i]]:
                parts[i] = d
                candidates.append(Path(*parts).with_suffix(".txt"))
            return next((c for c in candidates if c.is_file()), candidates[0])
    return image.with_suffix(".txt")


# ---- import -----------------------------------------------------------------------------------
def import_yolo(store: Store, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
                progress: Progress | None = None) -> ImportReport:
    path = Path(path)
    root, names, data, names_file = _layout(path)
    paths = ImagePaths(store.root, path if path.is_dir() else path.parent, root, image_dir)
    images = _image_splits(Path(image_dir) if image_dir is not None else root, data, paths, names_file)
    if not images:
        raise FormatError(f"{path}: no images found (expected images/ beside labels/)")
    labels = {label_path(p): p for p in images}
    _check_orphan_labels(root, labels, names_file)
    report = ImportReport()
    ticker = Ticker(progress, len(images), every=200)
    resolver = NameResolver(store)
    pending: list[PendingImage] = []
    found = 0
    try:
        for label_file, image_file in labels.items():
            size = paths.size(image_file, str(label_file), required=False, why="its image cannot be decoded: ")
            if size is None:  # listed in a subset's list file but absent: without its size, no box can be placed
                ticker.step()
                continue
            w, h = size
            image = PendingImage(resolver.name(image_file), w, h, split=images[image_file], source=str(label_file))
            if label_file.is_file():
                found += 1
                _read_labels(label_file, image, names, report)
            pending.append(image)
            ticker.step()
    except Cancelled:
        return ImportReport(cancelled=True)
    if not pending:
        raise FormatError(f"{path}: none of the {len(images)} images it lists were found (YOLO coordinates are "
                          "fractions of each image's size, so the images must be there; an export without its images "
                          "cannot be imported)")
    paths.report_missing(report.warnings)
    if not found:
        report.warnings.append(f"{path}: no label file was found for any of the {len(images)} images (expected "
                               "labels/ beside images/, or Annotations/ beside Images/)")
    categories = [PendingCategory(n, i + 1) for i, n in sorted(names.items())]  # class order = id order
    commit_import(store, pending, report, categories)
    return report


def _check_orphan_labels(root: Path, labels: dict[Path, Path], names_file: Path) -> None:
    candidates = set()
    for d in ("labels", "Labels", "Annotations"):
        if (root / d).is_dir():
            candidates.update((root / d).rglob("*.txt"))
    for d in {p.parent for p in labels}:
        if d.is_dir() and d != root:
            candidates.update(d.glob("*.txt"))
    for f in sorted(candidates):
        if f not in labels and f != names_file and f.name not in ("classes.txt", "README.txt"):
            raise FormatError(f"{f}: labels for an image that does not exist "
                              f"(no {f.stem}.* in the matching images folder)")


def _read_labels(label_file: Path, image: PendingImage, names: dict[int, str], report: ImportReport) -> None:
    try:
        text = read_regular(label_file).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"{label_file}: cannot be read ({e})") from None
    w, h = image.width, image.height
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if tokens:
            rows.append((n, line, tokens))
    has_boxes = any(len(t) - 1 in (4, 5) for _, _, t in rows)
    for n, line, tokens in rows:
        where = f"{label_file}: line {n}"
        try:
            cls = int(tokens[0])
            values = [float(t) for t in tokens[1:]]
        except ValueError:
            raise FormatError(f"{where}: expected a class index and numbers, got {line.strip()[:80]!r}") from None
        if cls not in names:
            raise FormatError(f"{where}: class {cls} is not among the {len(names)} class names")
        for v in values:
            if not math.isfinite(v):
                raise FormatError(f"{where}: coordinates must be finite numbers, got {v}")
            if v < -TOLERANCE:
                raise FormatError(f"{where}: negative coordinate {v}")
            if v > 1 + TOLERANCE:
                raise FormatError(f"{where}: coordinate {v} is not normalised to 0..1 (pixel coordinates?)")
        if len(values) == 6 and has_boxes:
            raise FormatError(f"{where}: 6 numbers among box lines: a box with 2 extra numbers, or a triangle? "
                              "(a YOLO file holds boxes or polygons, not both)")
        score = None
        if len(values) in (5,) or (len(values) >= 7 and len(values) % 2 == 1):
            score = values.pop()
        if len(values) == 4:
            cx, cy, bw, bh = values
            x0, y0 = max(0.0, (cx - bw / 2) * w), max(0.0, (cy - bh / 2) * h)
            x1, y1 = min(float(w), (cx + bw / 2) * w), min(float(h), (cy + bh / 2) * h)
            if x1 <= x0 or y1 <= y0:
                raise FormatError(f"{where}: the box has no area (width {bw}, height {bh})")
            image.add(names[cls], Annotation(None, 0, 0, kind=BOX, bbox=(x0, y0, x1 - x0, y1 - y0), score=score))
        elif len(values) >= 6:
            ring = [min(max(v, 0.0), 1.0) * (w if i % 2 == 0 else h) for i, v in enumerate(values)]
            image.add(names[cls], Annotation(None, 0, 0, kind=POLYGON, polygons=[ring],
                                             bbox=geometry.polygon_bbox([ring]), score=score))
        else:
            report.warnings.append(f"rejected {where}: polygon has {len(values) // 2} point(s); "
                                   "a polygon needs at least 3")


# ---- export -----------------------------------------------------------------------------------
_NEAREST_CHUNK = 512  # part vertices compared with a ring's at once when joining parts


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
    rings = [r for r in rings if len(r) >= 6]
    if len(rings) > 1:
        counts["parts"] += 1
        rings = [bridged(rings)]
    return [f"{index} {_fmt(v / (w if i % 2 == 0 else h) for i, v in enumerate(r))}{tail}" for r in rings]


def bridged(rings: list[list[float]]) -> list[float]:
    """The parts of one shape as one ring: each part joined to the ring so far at their nearest
    vertices, by a bridge of no width (out and back along one segment). One YOLO line is one object,
    so a shape of several parts stays one object (Ultralytics' COCO converter joins a segmentation's
    parts into one line too); a line per part would make one object several."""
    ring = np.asarray(rings[0], np.float64).reshape(-1, 2)
    for r in rings[1:]:
        part = np.asarray(r, np.float64).reshape(-1, 2)
        best, at = np.inf, (0, 0)
        for start in range(0, len(part), _NEAREST_CHUNK):  # nearest pair, never an n x m matrix of all
            chunk = part[start:start + _NEAREST_CHUNK]
            d = ((ring[:, None, :] - chunk[None, :, :]) ** 2).sum(-1)
            k = int(np.argmin(d))
            if d.flat[k] < best:
                best, at = d.flat[k], (k // len(chunk), start + k % len(chunk))
        i, j = at
        ring = np.concatenate([ring[:i + 1], part[j:], part[:j + 1], ring[i:]])
    return ring.ravel().tolist()


def export_yolo(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
                include_predictions: bool = False) -> ExportReport:
    """OUT/data.yaml, OUT/classes.txt, OUT/images/<split>/ (images) and OUT/labels/<split>/<stem>.txt.
    Images of no split go to images/default/ when other images have a split (and data.yaml's train
    reaches them), else straight into images/. data.yaml has no `path`: Ultralytics then resolves
    its folders against the YAML's own folder, wherever it is run from. Images inside the project
    are hard-linked (copied when linking fails); images outside it are always copied, never linked.
    Class index = position of the category in id order. Crowd regions are left out (as Ultralytics'
    own COCO converter does). When any object is a polygon or mask, boxes are written as 4-point
    polygons (YOLO reads a file as all boxes or all polygons)."""
    records = store.images(ids=image_ids)
    anns = store.annotations(image_ids=[r.id for r in records], status=None if include_predictions else LABEL)
    crowd = sum(1 for a in anns if a.iscrowd)
    anns = [a for a in anns if not a.iscrowd]
    cats = store.categories()
    index = {c.id: i for i, c in enumerate(cats)}
    by_image: dict[int, list[Annotation]] = {}
    for a in anns:
        by_image.setdefault(a.image_id, []).append(a)
    as_polygons = any(a.kind != BOX for a in anns)
    report = ExportReport(images=len(records), annotations=len(anns), categories=len(cats), path=str(out_path))
    named = any(r.split for r in records)
    folder = {r.id: (r.split or DEFAULT_SPLIT_DIR) if named else "" for r in records}
    stems: dict[int, str] = {}
    for sub in set(folder.values()):  # names clash only inside one folder: no renaming across splits
        stems.update(unique_stems([r for r in records if folder[r.id] == sub], report.warnings))
    counts = {"holes": 0, "parts": 0, "missing": 0}
    ticker = Ticker(progress, len(records), every=100)
    try:
        with StagedFolder(out_path) as out:
            for rec in records:
                sub = f"{folder[rec.id]}/" if folder[rec.id] else ""
                lines = [ln for a in by_image.get(rec.id, [])
                         for ln in _lines(a, index[a.category_id], rec.width, rec.height, as_polygons, counts)]
                out.write_text(f"labels/{sub}{stems[rec.id]}.txt", "".join(ln + "\n" for ln in lines))
                src = store.image_path(rec)
                if not export_image(out, f"images/{sub}{stems[rec.id]}{src.suffix}", src, store.root):
                    counts["missing"] += 1
                ticker.step()
            out.write_text("data.yaml", _data_yaml(cats, set(folder.values())))
            out.write_text("classes.txt", "".join(c.name + "\n" for c in cats))
            report.files = out.files
    except Cancelled:
        return ExportReport(cancelled=True)
    if crowd:
        report.warnings.append(f"{crowd} crowd region(s) were left out (YOLO has no crowd flag; Ultralytics' "
                               "converter leaves them out too)")
    if as_polygons and any(a.kind == BOX for a in anns):
        report.warnings.append("boxes were written as 4-point polygons because the set also has polygons/masks")
    if counts["holes"]:
        report.warnings.append(f"{counts['holes']} shape(s) with holes lost their holes (YOLO polygons have none)")
    if counts["parts"]:
        report.warnings.append(f"{counts['parts']} shape(s) of several parts were each written as one polygon, its "
                               "parts joined at their nearest points (one object, one line, as Ultralytics' COCO "
                               "converter writes them)")
    if counts["missing"]:
        report.warnings.append(f"{counts['missing']} image file(s) were not found (or, outside the project, are not images); "
                               "only their labels were written")
    return report


def _data_yaml(cats, folders: set[str]) -> str:
    """train/val/test relative to the YAML's folder (no `path` key: see export_yolo)."""
    data: dict = {}
    if folders == {""}:
        data["train"] = data["val"] = "images"
    else:
        train = [f"images/{f}" for f in ("train", DEFAULT_SPLIT_DIR) if f in folders]
        val = "images/val" if "val" in folders else (train[0] if train else "images/test")
        data["train"] = (train[0] if len(train) == 1 else train) if train else val
        data["val"] = val
        if "test" in folders:
            data["test"] = "images/test"
    data["nc"] = len(cats)
    data["names"] = {i: c.name for i, c in enumerate(cats)}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
