"""What every canvas tool is: mouse and key handlers in image pixels, and a way to stop."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt


class Tool:
    name = ""
    cursor = Qt.ArrowCursor

    def __init__(self, canvas):
        self.canvas = canvas  # the CanvasWidget (see its "for tools" section)

    def press(self, pos: QPointF, ev) -> None:
        pass

    def move(self, pos: QPointF, ev) -> None:
        pass

    def release(self, pos: QPointF, ev) -> None:
        pass

    def double_click(self, pos: QPointF, ev) -> None:
        pass

    def key_press(self, ev) -> bool:
        """True when the tool used the key."""
        return False

    def wants_key(self, ev) -> bool:
        """True for keys the tool needs even when a window shortcut uses them."""
        return False

    @property
    def busy(self) -> bool:
        """Something is in progress (a drag, an open polygon, a stroke)."""
        return False

    def cancel(self) -> None:
        """Drop whatever is in progress (tool switched, image changed, Esc)."""
