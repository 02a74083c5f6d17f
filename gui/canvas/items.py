"""Scene items: one per annotation (outline or mask), the selection handles, and tool previews.

Shape items are Qt's own C++ items (path and pixmap items) configured from painting.appearance(),
so the view paints thousands of them without a Python call per shape per frame.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem

from annotations import geometry
from annotations.model import MASK, POLYGON, PREDICTION, Annotation

from . import shapes
from .painting import MASK_ALPHA, MASKS, PREDICTION_MASK_ALPHA, RenderContext, appearance, outline_path, outline_paths

if TYPE_CHECKING:
    from .shapes_layer import ShapesLayer

HANDLE_PX = 8  # handle size on screen
Z_HANDLES, Z_PREVIEW = 1e9, 2e9


def z_for(ann: Annotation) -> float:
    """Smaller shapes above larger ones, so a click reaches the one inside."""
    x, y, w, h = ann.bbox
    return -float(w * h)


def _geometry_key(ann: Annotation):
    # Annotations are replaced, never changed in place, so holding their lists is safe.
    return (ann.kind, tuple(ann.bbox), ann.polygons, ann.holes, None if ann.rle is None else ann.rle.get("counts"))


class AnnotationItem:
    """What the canvas needs from any shape item."""
    ann: Annotation

    @property
    def ann_id(self) -> int:
        return self.ann.id

    def _clear_children(self) -> None:
        """Drop decorations of the previous version (captions are captions.CaptionsLayer's)."""
        for child in self.childItems():
            child.setParentItem(None)
            if child.scene() is not None:
                child.scene().removeItem(child)


class ShapeItem(QGraphicsPathItem, AnnotationItem):
    """A box or a polygon. Unless `live` (selected or being edited) it paints nothing itself: the
    ShapesLayer draws it into its cache; the item still serves hit-testing through the scene index.
    An item is reshaped in place for another annotation (the canvas reuses the previous image's
    items), which costs a fraction of making and destroying a Qt item."""

    def __init__(self, ann: Annotation, ctx: RenderContext, layer: "ShapesLayer", path: QPainterPath | None = None):
        super().__init__()
        self._key = None
        self.layer = layer
        self.live = False
        self.setFlag(QGraphicsItem.ItemHasNoContents, True)
        self.set_annotation(ann, ctx, path)

    def set_annotation(self, ann: Annotation, ctx: RenderContext, path: QPainterPath | None = None,
                       invalidate: bool = True) -> None:
        """Show `ann`; `path` is its outline when the caller built it already (outline_paths);
        invalidate False: the caller repaints the whole layer anyway."""
        # (a new item's area is invalidated when it is added to the scene)
        invalidate = invalidate and not self.live and self.scene() is not None
        old = self.sceneBoundingRect() if invalidate else None
        self.ann = ann
        key = _geometry_key(ann)
        look = appearance(ann, ctx)
        changed = key != self._key or look is not self._look
        if key != self._key:
            self.setPath(path if path is not None else outline_path(ann))
            self._key = key
        self._take_look(look)
        if changed:
            self.outline = (look.style, self.path())  # what the shapes layer draws it with
        self.setZValue(z_for(ann))
        if invalidate:
            self.layer.invalidate(old.united(self.sceneBoundingRect()))

    def reshape(self, ann: Annotation, look, path: QPainterPath) -> None:
        """set_annotation for a switch (items_sync._build_items): `look` is appearance(ann), `path`
        its outline; the item is not live and the shapes layer repaints whole, so nothing is compared
        or invalidated (a few microseconds less per shape, thousands of shapes)."""
        self.ann = ann
        self._key = _geometry_key(ann)
        self.setPath(path)
        self._take_look(look)
        self.outline = (look.style, path)
        self.setZValue(z_for(ann))

    def _take_look(self, look) -> None:
        if look is not self._look:
            self._look = look
            self._apply_pen()
            self.setBrush(look.brush)

    _look = None
    outline: tuple = (None, None)

    def _apply_pen(self) -> None:
        # The item's own pen only paints while it is live. Otherwise it is the one-pixel version of
        # the same pen: Qt then takes the bounding rect from the path's points, where a wide pen
        # makes it stroke the whole outline (most of what a switch to 2000 polygons cost).
        self.setPen(self._look.pen if self.live else self._look.thin_pen)

    def set_live(self, live: bool) -> None:
        if live != self.live:
            old = self.sceneBoundingRect()
            self.live = live
            self._apply_pen()
            self.setFlag(QGraphicsItem.ItemHasNoContents, not live)
            self.layer.invalidate(old.united(self.sceneBoundingRect()))

    def hit(self, scene_pos: QPointF) -> bool:
        return self.path().contains(scene_pos - self.pos())


class MaskItem(QGraphicsPixmapItem, AnnotationItem):
    """A pixel mask, drawn from its coloured crop (cached per RLE and colour)."""

    def __init__(self, ann: Annotation, ctx: RenderContext):
        super().__init__()
        self.setTransformationMode(Qt.FastTransformation)  # pixel-exact when zoomed in
        self.setShapeMode(QGraphicsPixmapItem.BoundingRectShape)
        self._key = None
        self._crop: tuple[int, int, np.ndarray] | None = None
        self.set_annotation(ann, ctx)

    def set_annotation(self, ann: Annotation, ctx: RenderContext, path=None) -> None:
        self.ann = ann
        look = appearance(ann, ctx)
        color = ctx.color(ann.category_id)
        alpha = PREDICTION_MASK_ALPHA if ann.status == PREDICTION else MASK_ALPHA
        key = (_geometry_key(ann), color.rgb(), alpha)
        if key != self._key:
            x0, y0, image = MASKS.get(ann.rle, color, alpha)
            self.setPixmap(QPixmap.fromImage(image) if not image.isNull() else QPixmap())
            self.setOffset(x0, y0)
            self._crop = None
            self._key = key
        self.setZValue(z_for(ann))
        self._clear_children()
        if ann.status == PREDICTION:
            frame = QGraphicsRectItem(QRectF(*ann.bbox), self)
            frame.setPen(look.pen)

    def hit(self, scene_pos: QPointF) -> bool:
        if self._crop is None:
            self._crop = geometry.crop_rle(self.ann.rle)
        x0, y0, crop = self._crop
        p = scene_pos - self.pos()
        c, r = int(np.floor(p.x())) - x0, int(np.floor(p.y())) - y0
        return 0 <= r < crop.shape[0] and 0 <= c < crop.shape[1] and bool(crop[r, c])


def make_item(ann: Annotation, ctx: RenderContext, layer: "ShapesLayer", path: QPainterPath | None = None):
    return MaskItem(ann, ctx) if ann.kind == MASK else ShapeItem(ann, ctx, layer, path)


class HandlesItem(QGraphicsItem):
    """The selection drawn over the selected shapes: their outline emphasised (a dark halo under a
    white line, never a fill, so the shape and the image stay visible through it) and the handles
    on top: box corners and edges, polygon vertices, except on a shape too small on screen for them
    (shapes.handles_have_room). A mask is outlined by its bounding box."""

    def __init__(self):
        super().__init__()
        self.setZValue(Z_HANDLES)
        self._anns: list[Annotation] = []
        self._paths: list[QPainterPath] = []
        self._roomy: list[bool] = []
        self._scale = 1.0
        self._rect = QRectF()

    def set_shapes(self, anns: list[Annotation], scale: float) -> None:
        self.prepareGeometryChange()
        self._anns = list(anns)
        self._paths = outline_paths(self._anns) if self._anns else []
        self._scale = max(scale, 1e-6)
        self._roomy = [shapes.handles_have_room(a, HANDLE_PX / self._scale) for a in self._anns]
        rect = QRectF()
        for a in anns:
            rect = rect.united(QRectF(*a.bbox))
        m = 2 * HANDLE_PX / self._scale
        self._rect = rect.adjusted(-m, -m, m, m) if anns else QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        scale = painter.worldTransform().m11() or self._scale
        s = HANDLE_PX / scale
        halo = cosmetic_pen("#000000", width=3.5)
        halo.setColor(QColor(0, 0, 0, 160))
        line = cosmetic_pen("#ffffff", width=1.5)
        dashed = cosmetic_pen("#ffffff", Qt.DashLine, 1.5)
        handle = cosmetic_pen("#ffffff", width=1)
        for a, path, roomy in zip(self._anns, self._paths, self._roomy):
            painter.setBrush(Qt.NoBrush)
            for pen in (halo, dashed if a.kind == MASK else line):
                painter.setPen(pen)
                painter.drawPath(path)
            if not roomy:
                continue  # too small on screen for its handles: it is moved whole (shapes.handles_have_room)
            painter.setPen(handle)
            painter.setBrush(QBrush(QColor(30, 30, 30)))
            for x, y in handle_points(a):
                painter.drawRect(QRectF(x - s / 2, y - s / 2, s, s))


def handle_points(ann: Annotation) -> list[tuple[float, float]]:
    if ann.kind == POLYGON and ann.polygons:
        return [tuple(p) for r in ann.polygons for p in np.asarray(r, float).reshape(-1, 2).tolist()]
    if ann.kind == MASK:
        return []
    return shapes.box_handles(ann.bbox)


def cosmetic_pen(color: str = "#ffffff", style=Qt.SolidLine, width: float = 1.5) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setCosmetic(True)
    return pen


class PreviewPath(QGraphicsPathItem):
    """What a drawing tool has so far (rubber band, rectangle, open polygon)."""

    def __init__(self, color: str = "#ffffff"):
        super().__init__()
        self.setZValue(Z_PREVIEW)
        self.setPen(cosmetic_pen(color, Qt.DashLine))


class StrokePreview(QGraphicsItem):
    """A brush stroke in progress: the stroke buffer coloured into a QImage that wraps a numpy
    array, re-coloured and repainted only where the last stamp touched."""

    def __init__(self):
        super().__init__()
        self.setZValue(Z_PREVIEW)
        self._origin = (0, 0)
        self._argb = np.zeros((0, 0), np.uint32)
        self._image = QImage()
        self._value = np.uint32(0)

    def set_buffer(self, origin: tuple[int, int], buf: np.ndarray, argb_premultiplied: int) -> None:
        """Take a new (or grown) buffer: everything is re-coloured."""
        self.prepareGeometryChange()
        self._origin = origin
        self._value = np.uint32(argb_premultiplied)
        self._argb = np.where(buf.astype(bool), self._value, np.uint32(0)).astype(np.uint32)
        h, w = buf.shape
        self._image = QImage(self._argb.data, w, h, 4 * w, QImage.Format_ARGB32_Premultiplied) if w and h else QImage()
        self.update()

    def refresh(self, buf: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> None:
        """Re-colour rows r0:r1, columns c0:c1 of the buffer (same buffer as set_buffer's)."""
        self._argb[r0:r1, c0:c1] = np.where(buf[r0:r1, c0:c1].astype(bool), self._value, np.uint32(0))
        x0, y0 = self._origin
        self.update(QRectF(x0 + c0, y0 + r0, c1 - c0, r1 - r0))

    def image(self) -> QImage:
        """The stroke's pixels as shown, a copy that owns its memory."""
        return self._image.copy()

    def boundingRect(self) -> QRectF:
        h, w = self._argb.shape
        return QRectF(self._origin[0], self._origin[1], w, h)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self._image.isNull():
            painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
            painter.drawImage(QPointF(*self._origin), self._image)
