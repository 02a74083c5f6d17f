"""Work a widget puts off until a person can see it (the Model panel's question to the engine imports
torch on the engine thread): done once, when the widget is first on screen.

A tabbed dock's content is shown for a moment while the window lays itself out, so the widget is
looked at again SETTLE_MS later; and it is not shown again when the person picks its dock's tab, so
the dock's visibilityChanged is watched too (a first look made while the window was still being
exposed found nothing on screen, and the Model panel went on "asking the engine" for good). A widget
visible but not yet on screen (its window still being exposed) is looked at again, LOOKS times."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

SETTLE_MS = 200
LOOKS = 15  # looks after a show or a tab pick, SETTLE_MS apart, while the widget is visible but off screen
_SHOW = QEvent.Show


class WhenFirstSeen(QObject):
    """Calls `callback()` once, the first time `widget` is visible with some of it on screen."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]):
        super().__init__(widget)
        self._widget, self._callback = widget, callback
        self._done = False
        self._looks = 0  # looks left before the next show or tab pick
        self._dock: QDockWidget | None = None
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == _SHOW and not self._done:
            if self._dock is None:
                self._watch_dock()
            self._look_soon()
        return False

    def _look_soon(self) -> None:
        if not self._looks:  # else a look is already due
            QTimer.singleShot(SETTLE_MS, self._look)
        self._looks = LOOKS

    def _watch_dock(self) -> None:
        dock = self._widget.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:
            self._dock = dock
            dock.visibilityChanged.connect(self._dock_visibility)

    def _dock_visibility(self, visible: bool) -> None:
        if visible and not self._done:
            self._look_soon()

    def _look(self) -> None:
        w = self._widget
        self._looks -= 1
        if self._done or not w.isVisible():
            self._looks = 0
        elif not w.visibleRegion().isEmpty():
            self._done, self._looks = True, 0
            w.removeEventFilter(self)
            self._callback()
        elif self._looks > 0:
            QTimer.singleShot(SETTLE_MS, self._look)
