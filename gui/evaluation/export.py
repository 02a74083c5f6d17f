"""Saving a plot widget as PNG or SVG (the SVG is drawn as vectors through QSvgGenerator).
Both are written to a temporary file first and renamed, so a failed save leaves nothing half-done."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget
from annotations.errors import SightlineError

PLOT_FORMATS = ("png", "svg")


class ExportError(SightlineError):
    pass


def export_widget(widget: QWidget, path: str | os.PathLike, title: str = "") -> Path:
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise ExportError(f"{p}: choose a .png or .svg file name")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.tmp{os.getpid()}.{fmt}")
    size = widget.size() if widget.width() > 10 else QSize(640, 480)
    if fmt == "png":
        if not widget.grab().save(str(tmp), "PNG"):
            raise ExportError(f"{p}: could not write the image")
    else:
        gen = QSvgGenerator()
        gen.setFileName(str(tmp))
        gen.setSize(size)
        gen.setViewBox(QRect(0, 0, size.width(), size.height()))
        gen.setTitle(title or widget.windowTitle() or "Sightline plot")
        painter = QPainter(gen)
        widget.render(painter)
        painter.end()
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise ExportError(f"{p}: could not write the SVG")
    os.replace(tmp, p)
    return p
