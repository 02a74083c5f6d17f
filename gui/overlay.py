"""Drawing predictions over a frame: masks blended in numpy (on the engine thread), boxes and labels
painted with QPainter (on the GUI thread, cheap). A class the project has is drawn in the project's
colour for it (`colors`: class name -> (r, g, b)); any other class in a stable colour of its own."""
from __future__ import annotations

import zlib

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from annotations.geometry import decode_rle

MASK_ALPHA = 0.45
SKIPPED_CLASSES = {"__background__", "background", "__ignore__"}


def class_color(name: str, colors: dict[str, tuple[int, int, int]] | None = None) -> tuple[int, int, int]:
    """The project's colour for the class, else a stable, saturated colour per class name."""
    if colors and name in colors:
        return colors[name]
    h = zlib.crc32(name.encode("utf-8"))
    hue = (h % 360) / 60.0
    c, x = 230, int(230 * (1 - abs(hue % 2 - 1)))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hue) % 6]
    return r + 25, g + 25, b + 25


def blend_masks(rgb: np.ndarray, pred, alpha: float = MASK_ALPHA,
                colors: dict[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    """The frame with instance masks and semantic classes tinted in (a copy; the input is kept)."""
    masks = getattr(pred, "masks", None)
    semantic = getattr(pred, "semantic", None)
    if not masks and semantic is None:
        return rgb
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    if masks:
        for rle, label in zip(masks, pred.labels):
            m = decode_rle(rle).astype(bool)
            if m.shape != (h, w):
                continue
            out[m] = out[m] * (1 - alpha) + np.asarray(class_color(label, colors), np.float32) * alpha
    if semantic is not None and semantic.shape == (h, w):
        for index in np.unique(semantic).tolist():
            if not 0 <= index < len(pred.class_names) or pred.class_names[index] in SKIPPED_CLASSES:
                continue
            m = semantic == index
            out[m] = out[m] * (1 - alpha) + np.asarray(class_color(pred.class_names[index], colors), np.float32) * alpha
    return out.astype(np.uint8)


def paint_detections(painter: QPainter, pred, scale: float, dx: float, dy: float,
                     colors: dict[str, tuple[int, int, int]] | None = None) -> None:
    """Boxes with "label score" tags; image pixel (x, y) is drawn at (dx + x*scale, dy + y*scale)."""
    boxes = getattr(pred, "boxes", None)
    if boxes is None or len(boxes) == 0:
        return
    font = QFont(painter.font())
    font.setPixelSize(12)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    for (x, y, w, h), score, label in zip(np.asarray(boxes, float), np.asarray(pred.scores, float), pred.labels):
        color = QColor(*class_color(label, colors))
        rect = QRectF(dx + x * scale, dy + y * scale, w * scale, h * scale)
        painter.setPen(QPen(color, 2))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(rect)
        text = f"{label} {score:.2f}"
        tag = QRectF(rect.left(), rect.top() - metrics.height() - 2, metrics.horizontalAdvance(text) + 6,
                     metrics.height() + 2)
        if tag.top() < 0:
            tag.moveTop(rect.top())
        painter.fillRect(tag, color)
        painter.setPen(Qt.black)
        painter.drawText(tag.adjusted(3, 0, 0, 0), Qt.AlignVCenter | Qt.AlignLeft, text)


def project_colors(categories) -> dict[str, tuple[int, int, int]]:
    """Class name -> (r, g, b) as the canvas draws the project's categories."""
    from .palette import category_color
    out = {}
    for c in categories:
        q = category_color(c.id, c.color)
        out[c.name] = (q.red(), q.green(), q.blue())
    return out
