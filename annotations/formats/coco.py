"""COCO JSON: ground truth import/export (exact round trip) and detections in results format."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Iterable

import orjson

from ..imageio import ImageReadError, atomic_write_text, check_pixels
from ..model import LABEL, PREDICTION, Annotation, ModelRun
from ..store import Store
from .coco_annotation import (Rejected, annotation_from_coco, annotation_to_coco, geometry_from_coco,
                              result_from_annotation)
from .common import (SPLIT_NAMES, Cancelled, ExportReport, FormatError, FormatInfo, ImportReport, Progress, Ticker,
                     check_id, check_numbers, check_side, gc_paused, read_regular, refused_value)
from .paths import ImagePaths
from .pending import NameResolver, PendingCategory, PendingImage, commit_import, file_id_map, remember_id_map

FORMAT = FormatInfo("coco", "COCO JSON", single_file=True, order=10, folder_title="COCO data set (folder)")

IMAGE_FIELDS = ("id", "file_name", "width", "height")
CATEGORY_FIELDS = ("id", "name", "supercategory")
TOP_FIELDS = ("images", "annotations", "categories", "info", "licenses")


ORJSON_MAX_BYTES = 32 << 20  # orjson holds about 12x the file while it parses: json for larger files
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)


def parse_json(raw: bytes):
    """orjson for files up to ORJSON_MAX_BYTES (twice json's speed, the same values), and json wherever
    the two could differ: a run of 19 digits or more (orjson keeps at most 64 bits), and whatever
    orjson refuses (NaN, a BOM, UTF-16, lone surrogates, deep nesting, malformed text), so that
    values and messages are json's."""
    if len(raw) <= ORJSON_MAX_BYTES and b"0" * 19 not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def load_json(path: str | os.PathLike):
    """The parsed file, or FormatError naming it: missing, unreadable, malformed, too deeply nested,
    or holding numbers with thousands of digits."""
    p = Path(path)
    try:
        if "\0" in os.fspath(p):
            raise FormatError(f"{os.fspath(p)!r}: a file name cannot hold a NUL byte")
        return parse_json(read_regular(p))
    except FileNotFoundError:
        raise FormatError(f"{p}: file not found") from None
    except json.JSONDecodeError as e:
        raise FormatError(f"{p}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise FormatError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except RecursionError:
        raise FormatError(f"{p}: nested too deeply to be a label file") from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise FormatError(f"{p}: not acceptable JSON: {refused_value(e)}") from None
    except OSError as e:
        raise FormatError(f"{p}: cannot be read ({e.strerror or e})") from None


def _entry(name: str, i: int, d) -> str:
    ident = d.get("id") if isinstance(d, dict) else None
    if ident is not None and not (isinstance(ident, int) and abs(ident) < 1 << 63):
        ident = None
    return f"{name}[{i}]" + (f" (id {ident})" if ident is not None else "")


class _Where:
    """"file: entry" for messages, formatted only when a message is made (an import of 100k
    annotations builds 100k of these and normally formats none)."""
    __slots__ = ("path", "name", "i", "d")

    def __init__(self, path, name, i, d):
        self.path, self.name, self.i, self.d = path, name, i, d

    def __str__(self) -> str:
        return f"{self.path}: {_entry(self.name, self.i, self.d)}"


# ---- import ---------------------------------------------------------------------------------
def import_coco(store: Store, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
                progress: Progress | None = None) -> ImportReport:
    """Import a COCO ground-truth file in one transaction.

    Image file names are relative to `image_dir` (default: the project folder, so names are kept
    as they are) and must stay inside it or the project; images not found are reported. An image
    already registered under the same name receives the annotations. Ids are kept where free in
    the project; a clash or id 0 is renumbered (the report says which) and remembered, so a
    results file keyed to this file's ids lands on the same images and classes."""
    path = Path(path)
    with gc_paused():
        if path.is_dir():
            return _import_folder(store, path, image_dir, progress)
        return _import_coco(store, path, image_dir, progress)


# A data set's annotation files, as CVAT and datumaro write them (annotations/instances_<subset>.json
# beside images/<subset>/) and as COCO itself ships (annotations/instances_val2017.json beside val2017/).
_SUBSET_FILE = re.compile(r"^(?:instances|person_keypoints|image_info|panoptic|labels)_(.+)\.json$")


ROBOFLOW_FILE = "_annotations.coco.json"  # Roboflow: <split>/_annotations.coco.json beside the split's images
FIFTYONE_FILE, FIFTYONE_IMAGES = "labels.json", "data"  # FiftyOne's COCO export and zoo: labels.json beside data/


def _subset(path: Path) -> str | None:
    m = _SUBSET_FILE.match(path.name)
    return m.group(1) if m and path.parent.name == "annotations" else None


def _fiftyone(path: Path) -> bool:
    return path.name == FIFTYONE_FILE and (path.parent / FIFTYONE_IMAGES).is_dir()


def _folder_split(path: Path) -> str:
    """The split a file's own folder names, for the layouts that put one file in each split's folder
    (Roboflow's train/ valid/ test/, FiftyOne zoo's train/ validation/ test/): '' for any other file."""
    return SPLIT_NAMES.get(path.parent.name.lower(), "") if path.name == ROBOFLOW_FILE or _fiftyone(path) else ""


def _dataset_files(folder: Path) -> list[Path]:
    """The annotation files of a data set folder: annotations/instances_<subset>.json (CVAT, datumaro,
    COCO itself), else its person_keypoints_<subset>.json (their boxes and outlines: with the
    instances files beside them, the same persons again), else each split folder's
    _annotations.coco.json (Roboflow) or labels.json beside data/ (FiftyOne's zoo), else the folder's
    own labels.json beside data/ (a FiftyOne export)."""
    for found in (sorted((folder / "annotations").glob("instances_*.json")),
                  sorted((folder / "annotations").glob("person_keypoints_*.json")),
                  sorted(folder.glob(f"*/{ROBOFLOW_FILE}")),
                  sorted(f for f in folder.glob(f"*/{FIFTYONE_FILE}") if _fiftyone(f)),
                  [f for f in (folder / FIFTYONE_FILE,) if _fiftyone(f)]):
        found = [f for f in found if f.is_file()]
        if found:
            return found
    return []


def _split_of(subset: str) -> str:
    """train2017 -> train, Validation -> val, default -> ''."""
    return SPLIT_NAMES.get(re.sub(r"\d+$", "", subset).lower(), "")


def _import_folder(store: Store, folder: Path, image_dir, progress: Progress | None) -> ImportReport:
    """Every annotation file of a data set folder (_dataset_files), all or nothing."""
    files = _dataset_files(folder)
    if not files:
        raise FormatError(f"{folder}: a folder with no annotations/instances_<subset>.json (CVAT, datumaro, COCO "
                          f"itself), <split>/{ROBOFLOW_FILE} (Roboflow) or {FIFTYONE_FILE} beside {FIFTYONE_IMAGES}/ "
                          "(FiftyOne); choose the COCO file itself")
    total = ImportReport()
    try:
        with store.transaction():
            for f in files:
                r = _import_coco(store, f, image_dir, progress)
                if r.cancelled:
                    raise Cancelled("import cancelled")
                total.images += r.images
                total.annotations += r.annotations
                total.categories += r.categories
                total.images_matched += r.images_matched
                total.warnings += r.warnings
                total.id_map = r.id_map
    except Cancelled:
        return ImportReport(cancelled=True)
    return total


def _import_coco(store: Store, path: Path, image_dir, progress: Progress | None) -> ImportReport:
    data = load_json(path)
    if isinstance(data, list):
        raise FormatError(f"{path}: a list of detections (COCO results format), not a COCO data set; "
                          "import it as coco-results with a model name")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise FormatError(f"{path}: not a COCO file (expected an object with an 'images' list)")
    root = Path(image_dir) if image_dir is not None else store.root
    anns_in = data.get("annotations") or []
    cats_in = data.get("categories") or []
    if not isinstance(anns_in, list) or not isinstance(cats_in, list):
        raise FormatError(f"{path}: 'annotations' and 'categories' must be lists")
    report = ImportReport()
    ticker = Ticker(progress, len(data["images"]) + len(anns_in), every=2000)
    paths = ImagePaths(store.root, image_dir)
    # No --images: an image the project lacks is looked for beside the file (Roboflow's layout), in
    # its subset's folder (CVAT's and datumaro's images/<subset>/, COCO's own <subset>/) or in data/
    # beside FiftyOne's labels.json.
    beside = [path.parent] if image_dir is None else []
    subset = _subset(path)
    if subset and image_dir is None:
        beside += [path.parent.parent / "images" / subset, path.parent.parent / subset]
    elif image_dir is None and _fiftyone(path):
        beside.append(path.parent / FIFTYONE_IMAGES)
    try:
        categories = _read_categories(path, cats_in)
        images = _read_images(path, data["images"], root, NameResolver(store), paths, ticker, beside, report,
                              _split_of(subset) if subset else _folder_split(path))
        _read_annotations(path, anns_in, images, {c.wanted_id: c.name for c in categories}, report, ticker)
        ticker.done = ticker.total  # rejected entries count as done
        ticker.report()
    except Cancelled:
        return ImportReport(cancelled=True)
    paths.report_missing(report.warnings)
    with store.transaction():
        commit_import(store, list(images.values()), report, categories)
        _keep_meta(store, data, report)
        remember_id_map(store, report)
    return report


def _read_categories(path: Path, cats_in: list) -> list[PendingCategory]:
    out: list[PendingCategory] = []
    ids: set[int] = set()
    names: set[str] = set()
    for i, c in enumerate(cats_in):
        where = f"{path}: {_entry('categories', i, c)}"
        if not isinstance(c, dict):
            raise FormatError(f"{where}: expected an object")
        cid = check_id(c.get("id"), where)
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(f"{where}: has no name")
        if cid in ids:
            raise FormatError(f"{where}: category id {cid} appears twice")
        if name.strip() in names:
            raise FormatError(f"{where}: category name {name!r} appears twice")
        ids.add(cid)
        names.add(name.strip())
        extra = {k: v for k, v in c.items() if k not in CATEGORY_FIELDS}
        sup = c.get("supercategory")
        out.append(PendingCategory(name.strip(), cid, sup if isinstance(sup, str) else "", extra))
    return out


def _read_images(path: Path, images_in: list, root: Path, names: NameResolver, paths: ImagePaths,
                 ticker: Ticker, beside: list[Path] = (), report: ImportReport | None = None,
                 split: str = "") -> dict[int, PendingImage]:
    """beside: folders (the file's own, its subset's) where an image the project lacks is looked for,
    each of them the only folder that image may be in; split: of every image (the file's subset)."""
    out: dict[int, PendingImage] = {}
    found_in: dict[Path, int] = {}  # folder -> images of the file found there
    near_paths = [(folder, ImagePaths(Path(paths.roots[0]), folder)) for folder in beside]
    for i, im in enumerate(images_in):
        where = _Where(path, "images", i, im)
        if not isinstance(im, dict):
            raise FormatError(f"{where}: expected an object")
        iid = check_id(im.get("id"), where)
        if iid in out:
            raise FormatError(f"{where}: image id {iid} appears twice")
        file_name = im.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            raise FormatError(f"{where}: has no file_name")
        image_file = paths.resolve_str(root, file_name, where)
        base = root
        exists = None
        if near_paths and not os.path.exists(image_file):
            exists = False
            for folder, folder_paths in near_paths:
                near = _beside(folder_paths, folder, file_name, where)
                if near is not None:
                    image_file, base, exists = near, folder, True
                    found_in[folder] = found_in.get(folder, 0) + 1
                    break
        w, h = im.get("width"), im.get("height")
        given = w is not None and h is not None
        if given:
            w, h = check_side(w, where, "width"), check_side(h, where, "height")
            try:
                check_pixels(w, h, where)
            except ImageReadError as e:
                raise FormatError(str(e)) from None
        size = paths.size(image_file, where, required=not given,
                          why="no width/height in the file and the image cannot be read: ", exists=exists)
        if size is not None and given and size != (w, h):
            raise FormatError(f"{where}: the file says {w}x{h}, the image {file_name} is {size[0]}x{size[1]} "
                              "(as displayed)")
        w, h = (w, h) if given else size
        extra = {k: v for k, v in im.items() if k not in IMAGE_FIELDS}
        out[iid] = PendingImage(names.name_under(base, file_name), w, h, split, extra=extra, wanted_id=iid, source=where)
        ticker.step()
    for folder, n in found_in.items() if report is not None else ():
        where_found = "beside the file" if folder == path.parent else f"in {folder}"
        report.warnings.append(f"{path}: {n} image(s) not in the project were found {where_found} and taken from there")
    return out


def _beside(beside: ImagePaths, folder: Path, file_name: str, where: str) -> str | None:
    """The image `file_name` names, relative to the COCO file's folder, when it is a file there."""
    try:
        near = beside.resolve_str(folder, file_name, where)
    except FormatError:
        return None
    return near if os.path.isfile(near) else None


def _read_annotations(path: Path, anns_in: list, images: dict[int, PendingImage], cat_names: dict[int, str],
                      report: ImportReport, ticker: Ticker) -> None:
    seen: set[int] = set()
    rejected = 0
    for i, d in enumerate(anns_in):
        where = _Where(path, "annotations", i, d)
        if not isinstance(d, dict):
            raise FormatError(f"{where}: expected an object")
        aid = d.get("id")
        if aid is not None:
            aid = check_id(aid, where)
            if aid in seen:
                raise FormatError(f"{where}: annotation id {aid} appears twice")
            seen.add(aid)
        image = images.get(check_id(d.get("image_id"), where, "image_id"))
        if image is None:
            raise FormatError(f"{where}: image_id {d.get('image_id')!r} is not among the file's images")
        cat = check_id(d.get("category_id"), where, "category_id")
        if cat not in cat_names:
            raise FormatError(f"{where}: category_id {cat!r} is not among the file's categories")
        try:
            a = annotation_from_coco(d, where, 0, 0, image.height, image.width)
        except Rejected as e:
            rejected += 1
            if rejected <= 20:
                report.warnings.append(f"rejected {e}")
            continue
        image.add(cat_names[cat], a, aid)
        ticker.step()
    if rejected > 20:
        report.warnings.append(f"... {rejected - 20} more annotations rejected")


def _keep_meta(store: Store, data: dict, report: ImportReport) -> None:
    for key in ("info", "licenses"):
        if key in data:
            old = store.get_meta(key)
            if old is not None and old != data[key]:
                report.warnings.append(f"the project's COCO {key} was replaced by the file's")
            store.set_meta(key, data[key])
    others = {k: v for k, v in data.items() if k not in TOP_FIELDS}
    if others:
        store.set_meta("coco_extra", others)


# ---- export ---------------------------------------------------------------------------------
def _selected(store: Store, image_ids, status: str | None, run_id: int | None,
              include_predictions: bool = False) -> tuple[list, list[Annotation]]:
    records = store.images(ids=image_ids)
    wanted = {r.id for r in records}
    if run_id is not None:
        anns = store.annotations(run_id=run_id, status=status)
    elif include_predictions:
        anns = store.annotations()
    else:
        anns = store.annotations(status=status)
    if image_ids is not None:
        anns = [a for a in anns if a.image_id in wanted]
    return records, anns


def coco_dict(store: Store, image_ids: Iterable[int] | None = None, status: str | None = LABEL,
              run_id: int | None = None, include_predictions: bool = False,
              progress: Progress | None = None) -> tuple[dict, list[str]]:
    """(COCO ground-truth dict, warnings)."""
    records, anns = _selected(store, None if image_ids is None else list(image_ids), status, run_id,
                              include_predictions)
    sizes = {r.id: (r.height, r.width) for r in records}
    images = []
    for r in records:
        d = dict(r.extra)
        d.update(id=r.id, file_name=r.file_name, width=r.width, height=r.height)
        images.append(d)
    categories = []
    for c in store.categories():
        d = dict(c.extra)
        d.update(id=c.id, name=c.name, supercategory=c.supercategory)
        categories.append(d)
    ticker = Ticker(progress, len(anns), every=5000)
    out_anns, holes = [], 0
    for a in anns:
        h, w = sizes[a.image_id]
        d, had_holes = annotation_to_coco(a, h, w, with_score=a.status == PREDICTION)
        holes += had_holes
        out_anns.append(d)
        ticker.step()
    warnings = []
    if holes:
        warnings.append(f"{holes} polygon(s) with holes cannot be COCO polygons; they were written as RLE masks")
    data = dict(store.get_meta("coco_extra", {}) or {})
    data.update(info=store.get_meta("info", {"description": "exported by Sightline",
                                            "date_created": time.strftime("%Y-%m-%d %H:%M:%S")}),
                licenses=store.get_meta("licenses", []), images=images, annotations=out_anns,
                categories=categories)
    return data, warnings


def _portable_names(store: Store, images: list[dict], warnings: list[str]) -> None:
    """Names that work on another machine: as registered (relative to the project) when every image
    lies in the project; otherwise every name relative to the folder all the images share (said in
    a warning: import the file with --images that folder)."""
    if not any(Path(d["file_name"]).is_absolute() for d in images):
        return
    full = [Path(os.path.abspath(store.root / d["file_name"])) for d in images]
    base = Path(os.path.commonpath([p.parent for p in full]))
    for d, p in zip(images, full):
        d["file_name"] = p.relative_to(base).as_posix()
    warnings.append(f"some images lie outside the project: every file_name is relative to {base} "
                    f"(import the file with --images {base})")


def strict_json(data, out_path, ensure_ascii: bool = True, indent: int | None = None) -> str:
    """Strict JSON: a value that is not a finite number is an error here, never `Infinity` in the file
    (compact unless `indent` is given)."""
    try:
        return json.dumps(data, ensure_ascii=ensure_ascii, separators=None if indent else (",", ":"), indent=indent,
                          allow_nan=False)
    except ValueError as e:
        raise FormatError(f"{out_path}: not written: the project holds a value JSON cannot represent ({e})") \
            from None


def store_to_coco_dict(store: Store, image_ids: Iterable[int] | None = None, status: str | None = LABEL,
                       run_id: int | None = None) -> dict:
    """The project (or some images, one status, one run) as a COCO ground-truth dict."""
    return coco_dict(store, image_ids, status, run_id)[0]


def export_coco(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
                include_predictions: bool = False) -> ExportReport:
    try:
        data, warnings = coco_dict(store, image_ids, LABEL, None, include_predictions, progress)
    except Cancelled:
        return ExportReport(cancelled=True)
    _portable_names(store, data["images"], warnings)
    atomic_write_text(out_path, strict_json(data, out_path, ensure_ascii=False))
    return ExportReport(images=len(data["images"]), annotations=len(data["annotations"]),
                        categories=len(data["categories"]), files=1, path=str(out_path), warnings=warnings)


# ---- results (detections) -------------------------------------------------------------------
def coco_results(store: Store, run_id: int, image_ids: Iterable[int] | None = None,
                 iou_type: str | None = None) -> list[dict]:
    """The predictions of one run as a COCO results list (what COCO.loadRes reads).

    iou_type "bbox" writes boxes, "segm" masks (RLE); default: "segm" when the run has masks."""
    records, anns = _selected(store, None if image_ids is None else list(image_ids), PREDICTION, run_id)
    sizes = {r.id: (r.height, r.width) for r in records}
    if iou_type is None:
        iou_type = "segm" if any(a.polygons or a.rle is not None for a in anns) else "bbox"
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"iou_type must be 'bbox' or 'segm', not {iou_type!r}")
    return [result_from_annotation(a, *sizes[a.image_id], iou_type) for a in anns]


def export_coco_results(store: Store, out_path: str | os.PathLike, run_id: int,
                        image_ids: Iterable[int] | None = None, iou_type: str | None = None) -> ExportReport:
    if store.run(run_id) is None:
        raise FormatError(f"{out_path}: the project has no model run {run_id}")
    results = coco_results(store, run_id, image_ids, iou_type)
    atomic_write_text(out_path, strict_json(results, out_path))
    return ExportReport(images=len({r["image_id"] for r in results}), annotations=len(results),
                        categories=len({r["category_id"] for r in results}), files=1, path=str(out_path))


def import_coco_results(store: Store, path: str | os.PathLike, model_name: str,
                        image_id_map: dict[int, int] | None = None,
                        category_id_map: dict[int, int] | None = None,
                        progress: Progress | None = None) -> int:
    """Detections in COCO results format become predictions of a new run (kind "import").

    image_id / category_id are the ids of the COCO file the project was imported from: where
    that import renumbered an id, the detection follows it (see remember_id_map); other ids are
    the project's. Explicit maps replace that table. Returns the run id, or None when progress()
    cancelled (nothing is stored then)."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, list):
        raise FormatError(f"{path}: a COCO results file is a list of detections")
    if not model_name or not str(model_name).strip():
        raise FormatError(f"{path}: a model name is needed for imported detections")
    images = {r.id: r for r in store.images()}
    cats = {c.id for c in store.categories()}
    if image_id_map is None and category_id_map is None:
        renumbered = file_id_map(store)
        image_id_map = {i: renumbered[0].get(i, i) for i in set(images) | set(renumbered[0])} \
            if renumbered[0] else None
        category_id_map = {i: renumbered[1].get(i, i) for i in cats | set(renumbered[1])} \
            if renumbered[1] else None
    ticker = Ticker(progress, len(data), every=2000)
    try:
        anns = _read_results(path, data, model_name, images, cats, image_id_map, category_id_map, ticker)
    except Cancelled:
        return None
    with store.transaction():
        run_id = store.add_run(ModelRun(None, str(model_name), kind="import",
                                        params={"file": str(path), "detections": len(anns)}))
        for a in anns:
            a.run_id = run_id
        store.add_annotations(anns)
    return run_id


def _read_results(path, data, model_name, images, cats, image_id_map, category_id_map, ticker):
    anns = []
    for i, d in enumerate(data):
        where = f"{path}: detection [{i}]"
        if not isinstance(d, dict):
            raise FormatError(f"{where}: expected an object")
        img = check_id(d.get("image_id"), where, "image_id")
        image_id = image_id_map.get(img) if image_id_map is not None else img
        if image_id not in images:
            raise FormatError(f"{where}: image_id {img!r} is not an image of the project")
        cat = check_id(d.get("category_id"), where, "category_id")
        category_id = category_id_map.get(cat) if category_id_map is not None else cat
        if category_id not in cats:
            raise FormatError(f"{where}: category_id {cat!r} is not a category of the project")
        if "score" not in d:
            raise FormatError(f"{where}: has no score")
        score = check_numbers([d["score"]], where, "score")[0]
        rec = images[image_id]
        try:
            g = geometry_from_coco(d, where, rec.height, rec.width)
        except Rejected as e:
            raise FormatError(str(e)) from None
        anns.append(Annotation(None, image_id, category_id, kind=g["kind"], bbox=g["bbox"],
                               polygons=g["polygons"], rle=g["rle"], score=float(score), status=PREDICTION,
                               source=str(model_name), iscrowd=0))
        ticker.step()
    return anns
