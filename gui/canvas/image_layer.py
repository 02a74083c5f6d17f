"""The image under the shapes: draws the pyramid level that fits the zoom, tile by tile, or a
placeholder while the pixels are decoded elsewhere.

A view adjustment (brightness, contrast, gamma: gui.view_adjust) is a 256-entry lookup table applied
to the tiles as they are drawn, each tile once per table, so nothing is decoded again and a zoomed-out
view of a large image adjusts only its small pyramid level (and a close view only the blocks it shows)."""
from __future__ import annotations

import math

import numpy as np

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem

from .image_cache import DecodedImage, Tile

PLACEHOLDER = QColor(60, 60, 64)
BLOCK = 512  # a view adjustment is applied to tiles in blocks of this many pixels a side


class ImageLayer(QGraphicsItem):
    def __init__(self):
        super().__init__()
        self.setZValue(-1e18)
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption)  # exposedRect = what needs painting
        # Scaled once per zoom into device pixels; later frames (cursor, handles, drags) blit it.
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self._size = (0, 0)
        self._image: DecodedImage | None = None
        self._lut: np.ndarray | None = None  # (256,) uint8 for the view adjustment, None for none
        self._lut4: np.ndarray | None = None
        # (id(tile), block x, block y) -> the adjusted pixels of that block of the tile
        self._adjusted: dict[tuple[int, int, int], tuple[np.ndarray, QImage]] = {}

    def set_size(self, width: int, height: int) -> None:
        self.prepareGeometryChange()
        self._size = (width, height)
        self._image = None
        self._adjusted.clear()
        self.update()

    def set_image(self, image: DecodedImage | None) -> None:
        self._image = image
        self._adjusted.clear()
        self.update()

    def set_lut(self, lut: np.ndarray | None) -> None:
        """The view adjustment's table (applied to B, G and R), or None to draw the pixels as decoded."""
        if lut is None and self._lut is None:
            return
        if lut is not None and self._lut is not None and np.array_equal(lut, self._lut):
            return
        self._lut = None if lut is None else np.ascontiguousarray(lut, dtype=np.uint8)
        # Per channel for BGRA: the table on B, G, R; alpha stays 255, as Format_RGB32 requires.
        self._lut4 = None if lut is None else np.ascontiguousarray(
            np.stack([self._lut] * 3 + [np.full(256, 255, np.uint8)], axis=-1).reshape(256, 1, 4))
        self._adjusted.clear()
        self.update()

    @property
    def lut(self) -> np.ndarray | None:
        return self._lut

    def _pieces(self, tile: Tile, c0: int, r0: int, c1: int, r1: int):
        """What to draw for the part [c0, c1) x [r0, r1) of a tile: (image, its origin in the tile,
        the part it covers). With an adjustment, the tile is adjusted in blocks as they are first
        drawn, so a view at 100% of a huge image adjusts only what it shows."""
        if self._lut is None:
            yield tile.image, 0, 0, c0, r0, c1, r1
            return
        for by in range(r0 - r0 % BLOCK, r1, BLOCK):
            for bx in range(c0 - c0 % BLOCK, c1, BLOCK):
                yield (self._block(tile, bx, by), bx, by,
                       max(c0, bx), max(r0, by), min(c1, bx + BLOCK), min(r1, by + BLOCK))

    def _block(self, tile: Tile, bx: int, by: int) -> QImage:
        key = (id(tile), bx, by)
        done = self._adjusted.get(key)
        if done is None:
            import cv2  # already loaded by the decoder; its LUT is several times faster than numpy's take
            pixels = cv2.LUT(tile.pixels[by:by + BLOCK, bx:bx + BLOCK], self._lut4)  # a new contiguous array
            img = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0], QImage.Format_RGB32)
            done = self._adjusted[key] = (pixels, img)
        return done[1]

    @property
    def has_pixels(self) -> bool:
        return self._image is not None

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, *self._size)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect())
        device = painter.device()
        inverse, ok = painter.worldTransform().inverted()
        if device is not None and ok:  # and on the paint device: what is off it needs no pixels adjusted
            exposed = exposed.intersected(inverse.mapRect(QRectF(0, 0, device.width(), device.height())))
        img = self._image
        if img is None:
            painter.fillRect(exposed, PLACEHOLDER)
            return
        scale = abs(painter.worldTransform().m11()) or 1.0
        # The smallest level still at least as detailed as the screen.
        level = img.levels[0]
        for lv in img.levels[1:]:
            if lv.width / img.width >= scale:
                level = lv
        sx, sy = img.width / level.width, img.height / level.height
        smooth = scale < 1.0
        painter.setRenderHint(QPainter.SmoothPixmapTransform, smooth)
        for t in level.tiles:
            target = QRectF(t.x * sx, t.y * sy, t.width * sx, t.height * sy)
            if not target.intersects(exposed):
                continue
            # Whole source pixels only: a fractional source rect shifts pixels at high zoom.
            part = target.intersected(exposed)
            c0 = max(math.floor(part.left() / sx) - t.x, 0)
            r0 = max(math.floor(part.top() / sy) - t.y, 0)
            c1 = min(math.ceil(part.right() / sx) - t.x, t.width)
            r1 = min(math.ceil(part.bottom() / sy) - t.y, t.height)
            if c1 <= c0 or r1 <= r0:
                continue
            for image, ox, oy, a0, b0, a1, b1 in self._pieces(t, c0, r0, c1, r1):
                painter.drawImage(QRectF((t.x + a0) * sx, (t.y + b0) * sy, (a1 - a0) * sx, (b1 - b0) * sy),
                                  image, QRectF(a0 - ox, b0 - oy, a1 - a0, b1 - b0))
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)


def image_layer_of(scene: QGraphicsScene) -> ImageLayer:
    """The image layer of a canvas's scene."""
    return next(item for item in scene.items() if isinstance(item, ImageLayer))
