"""The colour a category is drawn in when it has none of its own: one rule for the canvas, the
category and annotation lists (their swatches) and the live view's overlay.

The first 16 ids take a palette of distinct colours; later ids (COCO has 80 classes) step round the
hue circle by the golden angle, alternating two saturations and two brightnesses, so no two of a
project's default colours are the same (cycling the 16 drew person and cat, bicycle and dog alike)."""
from __future__ import annotations

from PySide6.QtGui import QColor

PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
           "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000")
_GOLDEN = 0.618033988749895


def default_color(category_id: int) -> QColor:
    """The colour of category `category_id` (1-based) that has no colour of its own."""
    i = max(1, int(category_id)) - 1
    if i < len(PALETTE):
        return QColor(PALETTE[i])
    k = i - len(PALETTE)
    return QColor.fromHsvF((0.11 + k * _GOLDEN) % 1.0, (0.9, 0.55)[k % 2], (0.95, 0.7)[(k // 2) % 2])


def category_color(category_id: int, color: str = "") -> QColor:
    """The category's own colour (a Qt colour name, "#rrggbb"), else its default."""
    c = QColor(color) if color else QColor()
    return c if c.isValid() else default_color(category_id)
