"""The annotations of the image on the canvas: select, hide, lock, relabel, delete, and where each
came from (drawn by hand, or proposed by a model with its score; predictions are marked as such).

The panel edits nothing itself: it asks through signals and the window carries the request out
(through the canvas, so edits land on the undo stack).
"""
from __future__ import annotations

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
        for col in (COL_SHOW, COL_LOCK, COL_CATEGORY, COL_SHAPE):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
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
        with QSignalBlocker(self.relabel_box):
            current = self.relabel_box.currentData()
            self.relabel_box.clear()
            for cat in self.store.categories() if self.store is not None else []:
                self.relabel_box.addItem(_swatch(category_color(cat)), cat.name, cat.id)
            i = self.relabel_box.findData(current)
            self.relabel_box.setCurrentIndex(max(i, 0))

    def reload(self) -> None:
        selected = set(self.session.selection)
        anns = self.store.annotations(image_id=self.image_id) if self.store and self.image_id is not None else []
        cats = {c.id: c for c in self.store.categories()} if self.store is not None else {}
        with QSignalBlocker(self.tree):
            self.tree.clear()
            for a in anns:
                cat = cats.get(a.category_id)
                item = QTreeWidgetItem(["", "", cat.name if cat else f"#{a.category_id}", shape_text(a),
                                        provenance(a)])
                item.setData(0, Qt.UserRole, a.id)
                item.setData(0, Qt.UserRole + 1, a.is_prediction)
                item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
                item.setCheckState(COL_SHOW, Qt.Unchecked if a.id in self.hidden else Qt.Checked)
                item.setCheckState(COL_LOCK, Qt.Checked if a.id in self.locked else Qt.Unchecked)
                if cat is not None:
                    item.setIcon(COL_CATEGORY, _swatch(category_color(cat)))
                if a.is_prediction:
                    font = QFont()
                    font.setItalic(True)
                    for col in range(len(HEADERS)):
                        item.setFont(col, font)
                    item.setForeground(COL_FROM, QBrush(QColor("#d08a2c")))
                item.setToolTip(COL_FROM, provenance(a))
                self.tree.addTopLevelItem(item)
                item.setSelected(a.id in selected)
        n_pred = sum(1 for a in anns if a.is_prediction)
        if self.image_id is None:
            self.title.setText("No image")
        else:
            n_lab = len(anns) - n_pred
            self.title.setText(f"{n_lab} label{'s' * (n_lab != 1)}, {n_pred} prediction{'s' * (n_pred != 1)}")
        self._update_buttons()

    def ids(self) -> list[int]:
        return [self.tree.topLevelItem(i).data(0, Qt.UserRole) for i in range(self.tree.topLevelItemCount())]

    def item_for(self, ann_id: int) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if it.data(0, Qt.UserRole) == ann_id:
                return it
        return None

    def selected_ids(self) -> list[int]:
        return [it.data(0, Qt.UserRole) for it in self.tree.selectedItems()]

    def selected_predictions(self) -> list[int]:
        return [it.data(0, Qt.UserRole) for it in self.tree.selectedItems() if it.data(0, Qt.UserRole + 1)]

    # ---- selection, from and to the canvas ----------------------------------------------------
    def select_ids(self, ids) -> None:
        """Show the session's selection (emits nothing back)."""
        wanted = set(ids)
        with QSignalBlocker(self.tree):
            for i in range(self.tree.topLevelItemCount()):
                it = self.tree.topLevelItem(i)
                it.setSelected(it.data(0, Qt.UserRole) in wanted)
                if it.isSelected():
                    self.tree.scrollToItem(it)
        self._update_buttons()

    def _selection_changed(self) -> None:
        self._update_buttons()
        self.session.select(self.selected_ids())

    def _show_relabel_category(self) -> None:
        """The relabel box shows the category of the (first) selected shape."""
        ids = self.selected_ids()
        ann = self.store.annotation(ids[0]) if ids and self.store is not None else None
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
        aid = item.data(0, Qt.UserRole)
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
                aid = it.data(0, Qt.UserRole)
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
        if self.store is None or self.image_id is None:
            return
        if change.unknown or not change.image_ids or self.image_id in change.image_ids:
            self.reload()
