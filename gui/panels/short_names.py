"""Image names that do not fit their column: the start and the end all of a project's names share go
first, so that two different names never look the same (COCO's "COCO_val2014_000000000036.jpg" and
"COCO_val2014_000000581936.jpg" were both "COCO_v...36.jpg" in a 100 px column)."""
from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

ELLIPSIS = "\u2026"
_ELIDE_MIDDLE = Qt.ElideMiddle
_MARGIN = QStyle.PM_FocusFrameHMargin
_PIECE = 3  # the fewest characters of a shared part kept beside its ellipsis


def text_margins(view) -> int:
    """The width of a view cell's text margins, left and right together (Qt's item text margin)."""
    return 2 * (view.style().pixelMetric(_MARGIN, None, view) + 1)


def shared_affixes(names: list[str]) -> tuple[int, int]:
    """Lengths of the start and of the end that every name shares; (0, 0) for fewer than two names."""
    if len(names) < 2:
        return 0, 0
    return len(os.path.commonprefix(names)), len(os.path.commonprefix([n[::-1] for n in names]))


def fitted_name(name: str, start: int, end: int, fits: Callable[[str], bool],
                elide_middle: Callable[[str], str]) -> str:
    """`name` as it fits: whole; else what it does not share with the others kept whole and as much of
    the shared start (`start` characters) as the room leaves, the rest of it an ellipsis; else the
    same with the shared end (`end` characters); else both shared parts an ellipsis; else the last
    of these with its middle elided as well. A shared part of fewer than two characters is kept."""
    if fits(name):
        return name
    start = start if start >= 2 else 0
    end = end if end >= 2 else 0
    if start + end >= len(name):  # the name is nothing but what all share: nothing to tell apart
        return elide_middle(name)
    stop = len(name) - end
    shortest = name
    if start:
        text = _longest(start, lambda k: name[:k] + ELLIPSIS + name[start:], fits)
        if text is not None:
            return text
        shortest = ELLIPSIS + name[start:]
    if end:
        text = _longest(end, lambda k: name[:stop] + ELLIPSIS + (name[len(name) - k:] if k else ""), fits)
        if text is not None:
            return text
        shortest = name[:stop] + ELLIPSIS
    if start and end:
        shortest = ELLIPSIS + name[start:stop] + ELLIPSIS
        if fits(shortest):
            return shortest
    return elide_middle(shortest)


def _longest(limit: int, text: Callable[[int], str], fits: Callable[[str], bool]) -> str | None:
    """text(k) for the largest k below `limit` that fits (text grows with k), k of at least _PIECE or
    0 (a letter or two of a shared part reads as noise); None when text(0) does not fit."""
    if not fits(text(0)):
        return None
    low, high = 0, limit - 1
    while low < high:
        mid = (low + high + 1) // 2
        if fits(text(mid)):
            low = mid
        else:
            high = mid - 1
    return text(low if low >= _PIECE else 0)


class NameDelegate(QStyledItemDelegate):
    """Draws a column of image names through fitted_name; `affixes()` gives the shared lengths."""

    def __init__(self, affixes: Callable[[], tuple[int, int]], parent=None):
        super().__init__(parent)
        self._affixes = affixes

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        fm, text = option.fontMetrics, option.text
        room = option.rect.width() - (text_margins(option.widget) if option.widget is not None else 4)
        if not text or fm.horizontalAdvance(text) <= room:
            return
        option.text = fitted_name(text, *self._affixes(), lambda t: fm.horizontalAdvance(t) <= room,
                                  lambda t: fm.elidedText(t, _ELIDE_MIDDLE, room))
