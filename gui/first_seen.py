"""Work a widget puts off until a person can see it (the Model panel's question to the engine imports
torch on the engine thread): done once, when the widget is first on screen.

A tabbed dock's content is shown for a moment while the window lays itself out, so the widget is
looked at again SETTLE_MS later; and it is not shown again when the person picks its dock's tab, so
the dock's visibilityChanged is watched too (a first look made while the window was still being
exposed found nothing on screen, and the Model panel went on "asking the engine" for good)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

SETTLE_MS = 200
_SHOW = QEvent.Show


class WhenFirstSeen(QObject):
    """Calls `callback()` once, the first time `widget` is visible with some of it on screen."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]):
        super().__init__(widget)
        self._widget, self._callback = widget, callback
        self._done = False
        self._dock: QDockWidget | None = None
        widget.installEventFilter(self)

    @property
    def done(self) -> bool:
        return self._done

    def eventFilter(self, obj, event) -> bool:
        if event.type() == _SHOW and not self._done:
            if self._dock is None:
                self._watch_dock()
            QTimer.singleShot(SETTLE_MS, self._look)
        return False

    def _watch_dock(self) -> None:
        dock = self._widget.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:
            self._dock = dock
            dock.visibilityChanged.connect(self._dock_visibility)

    def _dock_visibility(self, visible: bool) -> None:
        if visible and not self._done:
            QTimer.singleShot(SETTLE_MS, self._look)

    def _look(self) -> None:
        w = self._widget
        if not self._done and w.isVisible() and not w.visibleRegion().isEmpty():
            self._done = True
            w.removeEventFilter(self)
            self._callback()
