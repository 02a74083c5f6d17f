"""Pascal VOC XML: one file per image, boxes with pose, truncated, difficult and occluded.

Coordinates follow VOC: 1-based pixel indices, inclusive, so the box x0 = xmin - 1 and
x1 = xmax (files written 0-based, as some tools do, clamp at the border). A data-set folder in VOC
layout (Annotations/, JPEGImages/, ImageSets/Main/<split>.txt) gives images and splits; a plain
folder of XML files beside their images works too, with subfolders named for a split (Roboflow's
train/, valid/, test/, each holding its images and their XML files). Label Studio's export
(Annotations/ beside images/, <filename> without its suffix, 0-based boxes, Label Studio as
<owner>) is read as it writes it."""
from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ..model import BOX, LABEL, PREDICTION, Annotation
from ..ranges import problem
from ..store import IMAGE_EXTENSIONS, Store
from ..wording import counted
from .common import (SPLIT_NAMES, Cancelled, ExportReport, FormatError, FormatInfo, ImportReport, Progress,
                     StagedFolder, Ticker, check_extent, check_side, read_regular, unique_stems, visible)
from .paths import ImagePaths, export_image
from .pending import NameResolver, PendingImage, commit_import

FORMAT = FormatInfo("voc", "Pascal VOC (XML folder)", order=20)

FLAG_FIELDS = ("truncated", "difficult", "occluded")
SPLITS = ("train", "val", "test")
DEFAULT_LIST = "default"  # datumaro's name for the images of no split
TRAINVAL = "trainval"  # the devkit's and torchvision's train + val list
IMAGES_DIR = "JPEGImages"
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe")


def _files(path: Path) -> tuple[list[Path], Path, Path | None]:
    """(xml files, default image folder, ImageSets/Main folder or None)."""
    if path.is_file():
        return [path], path.parent, None
    if not path.is_dir():
        raise FormatError(f"{path}: no such file or folder")
    if (path / "Annotations").is_dir():
        images = path / IMAGES_DIR if (path / IMAGES_DIR).is_dir() else path
        sets = path / "ImageSets" / "Main"
        return visible((path / "Annotations").glob("*.xml")), images, sets if sets.is_dir() else None
    return visible(path.rglob("*.xml")), path, None


def _read_list(f: Path) -> list[str]:
    try:
        text = read_regular(f).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"{f}: cannot be read ({e})") from None
    return [line.split()[0] for line in text.split("\n") if line.split()]


def _splits(sets: Path | None, report: ImportReport) -> dict[str, str]:
    """image stem -> split. train/val/test lists first, datumaro's default.txt (no split), then
    trainval.txt: an image listed only there is a training image (VOC's protocol)."""
    out: dict[str, str] = {}
    if sets is None:
        return out
    for split in SPLITS + (DEFAULT_LIST,):
        f = sets / f"{split}.txt"
        if f.is_file():
            for stem in _read_list(f):
                out.setdefault(stem, "" if split == DEFAULT_LIST else split)
    f = sets / f"{TRAINVAL}.txt"
    if f.is_file():
        only = [stem for stem in _read_list(f) if stem not in out]
        for stem in only:
            out[stem] = "train"
        if only:
            report.warnings.append(f"{len(only)} image(s) listed only in {f.name} were put in the train split")
    return out


def _text(el, tag: str, default: str | None = None) -> str | None:
    child = el.find(tag)
    return child.text.strip() if child is not None and child.text is not None else default


def _parse(xml_path: Path) -> ET.Element:
    try:
        root = ET.fromstring(read_regular(xml_path))
    except ET.ParseError as e:
        raise FormatError(f"{xml_path}: malformed XML ({e})") from None
    except (OSError, ValueError) as e:
        raise FormatError(f"{xml_path}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if root.tag != "annotation":
        raise FormatError(f"{xml_path}: not a Pascal VOC file (root element <{root.tag}>, expected <annotation>)")
    return root


def _number(text: str | None, where: str, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: {what} holds {text!r}, which is not a number") from None
    if not math.isfinite(v):
        raise FormatError(f"{where}: {what} holds {text}, coordinates must be finite numbers")
    if v < 0:
        raise FormatError(f"{where}: {what} holds the negative value {text}")
    return v


def _corners(box, where: str, what: str = "bndbox") -> list[float]:
    raw = [_text(box, k) for k in ("xmin", "ymin", "xmax", "ymax")]
    if None in raw:
        raise FormatError(f"{where}: <{what}> needs xmin, ymin, xmax and ymax")
    return [_number(v, where, what) for v in raw]


def import_voc(store: Store, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
               progress: Progress | None = None, zero_based: bool | None = None) -> ImportReport:
    """zero_based: True for files written with 0-based coordinates (labelme2voc, Roboflow), False for
    VOC's 1-based pixel indices, None to detect: a box starting at 0 can only be 0-based, so one
    such box makes the whole data set 0-based (said in the report)."""
    path = Path(path)
    xmls, default_dir, sets = _files(path)
    # A plain folder (no Annotations/) with no --images: each XML's image is looked for beside it first.
    beside = image_dir is None and not (path / "Annotations").is_dir()
    if not xmls:
        raise FormatError(f"{path}: no .xml files found")
    image_root = Path(image_dir) if image_dir is not None else default_dir
    report = ImportReport()
    splits = _splits(sets, report)
    ticker = Ticker(progress, len(xmls), every=200)
    names = NameResolver(store)
    paths = ImagePaths(store.root, path if path.is_dir() else path.parent, image_dir)
    images: list[tuple[PendingImage, list]] = []
    label_studio = 0
    try:
        for xml_path in xmls:
            image, objects, by_label_studio = _read_one(xml_path, image_root, splits, names, paths, report, beside)
            images.append((image, objects))
            label_studio += by_label_studio
            ticker.step()
    except Cancelled:
        return ImportReport(cancelled=True)
    if zero_based is None and label_studio:
        zero_based = True
        report.warnings.append(f"{counted(label_studio, 'file')} written by Label Studio, whose boxes are 0-based "
                               "(its converter writes xmin = x, xmax = x + width): boxes were read that way")
    if zero_based is None:
        zero_based = any(c[0] == 0 or c[1] == 0 for _, objects in images for _, c, _ in objects)
        if zero_based:
            report.warnings.append("a box starts at 0, so the files use 0-based coordinates (as labelme2voc and "
                                   "Roboflow write them), not VOC's 1-based ones: boxes were read that way")
    for image, objects in images:
        for name, (xmin, ymin, xmax, ymax), extra in objects:
            x0, y0 = (xmin, ymin) if zero_based else (max(xmin - 1, 0.0), max(ymin - 1, 0.0))
            score = extra.pop("score", None)
            image.add(name, Annotation(None, 0, 0, kind=BOX, bbox=(x0, y0, xmax - x0, ymax - y0), score=score,
                                       extra=extra))
    paths.report_missing(report.warnings)
    commit_import(store, [i for i, _ in images], report)
    return report


def _label_studio_image(root: ET.Element, image_root: Path, filename: str, paths: ImagePaths,
                        where: str) -> Path | None:
    """Label Studio's VOC export names the image without its suffix (<filename>photo</filename>)
    and keeps it in the folder <folder> names (images/, beside Annotations/): the one image of that
    name in either folder, else None."""
    folder = _text(root, "folder")
    folders = [image_root] + ([image_root / folder] if folder and folder == Path(folder).name
                              and folder not in (".", "..") and (image_root / folder).is_dir() else [])
    names = [filename] if Path(filename).suffix else [filename + s for s in sorted(IMAGE_EXTENSIONS)]
    found = []
    for f in folders:
        for name in names:
            p = paths.resolve(f, name, f"{where}: <filename>")
            if p.is_file() and p not in found:
                found.append(p)
    return found[0] if len(found) == 1 else None


def _read_one(xml_path: Path, image_root: Path, splits: dict, names: NameResolver, paths: ImagePaths,
              report: ImportReport, beside: bool = False) -> tuple[PendingImage, list, bool]:
    """(the image, its objects, whether Label Studio wrote the file)."""
    root = _parse(xml_path)
    filename = _text(root, "filename")
    if not filename:
        raise FormatError(f"{xml_path}: <filename> is missing")
    where = str(xml_path)
    image_file = paths.resolve(image_root, filename, f"{where}: <filename>")
    if beside and xml_path.parent != image_root:
        near = paths.resolve(xml_path.parent, filename, f"{where}: <filename>")
        if near.is_file() or not image_file.is_file():
            image_file = near
    recorded = _text(root, "path")
    if not image_file.is_file() and recorded:  # labelImg and this app write the image's full path
        other = paths.resolve(image_root, recorded, f"{where}: <path>")
        if other.is_file():
            image_file = other
    if not image_file.is_file():
        image_file = _label_studio_image(root, image_root, filename, paths, where) or image_file
    size = root.find("size")
    try:
        w = int(float(_text(size, "width", "0"))) if size is not None else 0
        h = int(float(_text(size, "height", "0"))) if size is not None else 0
    except (ValueError, OverflowError):
        raise FormatError(f"{xml_path}: <size> holds a width or height that is not a number") from None
    if w <= 0 or h <= 0:
        if not image_file.is_file():
            near = " or beside the XML file" if beside and xml_path.parent != image_root else ""
            raise FormatError(f"{xml_path}: its image {filename} was not found in {image_root}{near}, and it has "
                              "no <size> to place its boxes by")
        actual = paths.size(image_file, where, why="no <size> and the image cannot be decoded: ")
    else:
        # None: an export without its images (CVAT's "annotations only"): <size> places the boxes, and
        # the image is listed as not found, as a COCO file's is, to be added later.
        actual = paths.size(image_file, where, required=False) or (check_side(w, where, "<size> width"),
                                                                    check_side(h, where, "<size> height"))
    if w > 0 and h > 0 and (w, h) != actual:
        report.warnings.append(f"{xml_path}: <size> says {w}x{h}, the image is {actual[0]}x{actual[1]} "
                               "(as displayed); the image's size was kept")
    w, h = actual
    split = splits.get(Path(filename).stem)
    if split is None:  # no ImageSets list names it: a folder named for a split (Roboflow) says it
        split = SPLIT_NAMES.get(xml_path.parent.name.lower(), "") if beside and xml_path.parent != image_root else ""
    image = PendingImage(names.name(image_file), w, h, split=split, source=str(xml_path))
    objects = []
    for i, obj in enumerate(root.iter("object")):
        name = _text(obj, "name")
        where = f"{xml_path}: object {i} ({name!r})"
        if not name:
            raise FormatError(f"{xml_path}: object {i} has no <name>")
        box = obj.find("bndbox")
        if box is None:
            report.warnings.append(f"{where}: skipped, it has no <bndbox>")
            continue
        corners = _corners(box, where)
        xmin, ymin, xmax, ymax = corners
        if xmax < xmin or ymax < ymin:
            raise FormatError(f"{where}: <bndbox> has xmax < xmin or ymax < ymin")
        check_extent(corners, w + 1, h + 1, where, "bndbox")  # 1-based: xmax may be the width
        objects.append((name, corners, _object_extra(obj, where)))
    return image, objects, _text(root, "owner/name") == "Label Studio"


def _object_extra(obj, where: str) -> dict:
    """pose, truncated/difficult/occluded, parts (person layout) and actions, and a score."""
    extra: dict = {}
    pose = _text(obj, "pose")
    if pose is not None:
        extra["pose"] = pose
    for flag in FLAG_FIELDS:
        v = _text(obj, flag)
        if v is not None:
            try:
                extra[flag] = int(float(v))
            except (ValueError, OverflowError):
                raise FormatError(f"{where}: <{flag}> must be 0 or 1, got {v!r}") from None
    parts = []
    for j, part in enumerate(obj.findall("part")):
        box = part.find("bndbox")
        if box is None:
            continue
        parts.append({"name": _text(part, "name", ""), "bndbox": _corners(box, f"{where}: part {j}")})
    if parts:
        extra["parts"] = parts
    actions = obj.find("actions")
    if actions is not None:
        try:
            extra["actions"] = {a.tag: int(float((a.text or "0").strip())) for a in actions}
        except (ValueError, OverflowError):
            raise FormatError(f"{where}: <actions> must hold 0 or 1 per action") from None
    score = _text(obj, "score")
    if score:
        extra["score"] = _number(score, where, "<score>")
    return extra


def _sub(parent, tag: str, text) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = str(text)
    return el


def voc_xml(rec, image_name: str, anns: list[Annotation], names: dict[int, str]) -> str:
    """The XML of one image whose file is JPEGImages/<image_name> in the export. No <path>: an
    absolute path would not hold on another machine, and datumaro writes none either."""
    root = ET.Element("annotation")
    _sub(root, "folder", IMAGES_DIR)
    _sub(root, "filename", image_name)
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
        pose = a.extra.get("pose", "Unspecified")
        _sub(obj, "pose", pose if isinstance(pose, str) else "Unspecified")
        _sub(obj, "truncated", _whole(a.extra.get("truncated", 0)))
        _sub(obj, "difficult", _whole(a.extra.get("difficult", 0)))
        if "occluded" in a.extra:
            _sub(obj, "occluded", _whole(a.extra["occluded"]))
        if a.status == PREDICTION and a.score is not None:
            _sub(obj, "score", f"{a.score:.6g}")
        x, y, w, h = a.bbox
        box = ET.SubElement(obj, "bndbox")
        _sub(box, "xmin", int(round(x)) + 1)
        _sub(box, "ymin", int(round(y)) + 1)
        _sub(box, "xmax", max(int(round(x + w)), int(round(x)) + 1))
        _sub(box, "ymax", max(int(round(y + h)), int(round(y)) + 1))
        _write_parts_and_actions(obj, a.extra)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")  # an XML element name (an action is written as one)


def _whole(v, default: int = 0) -> int:
    """A VOC flag or count from an annotation's extra, which holds any JSON an imported file had
    (true, "1", 0.0): a finite number or a numeric string, else `default`."""
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return default
    return int(f) if math.isfinite(f) else default


def _write_parts_and_actions(obj, extra: dict) -> None:
    parts = extra.get("parts")
    for part in parts if isinstance(parts, list) else []:
        box = part.get("bndbox") if isinstance(part, dict) else None
        if not (isinstance(box, list) and len(box) == 4 and all(problem(v, float) is None for v in box)):
            continue  # not a part as the VOC import keeps one
        el = ET.SubElement(obj, "part")
        name = part.get("name", "")
        _sub(el, "name", name if isinstance(name, str) else "")
        box_el = ET.SubElement(el, "bndbox")
        for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box):
            _sub(box_el, k, f"{v:g}")
    actions = extra.get("actions")
    if isinstance(actions, dict) and actions:
        el = ET.SubElement(obj, "actions")
        for name, v in actions.items():
            if _TAG.fullmatch(name):
                _sub(el, name, _whole(v))



def export_voc(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
               include_predictions: bool = False) -> ExportReport:
    """The devkit's layout, as torchvision's VOCDetection reads it (point it at OUT as its
    VOCdevkit/VOC2012): OUT/JPEGImages/<id>.jpg, OUT/Annotations/<id>.xml per image whose
    <filename> is the image's name in JPEGImages/, and OUT/ImageSets/Main/<split>.txt listing the
    ids, plus trainval.txt (every image not in test: what the devkit and VOCDetection read) and
    default.txt for the images of no split (datumaro's name). Ids are the file stems, made unique
    (two folders' frame.jpg). JPEG files are named <id>.jpg whatever their suffix (.jpeg, .JPG);
    other images keep their suffix, as datumaro does, with a warning (VOCDetection opens <id>.jpg
    only). Images are placed by the one export policy (paths.export_image: hard links only inside
    the project). Polygons and masks are written as their boxes (VOC XML has no shapes; export
    masks for segmentation)."""
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
    images = DevkitImages(store)
    try:
        with StagedFolder(out_path) as out:
            for rec in records:
                image_name = images.place(out, rec, stems[rec.id])
                out.write_text(f"Annotations/{stems[rec.id]}.xml", voc_xml(rec, image_name, by_image.get(rec.id, []),
                                                                          names))
                ticker.step()
            write_image_sets(out, "Main", records, stems)
            report.files = out.files
    except Cancelled:
        return ExportReport(cancelled=True)
    images.report(report.warnings, "VOCDetection", "their XML files")
    return report


class DevkitImages:
    """JPEGImages/ of a devkit-layout export (detection here, segmentation in masks.py): JPEG files
    named <id>.jpg whatever their suffix, other images keeping theirs, each placed by the one export
    policy (paths.export_image); what was not found or is not an image outside the project is counted."""

    def __init__(self, store: Store):
        self.store, self.missing, self.not_jpeg = store, 0, []

    def place(self, out, rec, stem: str) -> str:
        """The image's name in JPEGImages/ (written there when it can be)."""
        src = self.store.image_path(rec)
        suffix = ".jpg" if src.suffix.lower() in JPEG_SUFFIXES else src.suffix
        name = stem + suffix
        if not export_image(out, f"{IMAGES_DIR}/{name}", src, self.store.root):
            self.missing += 1
        elif suffix != ".jpg":
            self.not_jpeg.append(name)
        return name

    def report(self, warnings: list[str], reader: str, written: str) -> None:
        if self.not_jpeg:
            warnings.append(f"{len(self.not_jpeg)} image(s) are not JPEG and keep their suffix in {IMAGES_DIR}/ "
                            f"(e.g. {self.not_jpeg[0]}); torchvision's {reader} opens <id>.jpg only")
        if self.missing:
            warnings.append(f"{self.missing} image file(s) were not found (or, outside the project, are not "
                            f"images); only {written} were written")


def write_image_sets(out, task: str, records, stems: dict[int, str]) -> None:
    """ImageSets/<task>/<split>.txt, trainval.txt and default.txt (images of no split)."""
    for split, stems_in in _image_sets(records, stems).items():
        out.write_text(f"ImageSets/{task}/{split}.txt", "".join(f"{stem}\n" for stem in stems_in))


def _image_sets(records, stems: dict[int, str]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for rec in records:
        lists.setdefault(rec.split or DEFAULT_LIST, []).append(stems[rec.id])
        if rec.split != "test":
            lists.setdefault(TRAINVAL, []).append(stems[rec.id])
    return lists
