"""Drawing new shapes: rectangle (press, drag, release) and polygon (click points; close on the
first point or Enter; Esc cancels; Backspace removes the last point)."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPolygonF

from ...commands import AddAnnotations
from .. import shapes
from ..items import HANDLE_PX, PreviewPath
from .base import Tool


def _clamped(canvas, pos: QPointF) -> tuple[float, float]:
    w, h = canvas.image.width, canvas.image.height
    return (min(max(pos.x(), 0.0), float(w)), min(max(pos.y(), 0.0), float(h)))


class _DrawingTool(Tool):
    cursor = Qt.CrossCursor

    def __init__(self, canvas):
        super().__init__(canvas)
        self._preview: PreviewPath | None = None

    def _show(self, path: QPainterPath) -> None:
        if self._preview is None:
            self._preview = PreviewPath(self.canvas.current_color().name())
            self.canvas.scene.addItem(self._preview)
        self._preview.setPath(path)

    def _hide(self) -> None:
        if self._preview is not None:
            if self._preview.scene() is not None:
                self._preview.scene().removeItem(self._preview)
            self._preview = None

    def _add(self, ann, text: str) -> None:
        c = self.canvas
        cmd = AddAnnotations(c.store, [ann], text)
        c.push(cmd)
        if cmd.ids:
            c.select_annotations(cmd.ids)


class RectangleTool(_DrawingTool):
    name = "rectangle"

    def __init__(self, canvas):
        super().__init__(canvas)
        self._origin: tuple[float, float] | None = None

    @property
    def busy(self) -> bool:
        return self._origin is not None

    def press(self, pos, ev) -> None:
        if ev.button() == Qt.LeftButton and self.canvas.image is not None and self.canvas.can_draw():
            self._origin = _clamped(self.canvas, pos)

    def move(self, pos, ev) -> None:
        if self._origin is None:
            return
        path = QPainterPath()
        path.addRect(QRectF(*self._rect(pos)))
        self._show(path)

    def _rect(self, pos):
        img = self.canvas.image
        return shapes.normalized_rect(*self._origin, pos.x(), pos.y(), img.width, img.height)

    def release(self, pos, ev) -> None:
        if self._origin is None:
            return
        rect = self._rect(pos)
        self.cancel()
        if rect[2] >= 1 and rect[3] >= 1:
            c = self.canvas
            self._add(shapes.new_box(c.image.id, c.current_category(), rect), "Draw box")

    def key_press(self, ev) -> bool:
        if ev.key() == Qt.Key_Escape and self.busy:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self._origin = None
        self._hide()


class PolygonTool(_DrawingTool):
    name = "polygon"
    _KEYS = (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape, Qt.Key_Backspace)

    def __init__(self, canvas):
        super().__init__(canvas)
        self.points: list[tuple[float, float]] = []
        self._cursor: tuple[float, float] | None = None

    @property
    def busy(self) -> bool:
        return bool(self.points)

    def press(self, pos, ev) -> None:
        if ev.button() != Qt.LeftButton or self.canvas.image is None or not self.canvas.can_draw():
            return
        p = _clamped(self.canvas, pos)
        tol = HANDLE_PX / self.canvas.zoom()
        if len(self.points) >= 3:
            fx, fy = self.points[0]
            if math.hypot(p[0] - fx, p[1] - fy) <= tol:
                self.finish()
                return
        if self.points and math.hypot(p[0] - self.points[-1][0], p[1] - self.points[-1][1]) < tol / 4:
            return  # a double click, not a second point
        self.points.append(p)
        self._redraw()

    def move(self, pos, ev) -> None:
        if self.points:
            self._cursor = _clamped(self.canvas, pos)
            self._redraw()

    def _redraw(self) -> None:
        if not self.points:
            self._hide()
            return
        pts = self.points + ([self._cursor] if self._cursor else [])
        path = QPainterPath()
        path.addPolygon(QPolygonF([QPointF(x, y) for x, y in pts]))
        s = HANDLE_PX / 2 / self.canvas.zoom()
        for x, y in self.points:
            path.addRect(QRectF(x - s / 2, y - s / 2, s, s))
        self._show(path)

    def finish(self) -> None:
        """Close the polygon (needs 3 points) and add it."""
        if len(self.points) < 3:
            return
        c = self.canvas
        ann = shapes.new_polygon(c.image.id, c.current_category(), self.points)
        self.cancel()
        if ann.bbox[2] > 0 and ann.bbox[3] > 0:
            self._add(ann, "Draw polygon")

    def wants_key(self, ev) -> bool:
        return self.busy and ev.key() in self._KEYS

    def key_press(self, ev) -> bool:
        if not self.busy:
            return False
        key = ev.key()
        if key in (Qt.Key_Return, Qt.Key_Enter):
            self.finish()
        elif key == Qt.Key_Escape:
            self.cancel()
        elif key == Qt.Key_Backspace:
            self.points.pop()
            self._redraw()
        else:
            return False
        return True

    def cancel(self) -> None:
        self.points = []
        self._cursor = None
        self._hide()
