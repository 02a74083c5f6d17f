"""Label file formats: COCO, Pascal VOC, YOLO, labelme (import and export) and PNG masks (export).

    report = import_labels(store, "coco", "instances.json", image_dir="images/")
    report = export_labels(store, "yolo", "out/", image_ids=store.image_ids("val"))

An import is one transaction: it fully succeeds or leaves the project unchanged. Bad input raises
FormatError whose message names the file and the entry. progress(done, total) returning False
cancels (the report then has cancelled=True and nothing changed or was written). Exports write
atomically: a file appears whole or not at all.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Iterable

from ..store import Store
from .common import Cancelled, ExportReport, FormatError, ImportReport, Progress

@dataclass(frozen=True)
class FormatInfo:
    """A format of this package: its module (annotations/formats/<name>.py, with export_<name> and,
    where it can be read, import_<name>), and how menus and dialogs name it."""
    name: str
    title: str  # for menus: "COCO JSON"
    imports: bool = True  # has import_<name>
    single_file: bool = False  # one file (else a folder)


# Adding a format: its module, plus one entry here (the File menu, the dialogs and the CLI follow).
REGISTRY: tuple[FormatInfo, ...] = (
    FormatInfo("coco", "COCO JSON", single_file=True),
    FormatInfo("voc", "Pascal VOC (XML folder)"),
    FormatInfo("yolo", "YOLO (txt folder)"),
    FormatInfo("labelme", "labelme (JSON folder)"),
    FormatInfo("masks", "PNG masks (folder)", imports=False),
)
FORMATS = tuple(f.name for f in REGISTRY)
IMPORT_FORMATS = tuple(f.name for f in REGISTRY if f.imports)
_BY_NAME = {f.name: f for f in REGISTRY}

__all__ = ["FORMATS", "IMPORT_FORMATS", "REGISTRY", "FormatInfo", "format_info", "FormatError", "ImportReport",
           "ExportReport", "Cancelled", "import_labels", "export_labels"]


def format_info(fmt: str) -> FormatInfo:
    try:
        return _BY_NAME[fmt]
    except KeyError:
        raise FormatError(f"unknown format {fmt!r}; known formats: {', '.join(FORMATS)}") from None


def _module(fmt: str):
    return importlib.import_module(f"{__name__}.{format_info(fmt).name}")


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
