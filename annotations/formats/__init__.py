"""Label file formats: COCO, Pascal VOC, YOLO, labelme (import and export) and PNG masks (export).

    report = import_labels(store, "coco", "instances.json", image_dir="images/")
    report = export_labels(store, "yolo", "out/", image_ids=store.image_ids("val"))

An import is one transaction: it fully succeeds or leaves the project unchanged. Bad input raises
FormatError whose message names the file and the entry. progress(done, total) returning False
cancels (the report then has cancelled=True and nothing changed or was written). Exports write
atomically: a file appears whole or not at all.
"""
from __future__ import annotations

import functools
import importlib
import os
from typing import Iterable

from ..plugins import package_modules
from ..store import Store
from .common import Cancelled, ExportReport, FormatError, FormatInfo, ImportReport, Progress


@functools.cache
def registry() -> tuple[FormatInfo, ...]:
    """Every module of this package that declares a FORMAT, in menu order, found on first use (the
    window starts without importing them). Adding a format is adding its module: the File menu, the
    dialogs and the CLI follow."""
    found = []
    for module in package_modules(__name__, __path__):
        fmt = getattr(module, "FORMAT", None)
        if fmt is not None:
            name = module.__name__.rsplit(".", 1)[-1]
            if fmt.name != name:
                raise ImportError(f"annotations/formats/{name}.py declares the format {fmt.name!r}: "
                                  "a format's module is named after it")
            found.append(fmt)
    return tuple(sorted(found, key=lambda f: (f.order, f.name)))


def __getattr__(name: str):
    """REGISTRY, FORMATS (names) and IMPORT_FORMATS (those that can be read), from registry()."""
    if name == "REGISTRY":
        return registry()
    if name == "FORMATS":
        return tuple(f.name for f in registry())
    if name == "IMPORT_FORMATS":
        return tuple(f.name for f in registry() if f.imports)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "IMPORT_FORMATS", "REGISTRY", "FormatInfo", "format_info", "registry", "FormatError",
           "ImportReport", "ExportReport", "Cancelled", "import_labels", "export_labels"]


def format_info(fmt: str) -> FormatInfo:
    for info in registry():
        if info.name == fmt:
            return info
    raise FormatError(f"unknown format {fmt!r}; known formats: {', '.join(f.name for f in registry())}")


def _module(fmt: str):
    return importlib.import_module(f"{__name__}.{format_info(fmt).name}")


def import_labels(store: Store, fmt: str, path: str | os.PathLike, image_dir: str | os.PathLike | None = None,
                  progress: Progress | None = None, **options) -> ImportReport:
    """Import labels from `path` (a file or a data-set folder, as the format has it). `options` are
    the format's own (voc: zero_based)."""
    readable = [f.name for f in registry() if f.imports]
    if fmt not in readable:
        raise FormatError(f"{path}: {fmt!r} cannot be imported; importable formats: {', '.join(readable)}")
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
