"""Real input on the real window: drags in image pixels on the canvas, key presses."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF
from PySide6.QtWidgets import QGraphicsView


def canvas_view(canvas) -> QGraphicsView:
    return canvas if isinstance(canvas, QGraphicsView) else canvas.findChild(QGraphicsView)


def image_point(canvas, x: float, y: float) -> tuple:
    """(widget to send events to, its position) of image pixel (x, y)."""
    view = canvas_view(canvas)
    p = view.mapFromScene(QPointF(x, y))
    return view.viewport(), QPoint(p.x(), p.y())


def drag(qtbot, canvas, start: tuple[float, float], end: tuple[float, float], steps: int = 6) -> None:
    """A real left-button drag on the canvas between two image points."""
    from PySide6.QtCore import Qt
    widget, p0 = image_point(canvas, *start)
    _, p1 = image_point(canvas, *end)
    qtbot.mouseMove(widget, p0)
    qtbot.mousePress(widget, Qt.LeftButton, pos=p0)
    for i in range(1, steps + 1):
        qtbot.mouseMove(widget, p0 + (p1 - p0) * (i / steps))
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=p1)


def press(qtbot, win, key, modifier=None) -> None:
    """A real key press delivered to whatever has focus in the window (as a user's would be)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication
    target = QApplication.focusWidget() or win
    qtbot.keyClick(target, key, modifier or Qt.NoModifier)


def image_with_shapes(win, n: int = 2, categories: int = 1) -> int:
    """The first image of the window's project with at least `n` shapes of `categories` categories."""
    for iid in win.store.image_ids():
        anns = win.store.annotations(image_id=iid)
        if len(anns) >= n and len({a.category_id for a in anns}) >= categories:
            return iid
    raise AssertionError(f"no image with {n} shapes of {categories} categories in the project")
