"""The annotations of the image on the canvas: select, hide, lock, relabel, delete, and where each
came from (drawn by hand, or proposed by a model with its score; predictions are marked as such).

The panel edits nothing itself: it asks through signals and the window carries the request out
(through the canvas, so edits land on the undo stack).
"""
from __future__ import annotations

import bisect
from collections import Counter

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from annotations.model import HAND, Annotation
from annotations.store import Store

from ..session import Session

from .category_list import _swatch, category_color

COL_SHOW, COL_LOCK, COL_CATEGORY, COL_SHAPE, COL_FROM = range(5)
HEADERS = ("Show", "Lock", "Category", "Shape", "From")
FITTED_COLUMNS = (COL_SHOW, COL_LOCK, COL_CATEGORY, COL_SHAPE)
MANY_IDS = 64  # a change naming more annotations than this rebuilds the list in one query
# Looked up once: a row is filled on every edit, and reading Qt enum attributes costs microseconds each.
_ID, _IS_PREDICTION = int(Qt.UserRole), int(Qt.UserRole) + 1
_DECORATION, _FONT, _FOREGROUND = int(Qt.DecorationRole), int(Qt.FontRole), int(Qt.ForegroundRole)
_CHECKED, _UNCHECKED = Qt.Checked, Qt.Unchecked
_ROW_FLAGS = Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsUserCheckable
_ITALIC = QFont()
_ITALIC.setItalic(True)
_PREDICTION_BRUSH = QBrush(QColor("#d08a2c"))


def provenance(a: Annotation) -> str:
    """'hand', or the model's name with the score; predictions say so."""
    if a.source == HAND and a.score is None:
        text = "hand"
    else:
        text = a.source if a.score is None else f"{a.source} {a.score:.2f}"
    return f"prediction \u00b7 {text}" if a.is_prediction else text


def shape_text(a: Annotation) -> str:
    if a.kind == "polygon":
        n = sum(len(p) // 2 for p in a.polygons or [])
        return f"polygon ({n} pts)"
    if a.kind == "mask":
        return f"mask ({int(a.area or 0)} px)"
    x, y, w, h = a.bbox
    return f"box {w:.0f}\u00d7{h:.0f}"


class AnnotationListPanel(QWidget):
    relabel_requested = Signal(list, int)  # ids, new category id
    delete_requested = Signal(list)
    accept_requested = Signal(list)
    reject_requested = Signal(list)

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.store: Store | None = None
        self._rows: dict[int, QTreeWidgetItem] = {}  # annotation id -> its row
        self._order: list[int] = []  # the rows' annotation ids, ascending (the store's order)
        self._predictions: set[int] = set()
        self._shown: dict[int, tuple] = {}  # annotation id -> what its row shows (_row_view)
        self._texts: Counter = Counter()  # (column, text, italic) -> rows: the fitted columns' contents
        self._cats: dict = {}
        self._swatches: dict = {}  # category id -> its swatch, made once per categories' reload
        self.title = QLabel("No image")
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # text never resizes the dock
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(HEADERS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QTreeWidget.ExtendedSelection)
        self.tree.setMinimumHeight(140)  # a few rows stay visible when feature docks share the side
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col in FITTED_COLUMNS:
            header.setSectionResizeMode(col, QHeaderView.Interactive)  # sized by _fit_columns
        self.relabel_box = QComboBox()
        self.relabel_button = QPushButton("Relabel")
        self.delete_button = QPushButton("Delete")
        self.accept_button = QPushButton("Accept")
        self.reject_button = QPushButton("Reject")
        self.accept_button.setToolTip("Selected predictions become labels")
        self.reject_button.setToolTip("Selected predictions are removed")
        row1 = QHBoxLayout()
        row1.addWidget(self.relabel_box, 1)
        row1.addWidget(self.relabel_button)
        row2 = QHBoxLayout()
        for b in (self.delete_button, self.accept_button, self.reject_button):
            row2.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.tree, 1)
        lay.addLayout(row1)
        lay.addLayout(row2)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemChanged.connect(self._item_changed)
        self.relabel_button.clicked.connect(self._relabel)
        self.delete_button.clicked.connect(lambda: self._ask(self.delete_requested, self.selected_ids()))
        self.accept_button.clicked.connect(lambda: self._ask(self.accept_requested, self.selected_predictions()))
        self.reject_button.clicked.connect(lambda: self._ask(self.reject_requested, self.selected_predictions()))
        session.project_opened.connect(self.set_store)
        session.project_closing.connect(lambda _store: self.set_store(None))
        session.image_changed.connect(lambda _image_id: self.reload())
        session.selection_changed.connect(self.select_ids)
        session.visibility_changed.connect(self._show_flags)
        session.categories_changed.connect(lambda _change: (self.reload_categories(), self.reload()))
        session.annotations_changed.connect(self._on_annotations_changed)
        self._update_buttons()

    # ---- state owned by the session ------------------------------------------------------------
    @property
    def image_id(self) -> int | None:
        return self.session.image_id

    @property
    def hidden(self) -> frozenset[int]:
        return self.session.hidden_annotations

    @property
    def locked(self) -> frozenset[int]:
        return self.session.locked_annotations

    # ---- content -------------------------------------------------------------------------------
    def set_store(self, store: Store | None) -> None:
        self.store = store
        self.reload_categories()
        self.reload()

    def reload_categories(self) -> None:
        self._swatches = {}
        with QSignalBlocker(self.relabel_box):
            current = self.relabel_box.currentData()
            self.relabel_box.clear()
            for cat in self.store.categories() if self.store is not None else []:
                self.relabel_box.addItem(_swatch(category_color(cat)), cat.name, cat.id)
            i = self.relabel_box.findData(current)
            self.relabel_box.setCurrentIndex(max(i, 0))

    def reload(self) -> None:
        """Rebuild every row (a new image, renamed or recoloured categories)."""
        anns = self.session.image_annotations() if self.store is not None else []
        self._cats = {c.id: c for c in self.store.categories()} if self.store is not None else {}
        selected = set(self.session.selection)
        with QSignalBlocker(self.tree):
            self.tree.clear()
            self._rows, self._order, self._predictions, self._shown = {}, [], set(), {}
            self._texts.clear()
            items = []
            for a in anns:
                item = QTreeWidgetItem()
                self._fill(item, a)
                self._rows[a.id] = item
                self._order.append(a.id)
                items.append(item)
            self.tree.addTopLevelItems(items)
            for a, item in zip(anns, items):
                item.setSelected(a.id in selected)
        self._fit_columns()
        self._show_title()
        self._update_buttons()

    def _row_view(self, a: Annotation) -> tuple:
        """What a row of `a` shows, but for its check boxes (_show_flags keeps those)."""
        cat = self._cats.get(a.category_id)
        cat_key = None if cat is None else (cat.id, cat.name, cat.color)
        return cat_key, cat.name if cat else f"#{a.category_id}", shape_text(a), provenance(a), a.is_prediction

    def _count_texts(self, view: tuple | None, step: int) -> bool:
        """Add (step 1) or take (-1) a row's texts of the fitted columns; True when a text came or went."""
        if view is None:
            return False
        came_or_went = False
        for key in ((COL_CATEGORY, view[1], view[4]), (COL_SHAPE, view[2], view[4])):
            n = self._texts[key] = self._texts[key] + step
            came_or_went = came_or_went or n == (1 if step > 0 else 0)
            if n <= 0:
                del self._texts[key]
        return came_or_went

    def _fill(self, item: QTreeWidgetItem, a: Annotation) -> bool:
        """Show annotation `a` in row `item` (new or reused: every field is set or cleared); False when
        the row already showed it. True also means a fitted column's texts may need a new width."""
        view = self._row_view(a)
        old = self._shown.get(a.id)
        if old == view:
            return False
        self._shown[a.id] = view
        refit = self._count_texts(old, -1) | self._count_texts(view, 1)
        cat = self._cats.get(a.category_id)
        for col, text in ((COL_CATEGORY, view[1]), (COL_SHAPE, view[2]), (COL_FROM, view[3])):
            item.setText(col, text)
        item.setData(0, _ID, a.id)
        item.setData(0, _IS_PREDICTION, a.is_prediction)
        item.setFlags(_ROW_FLAGS)
        item.setCheckState(COL_SHOW, _UNCHECKED if a.id in self.hidden else _CHECKED)
        item.setCheckState(COL_LOCK, _CHECKED if a.id in self.locked else _UNCHECKED)
        item.setData(COL_CATEGORY, _DECORATION, None if cat is None else self._swatch(cat))
        for col in range(len(HEADERS)):
            item.setData(col, _FONT, _ITALIC if a.is_prediction else None)
        item.setData(COL_FROM, _FOREGROUND, _PREDICTION_BRUSH if a.is_prediction else None)
        item.setToolTip(COL_FROM, view[3])
        (self._predictions.add if a.is_prediction else self._predictions.discard)(a.id)
        return refit

    def _swatch(self, cat):
        icon = self._swatches.get(cat.id)
        if icon is None:
            icon = self._swatches[cat.id] = _swatch(category_color(cat))
        return icon

    def _show_title(self) -> None:
        if self.image_id is None:
            self.title.setText("No image")
            return
        n_pred = len(self._predictions)
        n_lab = len(self._order) - n_pred
        self.title.setText(f"{n_lab} label{'s' * (n_lab != 1)}, {n_pred} prediction{'s' * (n_pred != 1)}")

    def _fit_columns(self, columns=FITTED_COLUMNS) -> None:
        # Columns fit their contents once per batch of changes, and only those whose texts changed;
        # Qt's ResizeToContents would measure every row on screen after each single field set.
        for col in columns:
            self.tree.resizeColumnToContents(col)

    def _apply_change(self, ids, removed: bool) -> None:
        """Update the rows of these annotations only: re-read each, then insert, refresh or drop its row."""
        selected = set(self.session.selection)
        refit = False  # a text of the fitted columns came or went
        with QSignalBlocker(self.tree):
            for ann_id in ids:
                a = None if removed else self.session.annotation_now(ann_id)
                item = self._rows.get(ann_id)
                if a is None or a.image_id != self.image_id:
                    if item is not None:
                        del self._rows[ann_id]
                        self._order.pop(bisect.bisect_left(self._order, ann_id))
                        self._predictions.discard(ann_id)
                        refit = self._count_texts(self._shown.pop(ann_id, None), -1) or refit
                        self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
                    continue
                if item is None:
                    item = self._rows[ann_id] = QTreeWidgetItem()
                    refit = self._fill(item, a) or refit
                    pos = bisect.bisect_left(self._order, ann_id)
                    self._order.insert(pos, ann_id)
                    self.tree.insertTopLevelItem(pos, item)
                    item.setSelected(ann_id in selected)
                else:
                    refit = self._fill(item, a) or refit
        if refit:
            self._fit_columns((COL_CATEGORY, COL_SHAPE))
        self._show_title()
        self._update_buttons()

    def ids(self) -> list[int]:
        return list(self._order)

    def item_for(self, ann_id: int) -> QTreeWidgetItem | None:
        return self._rows.get(ann_id)

    def selected_ids(self) -> list[int]:
        return [it.data(0, _ID) for it in self.tree.selectedItems()]

    def selected_predictions(self) -> list[int]:
        return [it.data(0, _ID) for it in self.tree.selectedItems() if it.data(0, _IS_PREDICTION)]

    # ---- selection, from and to the canvas ----------------------------------------------------
    def select_ids(self, ids) -> None:
        """Show the session's selection (emits nothing back)."""
        wanted = set(ids)
        with QSignalBlocker(self.tree):
            for i in range(self.tree.topLevelItemCount()):
                it = self.tree.topLevelItem(i)
                it.setSelected(it.data(0, _ID) in wanted)
                if it.isSelected():
                    self.tree.scrollToItem(it)
        self._update_buttons()

    def _selection_changed(self) -> None:
        self._update_buttons()
        self.session.select(self.selected_ids())

    def _show_relabel_category(self) -> None:
        """The relabel box shows the category of the (first) selected shape."""
        ids = self.selected_ids()
        ann = self.session.annotation_now(ids[0]) if ids and self.store is not None else None
        if ann is not None:
            i = self.relabel_box.findData(ann.category_id)
            if i >= 0:
                with QSignalBlocker(self.relabel_box):
                    self.relabel_box.setCurrentIndex(i)

    def _update_buttons(self) -> None:
        self._show_relabel_category()
        sel = bool(self.tree.selectedItems())
        preds = bool(self.selected_predictions())
        self.relabel_button.setEnabled(sel and self.relabel_box.count() > 0)
        self.delete_button.setEnabled(sel)
        self.accept_button.setEnabled(preds)
        self.reject_button.setEnabled(preds)

    # ---- hide, lock, relabel ------------------------------------------------------------------
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        aid = item.data(0, _ID)
        if column == COL_SHOW:
            self.set_hidden(aid, item.checkState(COL_SHOW) != Qt.Checked)
        elif column == COL_LOCK:
            self.set_locked(aid, item.checkState(COL_LOCK) == Qt.Checked)

    def set_hidden(self, ann_id: int, hidden: bool) -> None:
        self.session.set_flag("annotation", "hidden", [ann_id], hidden)

    def set_locked(self, ann_id: int, locked: bool) -> None:
        self.session.set_flag("annotation", "locked", [ann_id], locked)

    def _show_flags(self) -> None:
        hidden, locked = self.hidden, self.locked
        with QSignalBlocker(self.tree):
            for i in range(self.tree.topLevelItemCount()):
                it = self.tree.topLevelItem(i)
                aid = it.data(0, _ID)
                show = Qt.Unchecked if aid in hidden else Qt.Checked
                lock = Qt.Checked if aid in locked else Qt.Unchecked
                if it.checkState(COL_SHOW) != show:
                    it.setCheckState(COL_SHOW, show)
                if it.checkState(COL_LOCK) != lock:
                    it.setCheckState(COL_LOCK, lock)

    def _relabel(self) -> None:
        ids, cid = self.selected_ids(), self.relabel_box.currentData()
        if ids and cid is not None:
            self.relabel_requested.emit(ids, int(cid))

    @staticmethod
    def _ask(signal, ids: list[int]) -> None:
        if ids:
            signal.emit(ids)

    def _on_annotations_changed(self, change) -> None:
        """Rows follow the change: the touched ones are re-read (many or unknown ids: all of them)."""
        if self.store is None or self.image_id is None:
            return
        if change.image_ids and self.image_id not in change.image_ids:
            return
        if change.unknown or not change.image_ids or len(change.ids) > MANY_IDS:
            self.reload()
        else:
            self._apply_change(change.ids, change.action == "removed")
