"""The row an item view's pointer rests on: `rested(row)` once the pointer has stayed HOVER_MS on
one row (not while it passes over the view). The file list and the film strip announce the image
under the pointer with it, and the window reads that image ahead, so that the click which usually
follows opens it from memory."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView

HOVER_MS = 60  # a pointer resting this long on a row (not one passing over the view) announces it


class RestingPointer(QObject):
    rested = Signal(int)  # the row

    def __init__(self, view: QAbstractItemView):
        super().__init__(view)
        self._view = view
        self._row = -1
        self._timer = QTimer(self, singleShot=True, interval=HOVER_MS)
        self._timer.timeout.connect(self._announce)
        view.setMouseTracking(True)  # entered() on every row the pointer moves onto
        view.entered.connect(self._on_row)
        view.viewport().installEventFilter(self)

    def _on_row(self, index: QModelIndex) -> None:
        self._row = index.row() if index.isValid() else -1
        self._timer.start()

    def _announce(self) -> None:
        if 0 <= self._row < self._view.model().rowCount():
            self.rested.emit(self._row)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Leave:
            self._timer.stop()  # the pointer left before resting anywhere
        return False
