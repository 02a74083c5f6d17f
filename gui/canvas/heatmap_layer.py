"""A heat map over the image and under the shapes (an explanation: where the model looked).

The map (H x W floats in [0, 1], the image's pixels) is coloured once with the jet colour map into a
QImage; opacity is the item's own (QGraphicsItem.setOpacity), so the slider repaints nothing but a
blend. It sits just above the image layer and below every shape, takes no mouse buttons, and so never
hides or catches a shape: selection and editing go on as without it.

    layer = HeatmapLayer(); canvas.add_layer(layer)
    layer.set_map(heat, image_id); layer.set_alpha(0.5); layer.clear()
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

Z_HEATMAP = -5e17  # above the image (-1e18), below the shapes layer (-1e17) and every shape


def jet(heat: np.ndarray) -> np.ndarray:
    """H x W in [0, 1] -> H x W x 3 uint8 RGB in the jet colour map (blue, cyan, yellow, red)."""
    x = np.clip(np.asarray(heat, np.float32), 0, 1)[..., None] * 4.0
    centres = np.array([3.0, 2.0, 1.0], np.float32)  # red, green, blue peak at 3/4, 1/2, 1/4
    return (np.clip(1.5 - np.abs(x - centres), 0, 1) * 255).astype(np.uint8)


class HeatmapLayer(QGraphicsItem):
    def __init__(self, alpha: float = 0.5):
        super().__init__()
        self.setZValue(Z_HEATMAP)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setAcceptHoverEvents(False)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self._rgb: np.ndarray | None = None  # kept alive: the QImage reads its memory
        self._image: QImage | None = None
        self._size = (0, 0)
        self.image_id: int | None = None
        self.setOpacity(alpha)
        self.hide()

    def set_map(self, heat: np.ndarray, image_id: int | None = None, size: tuple[int, int] | None = None) -> None:
        """Show `heat` stretched over the image's size (width, height; default: the map's own)."""
        self.prepareGeometryChange()
        self._rgb = np.ascontiguousarray(jet(heat))
        h, w = self._rgb.shape[:2]
        self._image = QImage(self._rgb.data, w, h, self._rgb.strides[0], QImage.Format_RGB888)
        self._size = size or (w, h)
        self.image_id = image_id
        self.show()
        self.update()

    def clear(self) -> None:
        self.prepareGeometryChange()
        self._rgb, self._image, self._size, self.image_id = None, None, (0, 0), None
        self.hide()

    @property
    def has_map(self) -> bool:
        return self._image is not None

    def set_alpha(self, alpha: float) -> None:
        self.setOpacity(min(max(float(alpha), 0.0), 1.0))

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, *self._size)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._image is None:
            return
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        painter.drawImage(self.boundingRect(), self._image)
