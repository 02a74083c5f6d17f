"""The view: zoom (to the cursor with the wheel), pan (middle drag or space+drag), fit, 1:1.

Mouse and key events that are not navigation go to `handler` (the canvas, which hands them to the
current tool) with positions already in image pixels.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView

MIN_ZOOM, MAX_ZOOM = 0.01, 32.0
WHEEL_STEP = 1.0015  # per eighth of a degree: one notch (120) zooms by about 20%


class ImageView(QGraphicsView):
    zoom_changed = Signal(float)
    cursor_moved = Signal(float, float)
    frame_drawn = Signal()

    def __init__(self, scene: QGraphicsScene, parent=None):
        super().__init__(scene, parent)
        self.handler = None
        self.setFrameShape(QFrame.NoFrame)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setBackgroundBrush(QColor(38, 38, 42))
        self.setOptimizationFlag(QGraphicsView.DontAdjustForAntialiasing, True)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setRenderHint(QPainter.Antialiasing, False)
        self._pan_from: QPoint | None = None
        self._space = False

    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)
        self.frame_drawn.emit()

    # ---- zoom -------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, anchor: QPoint | None = None) -> None:
        """Zoom keeping the image point under `anchor` (viewport pixels; default: centre) in place."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        if anchor is None:
            anchor = self.viewport().rect().center()
        fixed = self.mapToScene(anchor)
        self.setTransform(QTransform.fromScale(zoom, zoom))
        moved = self.mapFromScene(fixed) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self.zoom_changed.emit(zoom)

    def fit_zoom(self, rect: QRectF) -> float | None:
        """The zoom at which `rect` fits the viewport (None when either is empty)."""
        vp = self.viewport().rect()
        if rect.isEmpty() or vp.isEmpty():
            return None
        return min(max(min(vp.width() / rect.width(), vp.height() / rect.height()), MIN_ZOOM), MAX_ZOOM)

    def fit_rect(self, rect: QRectF) -> None:
        zoom = self.fit_zoom(rect)
        if zoom is None:
            return
        self.set_zoom(zoom)
        self.centerOn(rect.center())

    def wheelEvent(self, ev) -> None:
        delta = ev.angleDelta().y()
        if delta:
            self.set_zoom(self.zoom() * WHEEL_STEP ** delta, ev.position().toPoint())
        ev.accept()

    # ---- mouse ------------------------------------------------------------------------------
    def _scene_pos(self, ev) -> QPointF:
        return self.mapToScene(ev.position().toPoint())

    def mousePressEvent(self, ev) -> None:
        self.setFocus(Qt.MouseFocusReason)
        if ev.button() == Qt.MiddleButton or (ev.button() == Qt.LeftButton and self._space):
            self._pan_from = ev.position().toPoint()
            self.viewport().setCursor(Qt.ClosedHandCursor)
        elif self.handler is not None:
            self.handler.press(self._scene_pos(ev), ev)
        ev.accept()

    def mouseMoveEvent(self, ev) -> None:
        pos = self._scene_pos(ev)
        self.cursor_moved.emit(pos.x(), pos.y())
        if self._pan_from is not None:
            now = ev.position().toPoint()
            d = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
        elif self.handler is not None:
            self.handler.move(pos, ev)
        ev.accept()

    def mouseReleaseEvent(self, ev) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
        elif self.handler is not None:
            self.handler.release(self._scene_pos(ev), ev)
        ev.accept()

    def mouseDoubleClickEvent(self, ev) -> None:
        if self.handler is not None and self._pan_from is None:
            self.handler.double_click(self._scene_pos(ev), ev)
        ev.accept()

    # ---- keys -------------------------------------------------------------------------------
    def event(self, ev) -> bool:
        # Keys the current tool needs (Enter/Esc/Backspace while drawing, arrows) win over
        # window shortcuts bound to the same keys.
        if ev.type() == QEvent.ShortcutOverride and self.handler is not None and self.handler.wants_key(ev):
            ev.accept()
            return True
        return super().event(ev)

    def keyPressEvent(self, ev) -> None:
        if ev.key() == Qt.Key_Space and not ev.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            ev.accept()
            return
        if self.handler is not None and self.handler.key_press(ev):
            ev.accept()
            return
        ev.ignore()  # not QGraphicsView's: its arrow keys would scroll

    def keyReleaseEvent(self, ev) -> None:
        if ev.key() == Qt.Key_Space and not ev.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            ev.accept()
            return
        ev.ignore()
