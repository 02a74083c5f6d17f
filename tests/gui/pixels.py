"""What a person sees of a widget in the window, compared with what the widget paints itself."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def argb(image: QImage) -> np.ndarray:
    """BGRA bytes, one row per line, copied out of the (temporary) converted image."""
    image = image.convertToFormat(QImage.Format_ARGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :4 * image.width()].copy()


def drawn_whole(win, widget, inset: int = 3) -> bool:
    """The window's pixels where `widget` lies are the widget's own painting, nothing covering or
    cutting it (`inset` pixels at the edges left out: a button's rounded corners show what is behind)."""
    rect = widget.rect().translated(widget.mapTo(win, widget.rect().topLeft()))
    if not win.rect().contains(rect):
        return False
    inner = np.s_[inset:-inset, 4 * inset:-4 * inset] if inset else np.s_[:, :]
    return bool((argb(widget.grab().toImage())[inner] == argb(win.grab(rect).toImage())[inner]).all())
