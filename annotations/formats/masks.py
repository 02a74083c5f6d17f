"""PNG masks export (no import): the devkit's segmentation layout, as torchvision's VOCSegmentation
(point it at OUT as its VOCdevkit/VOC2012) and datumaro's voc_segmentation (CVAT's "Segmentation
mask 1.1") read it.

    OUT/JPEGImages/<stem>.jpg          the images, placed as the VOC export places them
    OUT/SegmentationClass/<stem>.png   palette PNG, one class index per pixel: 0 background,
                                       1..N the categories in id order, 255 ignore (crowd regions)
    OUT/SegmentationObject/<stem>.png  one index per object (1..K in annotation order), 0 background,
                                       ignore value for crowd; 8-bit with 255 = ignore, or 16-bit
                                       with 65535 = ignore when an image has more than 254 objects
    OUT/ImageSets/Segmentation/        <split>.txt, trainval.txt, default.txt (images of no split)
    OUT/labelmap.txt                   datumaro's and CVAT's: "name:r,g,b::" a line, in class index
                                       order (background first), the colour the PNG's palette gives
    OUT/objects.json                   per image stem: object index -> annotation id and category
Larger objects are painted first so that a small object on top of a big one stays visible."""
from __future__ import annotations

import io
import json
import os

import numpy as np
from PIL import Image

from .. import geometry
from ..model import LABEL, Annotation
from ..store import Store
from .common import Cancelled, ExportReport, FormatError, FormatInfo, Progress, StagedFolder, Ticker, unique_stems
from .voc import DevkitImages, write_image_sets

FORMAT = FormatInfo("masks", "PNG masks (folder)", imports=False, order=50)

IGNORE_8 = 255
IGNORE_16 = 65535
MAX_CLASSES_8 = 254


def palette(n: int = 256) -> list[int]:
    """The Pascal VOC colour map (bit-interleaved), with 255 painted white for 'ignore'."""
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out += [r, g, b]
    out[255 * 3:256 * 3] = [255, 255, 255]
    return out


def label_map(names: list[str], warnings: list[str]) -> str:
    """labelmap.txt as datumaro writes and parses it (and CVAT with it): a line per class in index
    order, "name:r,g,b:parts:actions", the colour the palette gives the index. A ':' would split
    a name's line into more fields than the reader takes: it is written as '_', with a warning."""
    colours = palette(max(256, len(names)))
    lines = ["# label:color_rgb:parts:actions\n"]
    for k, name in enumerate(names):
        if ":" in name or "\n" in name:
            warnings.append(f"category {name!r} is written as {_label_safe(name)!r} in labelmap.txt "
                            "(a ':' would split its line)")
        lines.append(f"{_label_safe(name)}:{','.join(map(str, colours[3 * k:3 * k + 3]))}::\n")
    return "".join(lines)


def _label_safe(name: str) -> str:
    return name.replace(":", "_").replace("\n", " ").replace("\r", " ")


def _png(arr: np.ndarray, with_palette: bool) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(arr))  # uint8 -> "L", uint16 -> "I;16"
    if with_palette and arr.dtype == np.uint8:
        im.putpalette(palette())  # an "L" image with a palette becomes "P"
    im.save(buf, format="PNG")
    return buf.getvalue()


def render(anns: list[Annotation], height: int, width: int,
           class_index: dict[int, int]) -> tuple[np.ndarray, np.ndarray, list[Annotation]]:
    """(semantic HxW, instance HxW, objects in instance-index order)."""
    wide = len(anns) > MAX_CLASSES_8
    ignore = IGNORE_16 if wide else IGNORE_8
    semantic = np.zeros((height, width), np.uint16 if max(class_index.values(), default=0) > MAX_CLASSES_8 else np.uint8)
    instance = np.zeros((height, width), np.uint16 if wide else np.uint8)
    sem_ignore = IGNORE_16 if semantic.dtype == np.uint16 else IGNORE_8
    masks = [(a, geometry.decode_rle(geometry.annotation_rle(a, height, width)).astype(bool)) for a in anns]
    for k, (a, m) in sorted(enumerate(masks), key=lambda t: -int(t[1][1].sum())):
        if a.iscrowd:
            semantic[m] = sem_ignore
            instance[m] = ignore
        else:
            semantic[m] = class_index[a.category_id]
            instance[m] = k + 1
    return semantic, instance, [a for a, _ in masks]


def export_masks(store: Store, out_path: str | os.PathLike, image_ids=None, progress: Progress | None = None,
                 include_predictions: bool = False) -> ExportReport:
    records = store.images(ids=image_ids)
    anns = store.annotations(image_ids=[r.id for r in records], status=None if include_predictions else LABEL)
    cats = store.categories()
    class_index = {c.id: i + 1 for i, c in enumerate(cats)}
    if len(cats) >= IGNORE_16:
        raise FormatError(f"{out_path}: {len(cats)} categories do not fit a 16-bit mask")
    by_image: dict[int, list[Annotation]] = {}
    for a in anns:
        by_image.setdefault(a.image_id, []).append(a)
    report = ExportReport(images=len(records), annotations=len(anns), categories=len(cats), path=str(out_path))
    stems = unique_stems(records, report.warnings)
    objects: dict[str, list[dict]] = {}
    wide = 0
    ticker = Ticker(progress, len(records), every=50)
    images = DevkitImages(store)
    try:
        with StagedFolder(out_path) as out:
            for rec in records:
                stem = stems[rec.id]
                semantic, instance, order = render(by_image.get(rec.id, []), rec.height, rec.width, class_index)
                wide += instance.dtype == np.uint16
                images.place(out, rec, stem)
                out.write_bytes(f"SegmentationClass/{stem}.png", _png(semantic, semantic.dtype == np.uint8))
                out.write_bytes(f"SegmentationObject/{stem}.png", _png(instance, instance.dtype == np.uint8))
                objects[stem] = [{"index": k + 1, "annotation_id": a.id, "category_id": a.category_id,
                                  "class_index": class_index[a.category_id], "iscrowd": a.iscrowd,
                                  "image": rec.file_name}
                                 for k, a in enumerate(order)]
                ticker.step()
            write_image_sets(out, "Segmentation", records, stems)
            out.write_text("labelmap.txt", label_map(["background"] + [c.name for c in cats], report.warnings))
            out.write_text("objects.json", json.dumps(objects, ensure_ascii=False, indent=1))
            report.files = out.files
    except Cancelled:
        return ExportReport(cancelled=True)
    images.report(report.warnings, "VOCSegmentation", "their masks")
    if wide:
        report.warnings.append(f"{wide} image(s) have more than {MAX_CLASSES_8} objects: their instance PNGs "
                               "are 16-bit (65535 = ignore)")
    if len(cats) > MAX_CLASSES_8:
        report.warnings.append(f"{len(cats)} categories: the semantic PNGs are 16-bit grey, not palette")
    return report
