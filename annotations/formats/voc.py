"""Pascal VOC XML: one file per image, boxes with pose, truncated, difficult and occluded.

Coordinates follow VOC: 1-based pixel indices, inclusive, so the box x0 = xmin - 1 and
x1 = xmax (files written 0-based, as some tools do, clamp at the border). A data-set folder in VOC
layout (Annotations/, JPEGImages/, ImageSets/Main/<split>.txt) gives images and splits; a plain
folder of XML files beside their images works too."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from ..imageio import ImageReadError, image_size
from ..model import BOX, LABEL, PREDICTION, Annotation
from ..store import Store
from .common import (Cancelled, ExportReport, FormatError, ImportReport, Progress, StagedFolder, Ticker,
                     check_numbers, unique_stems)
from .pending import NameResolver, PendingImage, commit_import

FLAG_FIELDS = ("truncated", "difficult", "occluded")
SPLITS = ("train", "val", "test")


def _files(path: Path) -> tuple[list[Path], Path, Path | None]:
    """(xml files, default image folder, ImageSets/Main folder or None)."""
    if path.is_file():
        return [path], path.parent, None
    if not path.is_dir():
        raise FormatError(f"{path}: no such file or folder")
    if (path / "Annotations").is_dir():
        images = path / "JPEGImages" if (path / "JPEGImages").is_dir() else path
        sets = path / "ImageSets" / "Main"
        return sorted((path / "Annotations").glob("*.xml")), images, sets if sets.is_dir() else None
    return sorted(path.rglob("*.xml")), path, None


def _splits(sets: Path | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if sets is None:
        return out
    for split in SPLITS:
        f = sets / f"{split}.txt"
        if f.is_file():
            for line in f.read_text(encoding="utf-8").split("\n"):
                if line.split():
                    out.setdefault(line.split()[0], split)
    return out


def _text(el, tag: str, default: str | None = None) -> str | None:
    child = el.find(tag)
    return child.text.strip() if child is not None and child.text is not None else default


def _parse(xml_path: Path) -> ET.Element:
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise FormatError(f"{xml_path}: malformed XML ({e})") from None
    except OSError as e:
        raise FormatError(f"{xml_path}: cannot be read ({e.strerror})") from None
    if root.tag != "annotation":
        raise FormatError(f"{xml_path}: not a Pascal VOC file (root element <{root.tag}>, expected <annotation>)")
    return root


def import_voc(store: Store, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
               progress: Progress | None = None) -> ImportReport:
    path = Path(path)
    xmls, default_dir, sets = _files(path)
    if not xmls:
        raise FormatError(f"{path}: no .xml files found")
    image_root = Path(image_dir) if image_dir is not None else default_dir
    splits = _splits(sets)
    report = ImportReport()
    ticker = Ticker(progress, len(xmls), every=200)
    names = NameResolver(store)
    images: list[PendingImage] = []
    try:
        for xml_path in xmls:
            images.append(_read_one(xml_path, image_root, splits, names, report))
            ticker.step()
    except Cancelled:
        return ImportReport(cancelled=True)
    commit_import(store, images, report)
    return report


def _read_one(xml_path: Path, image_root: Path, splits: dict, names: NameResolver,
              report: ImportReport) -> PendingImage:
    root = _parse(xml_path)
    filename = _text(root, "filename")
    if not filename:
        raise FormatError(f"{xml_path}: <filename> is missing")
    image_file = image_root / filename
    recorded = _text(root, "path")
    if not image_file.is_file() and recorded and Path(recorded).is_file():
        image_file = Path(recorded)  # labelImg and this app write the image's full path
    if not image_file.is_file():
        raise FormatError(f"{xml_path}: its image {filename} was not found in {image_root}")
    size = root.find("size")
    try:
        w = int(float(_text(size, "width", "0"))) if size is not None else 0
        h = int(float(_text(size, "height", "0"))) if size is not None else 0
    except ValueError:
        raise FormatError(f"{xml_path}: <size> holds a width or height that is not a number") from None
    if w <= 0 or h <= 0:
        try:
            w, h = image_size(image_file)
        except ImageReadError as e:
            raise FormatError(f"{xml_path}: no <size> and the image cannot be decoded: {e}") from None
    image = PendingImage(names.name(image_file), w, h, split=splits.get(Path(filename).stem, ""),
                         source=str(xml_path))
    for i, obj in enumerate(root.iter("object")):
        name = _text(obj, "name")
        where = f"{xml_path}: object {i} ({name!r})"
        if not name:
            raise FormatError(f"{xml_path}: object {i} has no <name>")
        box = obj.find("bndbox")
        if box is None:
            report.warnings.append(f"{where}: skipped, it has no <bndbox>")
            continue
        raw = [_text(box, k) for k in ("xmin", "ymin", "xmax", "ymax")]
        if None in raw:
            raise FormatError(f"{where}: <bndbox> needs xmin, ymin, xmax and ymax")
        xmin, ymin, xmax, ymax = check_numbers(raw, where, "bndbox")
        if xmax < xmin or ymax < ymin:
            raise FormatError(f"{where}: <bndbox> has xmax < xmin or ymax < ymin")
        x0, y0 = max(xmin - 1, 0.0), max(ymin - 1, 0.0)
        extra = {}
        pose = _text(obj, "pose")
        if pose is not None:
            extra["pose"] = pose
        for flag in FLAG_FIELDS:
            v = _text(obj, flag)
            if v is not None:
                try:
                    extra[flag] = int(float(v))
                except ValueError:
                    raise FormatError(f"{where}: <{flag}> must be 0 or 1, got {v!r}") from None
        score = _text(obj, "score")
        try:
            score = float(score) if score else None
        except ValueError:
            raise FormatError(f"{where}: <score> is not a number: {score!r}") from None
        image.add(name, Annotation(None, 0, 0, kind=BOX, bbox=(x0, y0, float(xmax) - x0, float(ymax) - y0),
                                   score=score, extra=extra))
    return image


def _sub(parent, tag: str, text) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = str(text)
    return el


def voc_xml(store: Store, rec, anns: list[Annotation], names: dict[int, str]) -> str:
    root = ET.Element("annotation")
    path = store.image_path(rec)
    _sub(root, "folder", path.parent.name)
    _sub(root, "filename", path.name)
    _sub(root, "path", str(path))
    src = ET.SubElement(root, "source")
    _sub(src, "database", "Sightline")
    size = ET.SubElement(root, "size")
    _sub(size, "width", rec.width)
    _sub(size, "height", rec.height)
    _sub(size, "depth", 3)
    _sub(root, "segmented", int(any(a.kind != BOX for a in anns)))
    for a in anns:
        obj = ET.SubElement(root, "object")
        _sub(obj, "name", names[a.category_id])
        _sub(obj, "pose", a.extra.get("pose", "Unspecified"))
        _sub(obj, "truncated", int(a.extra.get("truncated", 0)))
        _sub(obj, "difficult", int(a.extra.get("difficult", 0)))
        if "occluded" in a.extra:
            _sub(obj, "occluded", int(a.extra["occluded"]))
        if a.status == PREDICTION and a.score is not None:
            _sub(obj, "score", f"{a.score:.6g}")
        x, y, w, h = a.bbox
        box = ET.SubElement(obj, "bndbox")
        _sub(box, "xmin", int(round(x)) + 1)
        _sub(box, "ymin", int(round(y)) + 1)
        _sub(box, "xmax", max(int(round(x + w)), int(round(x)) + 1))
        _sub(box, "ymax", max(int(round(y + h)), int(round(y)) + 1))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def export_voc(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
               include_predictions: bool = False) -> ExportReport:
    """OUT/Annotations/<stem>.xml per image and OUT/ImageSets/Main/<split>.txt. Polygons and masks
    are written as their boxes (VOC XML has no shapes; export masks for segmentation)."""
    records = store.images(ids=image_ids)
    anns = store.annotations(image_ids=[r.id for r in records], status=None if include_predictions else LABEL)
    by_image: dict[int, list[Annotation]] = {}
    for a in anns:
        by_image.setdefault(a.image_id, []).append(a)
    names = {c.id: c.name for c in store.categories()}
    report = ExportReport(images=len(records), annotations=len(anns), categories=len(names), path=str(out_path))
    stems = unique_stems(records, report.warnings)
    shapes = sum(a.kind != BOX for a in anns)
    if shapes:
        report.warnings.append(f"{shapes} polygon(s)/mask(s) were written as their bounding boxes")
    ticker = Ticker(progress, len(records), every=200)
    split_lists: dict[str, list[str]] = {}
    try:
        with StagedFolder(out_path) as out:
            for rec in records:
                out.write_text(f"Annotations/{stems[rec.id]}.xml", voc_xml(store, rec, by_image.get(rec.id, []), names))
                if rec.split:
                    split_lists.setdefault(rec.split, []).append(stems[rec.id])
                ticker.step()
            for split, stems_in in split_lists.items():
                out.write_text(f"ImageSets/Main/{split}.txt", "\n".join(stems_in) + "\n")
            report.files = out.files
    except Cancelled:
        return ExportReport(cancelled=True)
    return report
