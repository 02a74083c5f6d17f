"""Where a dock the window shows goes, and how much room it gets (the window's show_panel and its
View menu both come here):

- a bottom dock shown while another bottom dock is open takes the whole width: a tab beside another
  feature's dock, a row of its own beside a strip (a dock whose content has a fixed height, as the
  film strip's) (Qt puts them side by side, each with half the width: the Explain dock beside
  Training cut its layer list);
- the bottom docks together take BOTTOM_SHARE of the window's height, so the canvas keeps the rest
  (and refits), and up to BOTTOM_MOST when the dock just shown needs that to show its whole form;
- a side dock can ask for a share of the window's width; the docks sharing its side then shrink to
  a few rows, and the bottom docks (full width, below the side) to BOTTOM_BESIDE_SIDE of the height.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QTabBar

BOTTOM_SHARE = 0.42
BOTTOM_MOST = 0.5  # what the bottom docks may take so that one shows its whole form (its content's minimum)
BOTTOM_BESIDE_SIDE = 0.3  # at most what the bottom docks keep when a side dock asking for room is shown
ROW_LEAST = 160  # the least the bottom docks keep beside a strip or below a side dock asking for room
_NO_LIMIT = (1 << 24) - 1  # QWIDGETSIZE_MAX: a widget's maximum height when none is set


def is_strip(dock: QDockWidget) -> bool:
    """A dock of its own fixed height (its content's maximum height is set): stacked, never tabbed."""
    return dock.widget() is not None and dock.widget().maximumHeight() < _NO_LIMIT


def _bottom(window: QMainWindow, docks: list[QDockWidget]) -> list[QDockWidget]:
    return [d for d in docks if d.isVisible() and not d.isFloating()
            and window.dockWidgetArea(d) == Qt.BottomDockWidgetArea]


def _bottom_rows(window: QMainWindow, docks: list[QDockWidget]) -> tuple[list[QDockWidget], int]:
    """The open bottom docks that share out their height (not strips), and the strips' own height."""
    bottom = _bottom(window, docks)
    return [d for d in bottom if not is_strip(d)], sum(d.height() for d in bottom if is_strip(d))


def beside_bottom_docks(window: QMainWindow, docks: list[QDockWidget], dock: QDockWidget) -> None:
    """Place `dock`, a bottom dock shown or about to be, beside the bottom docks already open."""
    if dock.isFloating():
        return
    for other in _bottom(window, docks):
        if other is dock:
            continue
        if is_strip(other) or is_strip(dock):
            window.addDockWidget(Qt.BottomDockWidgetArea, dock, Qt.Vertical)  # (also out of a tab Qt put it in)
        elif other not in window.tabifiedDockWidgets(dock):
            window.tabifyDockWidget(other, dock)
            dock.raise_()
        return


def size_shown(window: QMainWindow, docks: list[QDockWidget], dock: QDockWidget,
               width_fraction: float | None) -> None:
    """Give a dock just shown its room (module docstring), once it is laid out."""
    if dock.isFloating() or dock.isHidden():
        return
    dock.raise_()  # again: a tab raised before the window was shown stays behind
    if window.dockWidgetArea(dock) == Qt.BottomDockWidgetArea:
        budget = max(200, int(window.height() * BOTTOM_SHARE))
        others, strips = _bottom_rows(window, docks)
        if not strips:
            rows, given = [dock], budget
        elif others:
            rows, given = others, max(ROW_LEAST, budget - strips)
        else:
            return  # the strip alone: its own height
        # A few pixels more, within BOTTOM_MOST, rather than a scroll bar over the dock's form.
        more = min(_needed_height(window, dock) - given, int(window.height() * BOTTOM_MOST) - budget)
        window.resizeDocks(rows, [given + max(0, more)] * len(rows), Qt.Vertical)
    elif width_fraction:  # and most of the side's height, above or below the other side docks
        if dock.width() < width_fraction * window.width():
            window.resizeDocks([dock], [int(width_fraction * window.width())], Qt.Horizontal)
        area, tabbed = window.dockWidgetArea(dock), set(window.tabifiedDockWidgets(dock))
        others = [d for d in docks if d is not dock and d not in tabbed and d.isVisible()
                  and not d.isFloating() and window.dockWidgetArea(d) == area]
        # The docks sharing the side shrink to a few rows (Qt shares out what one dock's size leaves).
        window.resizeDocks(others + [dock], [max(80, d.minimumSizeHint().height()) for d in others]
                           + [int(0.85 * window.height())], Qt.Vertical)
        _lower_bottom(window, docks, int(BOTTOM_BESIDE_SIDE * window.height()))


def _lower_bottom(window: QMainWindow, docks: list[QDockWidget], most: int) -> None:
    """The bottom docks (a strip keeps its own height) down to `most` pixels together, where they
    are taller: the side docks above them take the rest of the height."""
    rows, strips = _bottom_rows(window, docks)
    given = max(ROW_LEAST, most - strips)
    if rows and max(d.height() for d in rows) > given:
        window.resizeDocks(rows, [given] * len(rows), Qt.Vertical)


def _needed_height(window: QMainWindow, dock: QDockWidget) -> int:
    """The height to ask resizeDocks for so that the dock shows its whole content without scrolling:
    its content's minimum, its title, and the tab bar when it is a tab (resizeDocks counts the tab
    bar in). 0 for a dock not wrapped in a scroll area, and for a strip (its own height)."""
    scroll = dock.widget()
    content = scroll.widget() if isinstance(scroll, QScrollArea) else None
    if content is None or is_strip(dock):
        return 0
    title = max(0, dock.height() - scroll.viewport().height())
    tabs = 0
    if window.tabifiedDockWidgets(dock):
        bars = window.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly)
        tabs = max((b.sizeHint().height() for b in bars), default=0)
    return content.minimumSizeHint().height() + title + tabs
