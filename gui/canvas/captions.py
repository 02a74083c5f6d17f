"""Category names drawn on shapes: one small caption per shape, the same size on screen at every zoom.

Captions never pile up: a prediction scoring under the caption threshold, or a shape too small on
screen to carry a name, is captioned only while it is hovered or selected. The captions are Qt's own
C++ items (a rectangle with a text child), children of the shape item, so they move and hide with it.

    canvas.set_captions_shown(False)            # the View menu toggle (make_caption_action)
    canvas.set_caption_threshold(0.5)           # e.g. the Model panel's score threshold
"""
from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QRectF, QSettings, Qt
from PySide6.QtGui import QAction, QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem

MIN_SHAPE_PX = 16  # a shape smaller than this on screen (both sides) is captioned only when emphasised
PAD = 3
SETTINGS_KEY = "view/captions"


class CaptionItem(QGraphicsRectItem):
    """A name on a dark tag in the category's colour at (x, y): above it, or below it when `below`
    (predictions hang below their box's bottom-left corner, labels sit above the top-left one, so
    a prediction and the label it found do not cover each other's names)."""

    def __init__(self, parent: QGraphicsItem, text: str, color: QColor, x: float, y: float, below: bool = False):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.text_item = QGraphicsSimpleTextItem(text, self)
        self.text_item.setBrush(QBrush(QColor("white")))
        r = self.text_item.boundingRect()
        w, h = r.width() + 2 * PAD, r.height() + 2
        top = 0 if below else -h
        self.setRect(QRectF(0, top, w, h))
        self.text_item.setPos(PAD, top + 1)
        tag = QColor(color).darker(180)
        tag.setAlpha(215)
        self.setBrush(QBrush(tag))
        edge = QPen(QColor(color), 1)
        edge.setCosmetic(True)
        self.setPen(edge)
        self.setPos(x, y)

    def text(self) -> str:
        return self.text_item.text()


class CaptionPolicy:
    """Which captions show: depends on the zoom and on which shapes are hovered or selected."""

    def __init__(self):
        self.zoom = 1.0
        self.emphasised: set[int] = set()

    def shows(self, item) -> bool:
        cap = getattr(item, "caption", None)
        if cap is None:
            return False
        if item.ann.id in self.emphasised:
            return True
        if getattr(item, "caption_quiet", False):
            return False
        _, _, w, h = item.ann.bbox
        return max(w, h) * self.zoom >= MIN_SHAPE_PX

    def apply(self, items: Iterable) -> None:
        for item in items:
            cap = getattr(item, "caption", None)
            if cap is not None:
                show = self.shows(item)
                if cap.isVisible() != show:
                    cap.setVisible(show)

    def set_zoom(self, zoom: float, items: Iterable) -> None:
        if zoom != self.zoom:
            self.zoom = zoom
            self.apply(items)

    def set_emphasised(self, ids: Iterable[int], items_by_id: dict) -> None:
        ids = set(ids)
        changed = ids ^ self.emphasised
        self.emphasised = ids
        self.apply(items_by_id[i] for i in changed if i in items_by_id)


def saved_captions_shown() -> bool:
    return str(QSettings().value(SETTINGS_KEY, "true")).lower() in ("true", "1")


def make_caption_action(canvas, parent, keys: tuple[str, ...] | None = None) -> QAction:
    """A checkable "Show category names on shapes" action for the View menu; its state is kept in
    QSettings and applied to `canvas` at once. Its default key is the registry's "view.captions"."""
    from .. import shortcuts
    act = QAction(shortcuts.COMMANDS_BY_ID["view.captions"].text, parent)
    act.setObjectName("view.captions")
    act.setCheckable(True)
    act.setShortcuts(shortcuts.key_sequences(keys if keys is not None else shortcuts.load_keymap()["view.captions"]))
    act.setChecked(saved_captions_shown())
    canvas.set_captions_shown(act.isChecked())

    def toggled(on: bool) -> None:
        QSettings().setValue(SETTINGS_KEY, "true" if on else "false")
        canvas.set_captions_shown(on)
    act.toggled.connect(toggled)
    return act
