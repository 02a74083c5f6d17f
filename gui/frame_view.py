"""A widget that shows one video frame, fitted, with the predictions of that frame drawn over it.

It keeps the numpy frame alive while a QImage borrows its memory (no copy per frame) and measures
end-to-end latency: from the frame's capture time to the end of the paint that shows it.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .overlay import paint_detections


class FrameView(QWidget):
    painted = Signal(float)  # end-to-end latency in seconds of a frame just painted for the first time

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self._rgb: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.prediction = None  # what is drawn over the frame (None: the bare frame)
        self._captured_at: float | None = None  # set until the frame has been painted once
        self.latencies: deque[float] = deque(maxlen=30)
        self.frames_painted = 0
        self.placeholder = "No video"
        self.note = ""  # a line across the top of the picture (e.g. why there are no predictions)
        self.colors: dict[str, tuple[int, int, int]] = {}  # class name -> the project's colour

    def sizeHint(self) -> QSize:
        """The frame's own size: a layout with room shows the video at least 1:1."""
        return QSize(self._rgb.shape[1], self._rgb.shape[0]) if self._rgb is not None else QSize(320, 240)

    def set_note(self, text: str) -> None:
        if text != self.note:
            self.note = text
            self.update()

    def set_frame(self, rgb: np.ndarray, prediction=None, captured_at: float | None = None) -> None:
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        resized = self._rgb is None or self._rgb.shape[:2] != (h, w)
        self._rgb = rgb  # the QImage below reads this buffer
        self._qimage = QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888)
        self.prediction = prediction
        self._captured_at = captured_at
        if resized:
            self.updateGeometry()
        self.update()

    def clear(self, placeholder: str = "No video") -> None:
        self._rgb = self._qimage = self.prediction = self._captured_at = None
        self.placeholder = placeholder
        self.update()

    @property
    def frame(self) -> np.ndarray | None:
        return self._rgb

    def image_rect(self) -> QRectF:
        """Where the frame is drawn in widget coordinates (fitted, centred, aspect kept)."""
        if self._rgb is None:
            return QRectF()
        h, w = self._rgb.shape[:2]
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def mean_latency(self) -> float:
        return sum(self.latencies) / len(self.latencies) if self.latencies else 0.0

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        if self._qimage is None:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.placeholder)
            self._paint_note(painter)
            painter.end()
            return
        target = self.image_rect()
        painter.setRenderHint(QPainter.SmoothPixmapTransform, target.width() < self._qimage.width())
        painter.drawImage(target, self._qimage)
        if self.prediction is not None:
            painter.setRenderHint(QPainter.Antialiasing)
            paint_detections(painter, self.prediction, target.width() / self._qimage.width(),
                             target.left(), target.top(), self.colors)
        self._paint_note(painter)
        painter.end()
        self.frames_painted += 1
        if self._captured_at is not None:
            latency = time.perf_counter() - self._captured_at
            self._captured_at = None
            self.latencies.append(latency)
            self.painted.emit(latency)

    def _paint_note(self, painter: QPainter) -> None:
        if not self.note:
            return
        flags = Qt.AlignCenter | Qt.TextWordWrap
        needed = painter.fontMetrics().boundingRect(0, 0, max(self.width() - 16, 50), 1000, flags, self.note)
        band = QRectF(0, 0, self.width(), needed.height() + 6)
        painter.fillRect(band, QColor(120, 30, 30, 200))
        painter.setPen(QColor(250, 250, 250))
        painter.drawText(band.adjusted(8, 3, -8, -3), flags, self.note)
