"""Label file formats: COCO, Pascal VOC, YOLO, labelme (import and export) and PNG masks (export).

    report = import_labels(store, "coco", "instances.json", image_dir="images/")
    report = export_labels(store, "yolo", "out/", image_ids=store.image_ids("val"))

An import is one transaction: it fully succeeds or leaves the project unchanged. Bad input raises
FormatError whose message names the file and the entry. progress(done, total) returning False
cancels (the report then has cancelled=True and nothing changed or was written). Exports write
atomically: a file appears whole or not at all.
"""
from __future__ import annotations

import os
from typing import Iterable

from ..store import Store
from .common import Cancelled, ExportReport, FormatError, ImportReport, Progress

FORMATS = ("coco", "voc", "yolo", "labelme", "masks")
IMPORT_FORMATS = ("coco", "voc", "yolo", "labelme")

__all__ = ["FORMATS", "IMPORT_FORMATS", "FormatError", "ImportReport", "ExportReport", "Cancelled",
           "import_labels", "export_labels"]


def _module(fmt: str):
    if fmt == "coco":
        from . import coco as m
    elif fmt == "voc":
        from . import voc as m
    elif fmt == "yolo":
        from . import yolo as m
    elif fmt == "labelme":
        from . import labelme as m
    elif fmt == "masks":
        from . import masks as m
    else:
        raise FormatError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}")
    return m


def import_labels(store: Store, fmt: str, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
                  progress: Progress | None = None, **options) -> ImportReport:
    """Import labels from `path` (a file or a data-set folder, as the format has it). `options` are
    the format's own (voc: zero_based)."""
    if fmt not in IMPORT_FORMATS:
        raise FormatError(f"{path}: {fmt!r} cannot be imported; importable formats: {', '.join(IMPORT_FORMATS)}")
    m = _module(fmt)
    return getattr(m, f"import_{fmt}")(store, path, image_dir=image_dir, progress=progress, **options)


def export_labels(store: Store, fmt: str, out_path: str | os.PathLike, image_ids: Iterable[int] | None = None,
                  progress: Progress | None = None, include_predictions: bool = False) -> ExportReport:
    """Export the labels of `image_ids` (default: all images) to `out_path` (a file for COCO, a folder
    for the others). include_predictions adds the model predictions, with their scores."""
    m = _module(fmt)
    ids = None if image_ids is None else list(image_ids)
    return getattr(m, f"export_{fmt}")(store, out_path, image_ids=ids, progress=progress,
                                       include_predictions=include_predictions)
