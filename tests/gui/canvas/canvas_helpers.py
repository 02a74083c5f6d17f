"""Real mouse and key events on the canvas, at image coordinates."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage


def vp(canvas, x, y):
    """Viewport position of image point (x, y)."""
    return canvas.view.mapFromScene(QPointF(x, y))


def press(qtbot, canvas, x, y, button=Qt.LeftButton, mods=Qt.NoModifier):
    qtbot.mousePress(canvas.view.viewport(), button, mods, vp(canvas, x, y))


def move(qtbot, canvas, x, y):
    qtbot.mouseMove(canvas.view.viewport(), vp(canvas, x, y))


def release(qtbot, canvas, x, y, button=Qt.LeftButton, mods=Qt.NoModifier):
    qtbot.mouseRelease(canvas.view.viewport(), button, mods, vp(canvas, x, y))


def click(qtbot, canvas, x, y, mods=Qt.NoModifier):
    press(qtbot, canvas, x, y, mods=mods)
    release(qtbot, canvas, x, y, mods=mods)


def drag(qtbot, canvas, start, end, steps=4, button=Qt.LeftButton, mods=Qt.NoModifier):
    press(qtbot, canvas, *start, button=button, mods=mods)
    for k in range(1, steps + 1):
        t = k / steps
        move(qtbot, canvas, start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
    release(qtbot, canvas, *end, button=button, mods=mods)


def key(qtbot, canvas, k, mods=Qt.NoModifier):
    qtbot.keyClick(canvas.view, k, mods)


def snapshot(store, image_id=None):
    """Store contents for exact comparison (every field of every annotation)."""
    return [a for a in store.annotations(image_id=image_id)]


def grab(canvas) -> np.ndarray:
    """What the view shows, as an HxWx3 RGB array."""
    img = canvas.view.viewport().grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return arr[:, :w * 3].reshape(h, w, 3).copy()
