"""Brush and eraser for pixel masks.

A stroke edits the target mask cropped to its bbox (annotations.geometry.crop_rle), in a buffer
that grows as the stroke leaves it, and is written back once, on release, as one undoable change
(pasted with geometry.paste_into / paste_mask). Cropping and pasting work on the mask's runs, and
the command keeps only where the pixels flipped, so a stroke and its undo cost the stroke's box and
the mask's runs, whatever the image size. The brush paints into the one selected mask, or starts a new mask
of the current category; the eraser works on the selected mask or the mask under the cursor.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QGraphicsEllipseItem

from annotations import geometry
from annotations.model import MASK
from annotations.store import copy_annotation

from ...commands import AddAnnotations, ChangeAnnotations, RemoveAnnotations
from .. import shapes
from ..items import Z_PREVIEW, StrokePreview, cosmetic_pen
from ..painting import MASK_ALPHA, MASKS, premultiplied
from .base import Tool

GROW_MARGIN = 64  # pixels added around the buffer when a stroke leaves it


class BrushTool(Tool):
    name = "brush"
    cursor = Qt.CrossCursor
    erase = False

    def __init__(self, canvas):
        super().__init__(canvas)
        self._target = None  # the annotation being edited, None for a new mask
        self._buf: np.ndarray | None = None
        self._origin = (0, 0)
        self._last: tuple[float, float] | None = None
        self._dirty: tuple[float, float, float, float] | None = None  # what the stroke covers (image)
        self._preview: StrokePreview | None = None
        self._color = None  # the preview's colour
        self._ring: QGraphicsEllipseItem | None = None

    @property
    def busy(self) -> bool:
        return self._buf is not None

    def _pick_target(self, pos: QPointF):
        c = self.canvas
        selected = [a for a in c.selected_annotations(editable=True) if a.kind == MASK]
        if len(selected) == 1:
            return selected[0]
        if self.erase:
            item = c.hit(pos, kinds=(MASK,))
            return item.ann if item is not None else None
        return None

    def press(self, pos: QPointF, ev) -> None:
        c = self.canvas
        if ev.button() != Qt.LeftButton or c.image is None:
            return
        target = self._pick_target(pos)
        if target is None and (self.erase or not c.can_draw()):
            return
        self._target = target
        if target is not None:
            x0, y0, crop = geometry.crop_rle(target.rle)
            self._origin, self._buf = (x0, y0), crop.copy()
            c.set_item_visible(target.id, False)
        else:
            self._origin, self._buf = (int(pos.x()), int(pos.y())), np.zeros((0, 0), np.uint8)
        self._last = (pos.x(), pos.y())
        self._stamp(self._last, self._last)

    def move(self, pos: QPointF, ev) -> None:
        self._show_ring(pos)
        if self._buf is None:
            return
        p = (pos.x(), pos.y())
        self._stamp(self._last, p)
        self._last = p

    def release(self, pos: QPointF, ev) -> None:
        if self._buf is None:
            return
        c = self.canvas
        img = c.image
        target = self._target
        if target is None:
            rle = geometry.paste_mask(*self._origin, self._buf, img.height, img.width)
        else:  # only the stroke's box is rewritten, from the mask's runs: no full-frame decode
            rle = geometry.paste_into(geometry.normalize_rle(target.rle), *self._stroke_box())
        area = geometry.rle_area(rle)
        if area > 0 and self._preview is not None:  # the preview shows the result: the mask's item takes it
            MASKS.put(rle, self._color, MASK_ALPHA, *self._origin, self._preview.image())
        self._end_stroke()
        if target is None:
            if area > 0:
                cmd = AddAnnotations(c.store, [shapes.new_mask(img.id, c.current_category(), rle)], "Brush")
                c.push(cmd)
                c.select_annotations(cmd.ids)
        elif area == 0:
            c.push(RemoveAnnotations(c.store, [target], "Erase mask"))
        elif rle["counts"] != geometry.normalize_rle(target.rle)["counts"]:
            after = copy_annotation(target, rle=rle, bbox=geometry.rle_bbox(rle), area=area)
            c.push(ChangeAnnotations(c.store, [target], [after], "Erase" if self.erase else "Brush"))

    # ---- the stroke buffer ---------------------------------------------------------------------
    def _stroke_box(self) -> tuple[int, int, np.ndarray]:
        """(x, y, the buffer's pixels) over the part of the buffer the stroke may have changed."""
        (x0, y0), (h, w) = self._origin, self._buf.shape
        xa, ya, xb, yb = self._dirty
        c0, c1 = max(math.floor(xa) - x0, 0), min(math.ceil(xb) + 1 - x0, w)
        r0, r1 = max(math.floor(ya) - y0, 0), min(math.ceil(yb) + 1 - y0, h)
        return x0 + c0, y0 + r0, self._buf[r0:max(r1, r0), c0:max(c1, c0)]

    def _stamp(self, p, q) -> None:
        r = self.canvas.brush_radius
        xa, ya, xb, yb = min(p[0], q[0]) - r, min(p[1], q[1]) - r, max(p[0], q[0]) + r, max(p[1], q[1]) + r
        d = self._dirty
        self._dirty = (xa, ya, xb, yb) if d is None else (min(d[0], xa), min(d[1], ya), max(d[2], xb), max(d[3], yb))
        grown = self._grow(xa, ya, xb, yb)
        shapes.stamp_segment(self._buf, *self._origin, p, q, r, 0 if self.erase else 1)
        if grown or self._preview is None:
            self._new_preview()
        else:
            x0, y0 = self._origin
            h, w = self._buf.shape
            self._preview.refresh(self._buf, max(int(ya) - 1 - y0, 0), min(int(yb) + 2 - y0, h),
                                  max(int(xa) - 1 - x0, 0), min(int(xb) + 2 - x0, w))

    def _grow(self, xa: float, ya: float, xb: float, yb: float) -> bool:
        """Make the buffer cover [xa, xb] x [ya, yb] (clipped to the image); True if it grew."""
        img = self.canvas.image
        x0, y0 = self._origin
        h, w = self._buf.shape
        if w and h and xa >= x0 and ya >= y0 and xb <= x0 + w and yb <= y0 + h:
            return False
        nx0 = max(0, min(x0 if w else int(xa), int(xa) - GROW_MARGIN))
        ny0 = max(0, min(y0 if h else int(ya), int(ya) - GROW_MARGIN))
        nx1 = min(img.width, max(x0 + w if w else int(xb), int(xb) + GROW_MARGIN + 1))
        ny1 = min(img.height, max(y0 + h if h else int(yb), int(yb) + GROW_MARGIN + 1))
        buf = np.zeros((max(ny1 - ny0, 0), max(nx1 - nx0, 0)), np.uint8)
        if w and h:
            buf[y0 - ny0:y0 - ny0 + h, x0 - nx0:x0 - nx0 + w] = self._buf
        self._buf, self._origin = buf, (nx0, ny0)
        return True

    def _new_preview(self) -> None:
        c = self.canvas
        if self._preview is None:
            self._preview = StrokePreview()
            c.scene.addItem(self._preview)
        self._color = c.category_color(self._target.category_id if self._target else c.current_category())
        self._preview.set_buffer(self._origin, self._buf, premultiplied(self._color, MASK_ALPHA))

    def _show_ring(self, pos: QPointF) -> None:
        r = self.canvas.brush_radius
        if self._ring is None:
            self._ring = QGraphicsEllipseItem()
            self._ring.setPen(cosmetic_pen("#ffffff", Qt.DotLine, 1))
            self._ring.setZValue(Z_PREVIEW + 1)
            self.canvas.scene.addItem(self._ring)
        self._ring.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))

    def _end_stroke(self) -> None:
        if self._target is not None:
            self.canvas.set_item_visible(self._target.id, True)
        self._target, self._buf, self._last, self._dirty = None, None, None, None
        if self._preview is not None:
            if self._preview.scene() is not None:
                self._preview.scene().removeItem(self._preview)
            self._preview = None

    def key_press(self, ev) -> bool:
        if ev.key() == Qt.Key_Escape and self.busy:
            self._end_stroke()
            return True
        return False

    def cancel(self) -> None:
        self._end_stroke()
        if self._ring is not None:
            if self._ring.scene() is not None:
                self._ring.scene().removeItem(self._ring)
            self._ring = None


class EraserTool(BrushTool):
    name = "eraser"
    erase = True
