"""The layer that draws every box and polygon that is not live (selected or being edited).

Zoomed out (the layer at most a few viewports large) it keeps its own raster of the whole layer at
the view's scale: a frame that changes nothing under it (cursor, handles, a dragged shape, a pan) is
one blit, and an edit re-renders only the region it touched (`invalidate`). A zoom step does not
wait for every shape to be drawn again: the frame right after it shows the previous raster scaled
(what map viewers do), and the sharp raster is drawn once the zoom has rested for SETTLE_MS. A step
of more than MAX_INTERIM (fit to 400%, say), an edit during the zoom, or a new image renders at once.
Zoomed in further, only the exposed part is drawn, each frame.

The raster of an image read ahead (shapes_prefetch) is drawn on the worker with the same function
(`render_raster`) at the scale the image will be shown at; the switch hands it over (`adopt`), and
the first frame at that scale takes it instead of drawing (a blit), drawing over it what changed
since (a selection, say).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

from PySide6.QtCore import QObject, QRectF, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QPolygonF, QTransform
from PySide6.QtWidgets import QGraphicsItem

from .items import ShapeItem

Z_SHAPES_LAYER = -1e17
SETTLE_MS = 80  # the zoom rested this long: draw the raster sharp at the new scale
MAX_INTERIM = 2.0  # steps bigger than this (either way) are drawn sharp at once
MAX_DIRTY = 64  # more regions waiting than this: the whole raster is drawn again


class ZoomSettle:
    """The interim policy of the layers that keep a raster (shapes, captions): whether a frame may
    show the previous raster at another scale, and the timer that asks for the sharp one."""

    def __init__(self, owner: QObject, sharpen: Callable[[], None]):
        self._timer = QTimer(owner)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(sharpen)
        self._sharpen = sharpen

    @staticmethod
    def may_scale(old_scale: float, new_scale: float) -> bool:
        return old_scale > 0 and 1 / MAX_INTERIM <= new_scale / old_scale <= MAX_INTERIM

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def settle(self) -> None:
        """Ask for the sharp raster now, as when the zoom has rested (benchmarks, screenshots)."""
        if self._timer.isActive():
            self._timer.stop()
            self._sharpen()


def layer_rect(width: int, height: int) -> QRectF:
    """The layer's rectangle for an image: shapes may lie a little outside; pens add a margin."""
    m = max(width, height)
    return QRectF(-0.05 * m - 8, -0.05 * m - 8, width + 0.1 * m + 16, height + 0.1 * m + 16)


def shapes_rastered(rect: QRectF, scale: float, viewport) -> bool:
    """Whether the layer keeps a raster at this scale: at most 4 viewports of pixels."""
    return rect.width() * rect.height() * scale * scale <= 4 * viewport.width() * viewport.height()


def raster_transform(rect: QRectF, k: float) -> QTransform:
    """Scene coordinates to the pixels of a raster of `rect` at k device pixels per scene unit (the
    rectangle's top left at pixel 0, 0)."""
    return QTransform(k, 0, 0, k, -rect.left() * k, -rect.top() * k)


def render_raster(rect: QRectF, scale: float, dpr: float, outlines: Iterable[tuple]) -> QImage:
    """The raster of the whole layer at `scale` (view) and `dpr`: `outlines` are (style, path) in
    drawing order, as ShapeItem.outline. Any thread may call it (a QPainter on a QImage)."""
    k = scale * dpr
    w, h = math.ceil(rect.width() * k) + 1, math.ceil(rect.height() * k) + 1
    raster = QImage(max(w, 1), max(h, 1), QImage.Format_ARGB32_Premultiplied)
    raster.fill(0)
    p = QPainter(raster)
    p.setTransform(raster_transform(rect, k))
    draw_outlines(p, outlines, scale < 1.0)
    p.end()
    return raster


def draw_outlines(painter: QPainter, outlines: Iterable[tuple], thin: bool) -> None:
    """Each (style, path) with its style's pen (the one-pixel one if `thin`: zoomed out, far cheaper)
    and brush; a path may be a one-ring QPolygonF (the first frame's, first_frame.py)."""
    current = None
    for (key, pen, thin_pen, brush), path in outlines:
        if key != current:
            painter.setPen(thin_pen if thin else pen)
            painter.setBrush(brush)
            current = key
        if type(path) is QPolygonF:
            painter.drawPolygon(path)
        else:
            painter.drawPath(path)


class ShapesLayer(QGraphicsItem):
    def __init__(self, owner: QObject):
        """`owner` (the canvas) holds the settle timer, so that it goes with the canvas."""
        super().__init__()
        self.setZValue(Z_SHAPES_LAYER)
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption)
        self._rect = QRectF()
        self._rastered = True
        self._raster: QImage | None = None
        self._raster_key = None  # (scale, device pixel ratio) it was drawn at
        self._dirty: list[QRectF] = []  # scene regions to draw again into the raster
        self._adopted = None  # (key, raster): a raster drawn elsewhere, taken by the next whole render
        self.zoom_settle = ZoomSettle(owner, self._sharpen)
        self.sharp_frames = 0  # rasters drawn whole (tests and benchmarks read it)
        # Called before the layer draws from the scene's items: the canvas makes the items it has
        # pending (a switch's first frame is an adopted raster, drawn before they exist).
        self.needs_items: Callable[[], None] = lambda: None

    # ---- state -------------------------------------------------------------------------------------
    def set_size(self, width: int, height: int) -> None:
        self.prepareGeometryChange()
        self._rect = layer_rect(width, height)
        self.invalidate_all()

    def adopt(self, raster: QImage, scale: float, dpr: float) -> None:
        """Take a raster of the whole layer drawn elsewhere (render_raster, on the prefetch worker)
        for the shapes the scene holds now; a frame at another scale draws its own."""
        if self._rastered:
            self._raster = None
            self._dirty.clear()
            self._adopted = ((scale, dpr), raster)
            self.zoom_settle.stop()
            self.update()

    def set_rastered(self, rastered: bool) -> None:
        """Keep a raster (zoomed out) or draw the exposed part each frame (zoomed far in)."""
        if rastered != self._rastered:
            self._rastered = rastered
            self._raster = self._adopted = None
            self._dirty.clear()
            self.update()

    def invalidate_all(self) -> None:
        self._raster = self._adopted = None
        self._dirty.clear()
        self.zoom_settle.stop()
        self.update()

    def invalidate(self, rect: QRectF) -> None:
        if rect.isNull():
            return
        views = self.scene().views() if self.scene() is not None else []
        scale = abs(views[0].transform().m11()) if views else 1.0
        m = 4.0 / max(scale, 1e-6)  # pens are cosmetic: their margin is in screen pixels
        rect = rect.adjusted(-m, -m, m, m)
        if self._raster is not None or self._adopted is not None:
            if len(self._dirty) >= MAX_DIRTY:
                self._raster = self._adopted = None
                self._dirty.clear()
            else:
                self._dirty.append(rect)
        self.update(rect)

    def boundingRect(self) -> QRectF:
        return self._rect

    # ---- painting ----------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.scene() is None or self._rect.isEmpty():
            return
        if not self._rastered:
            self._draw_shapes(painter, option.exposedRect, abs(painter.worldTransform().m11()))
            return
        t = painter.worldTransform()
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        key = (t.m11(), dpr)
        if self._raster is not None and key != self._raster_key:
            if self._raster_key[1] == dpr and not self._dirty and ZoomSettle.may_scale(self._raster_key[0], t.m11()):
                self._draw_scaled(painter, t)
                self.zoom_settle.start()
                return
            self._raster = None
        if self._raster is None:
            self._render_whole(key)
        if self._dirty:
            self._render_dirty()
        self.zoom_settle.stop()
        self._blit(painter, t, dpr, option.exposedRect)

    def _raster_transform(self) -> QTransform:
        """Scene coordinates to raster pixels (the layer's top left at pixel 0, 0)."""
        return raster_transform(self._rect, self._raster_key[0] * self._raster_key[1])

    def _render_whole(self, key) -> None:
        adopted, self._adopted = self._adopted, None
        self._raster_key = key
        if adopted is not None and adopted[0] == key:
            self._raster = adopted[1]
            return  # what changed since it was adopted (self._dirty) is drawn over it
        self._dirty.clear()
        self._raster = render_raster(self._rect, key[0], key[1], self._outlines(self._rect))
        self.sharp_frames += 1

    def _render_dirty(self) -> None:
        rt = self._raster_transform()
        p = QPainter(self._raster)
        for rect in _merged(self._dirty):  # an edit's old and new places overlap: their shapes drawn once
            area = rt.mapRect(rect).toAlignedRect()
            p.setTransform(QTransform())
            p.setClipRect(area)
            p.setCompositionMode(QPainter.CompositionMode_Source)
            p.fillRect(area, Qt.transparent)
            p.setCompositionMode(QPainter.CompositionMode_SourceOver)
            p.setTransform(rt)
            self._draw_shapes(p, rect, self._raster_key[0])
        p.end()
        self._dirty.clear()

    def _blit(self, painter: QPainter, t: QTransform, dpr: float, exposed: QRectF) -> None:
        """The exposed part of the raster, pixel for pixel (its origin rounded to a device pixel)."""
        origin = t.map(self._rect.topLeft()) * dpr
        x0, y0 = round(origin.x()), round(origin.y())
        source = self._raster_transform().mapRect(exposed).toAlignedRect().adjusted(-1, -1, 1, 1)
        source = source.intersected(self._raster.rect())
        if source.isEmpty():
            return
        painter.save()
        painter.resetTransform()
        painter.drawImage(QRectF((x0 + source.x()) / dpr, (y0 + source.y()) / dpr,
                                 source.width() / dpr, source.height() / dpr), self._raster, QRectF(source))
        painter.restore()

    def _draw_scaled(self, painter: QPainter, t: QTransform) -> None:
        """The raster drawn at another scale (a zoom step in progress)."""
        painter.save()
        painter.setTransform(self._raster_transform().inverted()[0] * t)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
        r = QRectF(self._raster.rect())
        painter.drawImage(r, self._raster, r)
        painter.restore()

    def _sharpen(self) -> None:
        self.needs_items()
        self._raster = None
        self.update()

    def _draw_shapes(self, painter: QPainter, area: QRectF, scale: float) -> None:
        draw_outlines(painter, self._outlines(area), scale < 1.0)

    def _outlines(self, area: QRectF) -> list[tuple]:
        """(style, path) of the shapes this layer draws that meet `area`, bottom first."""
        self.needs_items()
        return [item.outline for item in self.scene().items(area, Qt.IntersectsItemBoundingRect, Qt.AscendingOrder)
                if type(item) is ShapeItem and not item.live and item.isVisible()]


def _merged(rects: list[QRectF]) -> list[QRectF]:
    """The rectangles with every overlapping pair replaced by the rectangle around both."""
    out: list[QRectF] = []
    for r in rects:
        while True:
            hit = next((k for k, o in enumerate(out) if o.intersects(r)), None)
            if hit is None:
                break
            r = r.united(out.pop(hit))
        out.append(r)
    return out
