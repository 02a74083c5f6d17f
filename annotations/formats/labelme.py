"""labelme JSON: one file per image with its shapes (rectangle, polygon, circle, mask; points and
lines cannot be represented and are skipped with a warning). Shapes sharing a label and a
group_id are one object. imagePath is relative to the JSON file; imageData is optional.

X-AnyLabeling, labelme's most used fork, writes the same files with more shapes: a rectangle as its
four corners (since its v2.2.0; labelme writes two), a rotated box ("rotation", four corners and a
direction) and a "quadrilateral" (four points), both read as polygons; its "cuboid" (two faces of a
box in perspective) is skipped with a warning, as points and lines are."""
from __future__ import annotations

import base64
import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .. import geometry
from ..imageio import ImageReadError, atomic_write_bytes, decode_bytes_size
from ..model import BOX, LABEL, MASK, POLYGON, PREDICTION, Annotation
from ..store import IMAGE_EXTENSIONS, Store
from .coco import load_json, strict_json
from .common import (Cancelled, ExportReport, FormatError, FormatInfo, ImportReport, Progress, StagedFolder, Ticker,
                     check_extent, check_numbers, check_side, unique_stems, visible)
from .paths import ImagePaths
from .pending import NameResolver, PendingImage, commit_import

FORMAT = FormatInfo("labelme", "labelme (JSON folder)", order=40)

LABELME_VERSION = "5.5.0"
CIRCLE_POINTS = 64
SHAPE_FIELDS = ("label", "points", "group_id", "shape_type", "mask", "flags", "description")
SKIPPED_TYPES = ("point", "points", "line", "linestrip", "cuboid")
FOUR_CORNERS = ("rotation", "quadrilateral")  # X-AnyLabeling's: read as polygons


def _png_to_array(b64: str, where: str, h: int, w: int) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
            if im.width > w or im.height > h:
                raise FormatError(f"{where}: the mask is {im.width}x{im.height}, larger than its {w}x{h} image")
            return np.asarray(im.convert("L")) > 0
    except FormatError:
        raise
    except Exception as e:  # noqa: BLE001 - PIL and base64 raise many kinds
        raise FormatError(f"{where}: the mask is not a base64 PNG ({e.__class__.__name__}: {e})") from None


def _array_to_png(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(bool)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _points(shape: dict, where: str) -> list[float]:
    pts = shape.get("points")
    if not isinstance(pts, list) or any(not isinstance(p, (list, tuple)) or len(p) != 2 for p in pts):
        raise FormatError(f"{where}: 'points' must be a list of [x, y] pairs")
    return check_numbers([v for p in pts for v in p], where, "points")


def _circle(flat: list[float]) -> list[float]:
    cx, cy, px, py = flat[:4]
    r = math.hypot(px - cx, py - cy)
    ring = []
    for i in range(CIRCLE_POINTS):
        t = 2 * math.pi * i / CIRCLE_POINTS
        ring += [max(cx + r * math.cos(t), 0.0), max(cy + r * math.sin(t), 0.0)]
    return ring


def _shape_geometry(shape: dict, where: str, h: int, w: int) -> tuple[str, object] | None:
    """("box", bbox) | ("polygon", ring) | ("mask", HxW bool) or None with a reason raised as ValueError."""
    kind = shape.get("shape_type") or "polygon"
    if kind in SKIPPED_TYPES:
        raise ValueError(f"a {kind} shape cannot be represented (only areas are)")
    flat = _points(shape, where)
    if flat:
        check_extent(flat, w, h, where, "points")
    if kind == "rectangle":
        if len(flat) not in (4, 8):
            raise FormatError(f"{where}: a rectangle needs 2 points (labelme) or its 4 corners (X-AnyLabeling), "
                              f"it has {len(flat) // 2}")
        xs, ys = flat[0::2], flat[1::2]
        return BOX, (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    if kind in FOUR_CORNERS:
        if len(flat) != 8:
            raise FormatError(f"{where}: a {kind} shape needs 4 points, it has {len(flat) // 2}")
        return POLYGON, flat
    if kind == "polygon":
        if len(flat) < 6:
            raise ValueError(f"polygon has {len(flat) // 2} point(s); a polygon needs at least 3")
        return POLYGON, flat
    if kind == "circle":
        if len(flat) != 4:
            raise FormatError(f"{where}: a circle needs 2 points (centre and rim), it has {len(flat) // 2}")
        return POLYGON, _circle(flat)
    if kind == "mask":
        if not shape.get("mask") or len(flat) != 4:
            raise FormatError(f"{where}: a mask shape needs 'mask' (base64 PNG) and 2 corner points")
        crop = _png_to_array(shape["mask"], where, h, w)
        full = np.zeros((h, w), bool)
        x0, y0 = int(flat[0]), int(flat[1])
        ch, cw = min(crop.shape[0], h - y0), min(crop.shape[1], w - x0)
        if ch > 0 and cw > 0:
            full[y0:y0 + ch, x0:x0 + cw] = crop[:ch, :cw]
        return MASK, full
    raise ValueError(f"unknown shape_type {kind!r}")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return visible(path.rglob("*.json"))
    raise FormatError(f"{path}: no such file or folder")


def import_labelme(store: Store, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
                   progress: Progress | None = None) -> ImportReport:
    path = Path(path)
    files = _files(path)
    if not files:
        raise FormatError(f"{path}: no labelme .json files found")
    report = ImportReport()
    ticker = Ticker(progress, len(files), every=100)
    named = path if path.is_dir() else path.parent
    images = _Images(store, named, image_dir)
    resolver = NameResolver(store)
    try:
        pending = []
        for f in files:
            pending.append(_read_one(f, images, resolver, report))
            ticker.step()
        commit_import(store, pending, report)
    except BaseException as e:
        images.undo()
        if isinstance(e, Cancelled):
            return ImportReport(cancelled=True)
        raise
    return report


class _Images:
    """Finds each labelme file's image as labelme does: imageData first (the pixels labelme shows),
    else imagePath relative to the JSON, which must stay inside the named folders. Images that exist
    only as imageData are unpacked under <project>/labelme_images/, mirroring the folders of the
    JSON files, so seq1/frame.png and seq2/frame.png stay two images."""

    def __init__(self, store: Store, named: Path, image_dir):
        self.store, self.named, self.image_dir = store, named, image_dir
        self.paths = ImagePaths(store.root, named, image_dir)
        self.written: list[Path] = []

    def undo(self) -> None:
        for p in self.written:  # images unpacked for an import that did not happen
            p.unlink(missing_ok=True)

    def find(self, f: Path, data: dict) -> tuple[Path, tuple[int, int]]:
        image_path = data.get("imagePath")
        image_data = data.get("imageData")
        if image_path is not None and not isinstance(image_path, str):
            raise FormatError(f"{f}: 'imagePath' must be a string, got {type(image_path).__name__}")
        image_path = (image_path or "").replace("\\", "/")
        if "\0" in image_path:  # also when imageData holds the image: the name is that of the unpacked file
            raise FormatError(f"{f}: imagePath: the image name {image_path!r} holds a NUL byte")
        if image_data is None:
            if not image_path:
                raise FormatError(f"{f}: 'imagePath' is missing (and the file has no imageData)")
            p = self._candidate(f, image_path)
            if not p.is_file():
                raise FormatError(f"{f}: its image {image_path} was not found (and the file has no imageData)")
            return p, self.paths.size(p, str(f))
        if not isinstance(image_data, str):
            raise FormatError(f"{f}: 'imageData' must be a base64 string, got {type(image_data).__name__}")
        try:
            raw = base64.b64decode(image_data, validate=True)
            size = decode_bytes_size(raw, f"{f}: imageData")
        except ImageReadError as e:
            raise FormatError(str(e)) from None
        except ValueError as e:
            raise FormatError(f"{f}: imageData is not base64 ({e})") from None
        same = self._same_file(f, image_path, raw)
        return (same, size) if same is not None else (self._unpack(f, image_path, raw), size)

    def _candidate(self, f: Path, image_path: str) -> Path:
        if self.image_dir is not None:
            return self.paths.resolve(self.image_dir, Path(image_path).name, f"{f}: imagePath")
        return self.paths.resolve(f.parent, image_path, f"{f}: imagePath")

    def _same_file(self, f: Path, image_path: str, raw: bytes) -> Path | None:
        """The file imagePath names when it holds exactly imageData's bytes (labelme stores a JPEG or
        PNG file's own bytes unless it had to turn it upright): then no copy is needed."""
        if not image_path:
            return None
        try:
            p = self._candidate(f, image_path)
            if p.is_file() and p.stat().st_size == len(raw) and p.read_bytes() == raw:
                return p
        except (FormatError, OSError):
            pass  # a path outside the folders, or unreadable: imageData is the image
        return None

    def _unpack(self, f: Path, image_path: str, raw: bytes) -> Path:
        name = Path(image_path).name
        if not name or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
            with Image.open(io.BytesIO(raw)) as im:
                name = f"{f.stem}.{(im.format or 'png').lower().replace('jpeg', 'jpg')}"
        try:
            sub = f.parent.resolve().relative_to(self.named.resolve())
        except ValueError:
            sub = Path()
        dst = self.store.root / "labelme_images" / sub / name
        n = 1
        while dst.exists() or dst in self.written:
            if dst.is_file() and dst not in self.written and dst.read_bytes() == raw:
                return dst  # unpacked by an earlier import of the same file
            n += 1
            dst = dst.with_name(f"{Path(name).stem}_{n}{Path(name).suffix}")
        atomic_write_bytes(dst, raw)
        self.written.append(dst)
        return dst


def _read_one(f: Path, images: _Images, resolver: NameResolver, report) -> PendingImage:
    data = load_json(f)
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise FormatError(f"{f}: not a labelme file (expected an object with a 'shapes' list)")
    image_file, (w, h) = images.find(f, data)
    for key, actual in (("imageWidth", w), ("imageHeight", h)):
        v = data.get(key)
        if v is not None and check_side(v, str(f), key) != actual:
            raise FormatError(f"{f}: {key} is {v}, the image is {w}x{h} (as displayed)")
    extra = {"flags": data["flags"]} if data.get("flags") else {}
    image = PendingImage(resolver.name(image_file), w, h, extra=extra, source=str(f))
    groups: dict[tuple, list] = {}
    for i, shape in enumerate(data["shapes"]):
        label = shape.get("label") if isinstance(shape, dict) else None
        where = f"{f}: shape {i} ({label!r})"
        if not isinstance(label, str) or not label.strip():
            raise FormatError(f"{f}: shape {i} has no label")
        try:
            geom = _shape_geometry(shape, where, h, w)
        except ValueError as e:
            report.warnings.append(f"skipped {where}: {e}")
            continue
        gid = shape.get("group_id")
        if gid is not None and (isinstance(gid, bool) or not isinstance(gid, (int, str))):
            raise FormatError(f"{where}: group_id must be a number or null, got {gid!r}")
        key = (label, gid) if gid is not None else (label, None, i)
        groups.setdefault(key, []).append((geom, shape))
    for key, parts in groups.items():
        image.add(key[0], _object(parts, h, w))
    return image


def _object(parts: list, h: int, w: int) -> Annotation:
    """One annotation from the shapes of a group (polygons stay polygons; anything else is unioned)."""
    extra = {}
    first = parts[0][1]
    for k in ("description", "flags"):
        if first.get(k):
            extra[k] = first[k]
    if first.get("group_id") is not None:
        extra["group_id"] = first["group_id"]
    extra.update({k: v for k, v in first.items() if k not in SHAPE_FIELDS and k != "score"})
    score = first.get("score") if isinstance(first.get("score"), (int, float)) else None
    kinds = {g[0] for g, _ in parts}
    if len(parts) == 1 and kinds == {BOX}:
        return Annotation(None, 0, 0, kind=BOX, bbox=parts[0][0][1], extra=extra, score=score)
    if kinds == {POLYGON}:
        rings = [g[1] for g, _ in parts]
        return Annotation(None, 0, 0, kind=POLYGON, polygons=rings,
                          bbox=geometry.polygon_bbox(rings), extra=extra, score=score)
    full = np.zeros((h, w), bool)
    for (kind, g), _ in parts:
        if kind == MASK:
            full |= g
        elif kind == POLYGON:
            full |= geometry.decode_rle(geometry.polygon_to_rle([g], h, w)).astype(bool)
        else:
            x, y, bw, bh = g
            full[int(y):int(math.ceil(y + bh)), int(x):int(math.ceil(x + bw))] = True
    rle = geometry.encode_mask(full)
    return Annotation(None, 0, 0, kind=MASK, rle=rle, bbox=geometry.rle_bbox(rle),
                      extra=extra, score=score)


# ---- export -----------------------------------------------------------------------------------
def _group(a: Annotation) -> int | None:
    """The annotation's labelme group_id where it is one (extra holds any JSON an imported file had)."""
    g = a.extra.get("group_id")
    return g if isinstance(g, int) and not isinstance(g, bool) else None


def _shape(label: str, kind: str, points, a: Annotation, group_id, mask: str | None = None) -> dict:
    description, flags = a.extra.get("description", ""), a.extra.get("flags", {})
    d = {"label": label, "points": [[float(x), float(y)] for x, y in points], "group_id": group_id,
         "description": description if isinstance(description, str) else "", "shape_type": kind,
         "flags": flags if isinstance(flags, dict) else {}, "mask": mask}
    if a.status == PREDICTION and a.score is not None:
        d["score"] = a.score
    return d


def labelme_shapes(a: Annotation, label: str, h: int, w: int, next_group: list[int]) -> tuple[list[dict], bool]:
    """(labelme shapes of one annotation, whether holes forced a mask)."""
    if a.kind == POLYGON and a.polygons and not a.holes:
        gid = _group(a)
        if len(a.polygons) > 1 and gid is None:
            next_group[0] += 1
            gid = next_group[0]
        return [_shape(label, "polygon", zip(r[0::2], r[1::2]), a, gid) for r in a.polygons], False
    if a.kind == BOX or not (a.polygons or a.rle is not None):
        x, y, bw, bh = a.bbox
        return [_shape(label, "rectangle", [(x, y), (x + bw, y + bh)], a, _group(a))], False
    rle = a.rle if a.rle is not None else geometry.polygon_to_rle(a.polygons, h, w, a.holes)
    x0, y0, crop = geometry.crop_rle(rle)
    if crop.size == 0:
        return [], False
    ch, cw = crop.shape
    return [_shape(label, "mask", [(x0, y0), (x0 + cw - 1, y0 + ch - 1)], a, _group(a),
                   _array_to_png(crop))], a.kind == POLYGON


def export_labelme(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
                   include_predictions: bool = False) -> ExportReport:
    """OUT/<stem>.json per image; imagePath points at the project's image, relative to OUT."""
    out_dir = Path(out_path).resolve()
    records = store.images(ids=image_ids)
    anns = store.annotations(image_ids=[r.id for r in records], status=None if include_predictions else LABEL)
    names = {c.id: c.name for c in store.categories()}
    by_image: dict[int, list[Annotation]] = {}
    for a in anns:
        by_image.setdefault(a.image_id, []).append(a)
    report = ExportReport(images=len(records), annotations=len(anns), categories=len(names), path=str(out_path))
    stems = unique_stems(records, report.warnings)
    ticker = Ticker(progress, len(records), every=100)
    holes = 0
    try:
        with StagedFolder(out_dir) as out:
            for rec in records:
                shapes, next_group = [], [max([_group(a) or 0 for a in by_image.get(rec.id, [])], default=0)]
                for a in by_image.get(rec.id, []):
                    s, had_holes = labelme_shapes(a, names[a.category_id], rec.height, rec.width, next_group)
                    shapes += s
                    holes += had_holes
                flags = rec.extra.get("flags", {})
                doc = {"version": LABELME_VERSION, "flags": flags if isinstance(flags, dict) else {}, "shapes": shapes,
                       "imagePath": os.path.relpath(store.image_path(rec), out_dir).replace(os.sep, "/"),
                       "imageData": None, "imageHeight": rec.height, "imageWidth": rec.width}
                name = f"{stems[rec.id]}.json"
                out.write_text(name, strict_json(doc, out_dir / name, ensure_ascii=False, indent=2))
                ticker.step()
            report.files = out.files
    except Cancelled:
        return ExportReport(cancelled=True)
    if holes:
        report.warnings.append(f"{holes} polygon(s) with holes were written as mask shapes")
    return report
