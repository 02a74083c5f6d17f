"""The file list: the project's images with label and prediction counts, filtered by state and split.

The model reads the store twice per reload (image rows and per-image counts, one query each) and
filters in memory, so a 20k-image project filters in milliseconds. The image on the canvas stays in
the list even when it stops matching the filter (labelling an "unlabelled" image must not pull the
row from under the cursor); it drops out at the next filter change. The list can be sorted by a
stored ranking's image scores (annotations.scores), best first, unscored images last.
A row the pointer rests on is announced as `hovered(image_id)` (resting_pointer).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QSizePolicy, QTreeView,
                               QVBoxLayout, QWidget)

from annotations.scores import SCORES_TABLE, find_set, image_scores, score_sets
from annotations.store import Store
from annotations.store_counts import labels_and_predictions

from ..session import Session
from .resting_pointer import RestingPointer
from .short_names import NameDelegate, shared_affixes, text_margins

STATES = (("all", "All images"), ("labelled", "Labelled"), ("unlabelled", "Unlabelled"),
          ("predictions", "With predictions"))
SPLIT_FILTERS = (("*", "Any split"), ("train", "train"), ("val", "val"), ("test", "test"), ("", "No split"))
COLUMNS = ("Image", "Labels", "Pred.", "Split", "Score")
SPLIT_COLUMN, SCORE_COLUMN = 3, 4
# A change touching more annotations than this recounts every image instead of only those touched.
_INCREMENTAL_LIMIT = 200
# Roles as ints: data() runs for every cell Qt paints, and reading a Qt enum attribute costs microseconds.
_DISPLAY, _TOOLTIP, _FOREGROUND, _ALIGN, _USER = (int(r) for r in (
    Qt.DisplayRole, Qt.ToolTipRole, Qt.ForegroundRole, Qt.TextAlignmentRole, Qt.UserRole))
_RIGHT = int(Qt.AlignRight | Qt.AlignVCenter)
_HORIZONTAL = Qt.Horizontal
_GREY = QColor("#8a8f98")
FITTED_COLUMNS = (1, 2, SPLIT_COLUMN, SCORE_COLUMN)  # sized to their widest text by the panel, not by Qt


@dataclass
class ImageRow:
    id: int
    name: str
    split: str
    labels: int = 0
    predictions: int = 0


def _sort_key(strategy: str, run_id: int, run2_id: int | None) -> str:
    return f"{strategy}|{run_id}|{'' if run2_id is None else run2_id}"


class ImageListModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.store: Store | None = None
        self._rows: list[ImageRow] = []
        self._by_id: dict[int, ImageRow] = {}
        self._visible: list[ImageRow] = []
        self._row_of: dict[int, int] = {}
        self._labelled = self._predicted = 0  # images with labels, with predictions
        self.state = "all"
        self.split = "*"
        self.text = ""
        self.pinned: int | None = None
        self.scores: dict[int, float] | None = None  # sort by these, best first (None: file order)
        self._affixes: tuple[int, int] | None = None  # what every shown name shares (name_affixes)

    # ---- loading ---------------------------------------------------------------------------
    def set_store(self, store: Store | None) -> None:
        self.store = store
        self.reload()

    def reload(self) -> None:
        rows: list[ImageRow] = []
        if self.store is not None:
            counts = self.store.annotation_counts()
            for rec in self.store.images():
                lab, pred = counts.get(rec.id, (0, 0))
                rows.append(ImageRow(rec.id, rec.file_name, rec.split, lab, pred))
        self._rows = rows
        self._by_id = {r.id: r for r in rows}
        self._affixes = None
        self._tally()
        self._refilter()

    def _tally(self) -> None:
        """Count the labelled images and those with predictions (kept up to date by recount)."""
        self._labelled = sum(1 for r in self._rows if r.labels)
        self._predicted = sum(1 for r in self._rows if r.predictions)

    def _set_counts(self, r: ImageRow, labels: int, predictions: int) -> bool:
        """False when the row already had these counts."""
        if (r.labels, r.predictions) == (labels, predictions):
            return False
        self._labelled += bool(labels) - bool(r.labels)
        self._predicted += bool(predictions) - bool(r.predictions)
        r.labels, r.predictions = labels, predictions
        return True

    def recount(self, image_ids=None, counts: dict[int, tuple[int, int]] | None = None) -> None:
        """Refresh label/prediction counts (of the given images, or of all); `counts` (image id ->
        (labels, predictions) of those images, as annotation_counts gives them) saves the query.
        Only rows whose counts changed are repainted."""
        if self.store is None:
            return
        if image_ids is None:
            counts = self.store.annotation_counts()
            for r in self._rows:
                r.labels, r.predictions = counts.get(r.id, (0, 0))
            self._tally()
            self._refilter()
            return
        if counts is None:
            counts = self.store.annotation_counts(image_ids)  # one indexed query for these images
        changed, refilter = [], False
        for iid in set(image_ids):
            r = self._by_id.get(iid)
            if r is None:
                continue
            was = self._matches(r)
            if not self._set_counts(r, *counts.get(iid, (0, 0))):
                continue
            refilter = refilter or (was != self._matches(r) and iid != self.pinned)
            changed.append(iid)
        if refilter:  # a row enters or leaves the filter
            self._refilter()
            return
        for iid in changed:  # only the rows that changed are repainted
            row = self._row_of.get(iid)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # ---- filtering -------------------------------------------------------------------------
    def set_filter(self, state: str | None = None, split: str | None = None, text: str | None = None) -> None:
        if state is not None:
            self.state = state
        if split is not None:
            self.split = split
        if text is not None:
            self.text = text.strip().lower()
        self._refilter()

    def set_scores(self, scores: dict[int, float] | None) -> None:
        self.scores = scores
        self._refilter()

    def set_pinned(self, image_id: int | None) -> None:
        """The current image: kept visible whatever the filter."""
        old, self.pinned = self.pinned, image_id
        if old != image_id and (old is not None and not self._matches(self._by_id.get(old))
                                or image_id is not None and image_id not in self._row_of):
            self._refilter()

    def _matches(self, r: ImageRow | None) -> bool:
        if r is None:
            return False
        if self.state == "labelled" and not r.labels:
            return False
        if self.state == "unlabelled" and r.labels:
            return False
        if self.state == "predictions" and not r.predictions:
            return False
        if self.split != "*" and r.split != self.split:
            return False
        return not self.text or self.text in r.name.lower()

    def _refilter(self) -> None:
        visible = [r for r in self._rows if r.id == self.pinned or self._matches(r)]
        if self.scores is not None:
            scores = self.scores
            visible.sort(key=lambda r: (r.id not in scores, -scores.get(r.id, 0.0)))
        if [r.id for r in visible] == [r.id for r in self._visible]:
            self._visible = visible
            if visible:
                self.dataChanged.emit(self.index(0, 1), self.index(len(visible) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._visible = visible
        self._row_of = {r.id: i for i, r in enumerate(visible)}
        self.endResetModel()

    # ---- queries ---------------------------------------------------------------------------
    def visible_ids(self) -> list[int]:
        return [r.id for r in self._visible]

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def image_id(self, row: int) -> int:
        return self._visible[row].id

    def totals(self) -> dict[str, int]:
        return {"images": len(self._rows), "shown": len(self._visible),
                "labelled": self._labelled, "unlabelled": len(self._rows) - self._labelled,
                "predictions": self._predicted}

    def name_affixes(self) -> tuple[int, int]:
        """Lengths of the start and the end that every image's shown name shares (all images, not
        only those the filter shows: a name looks the same whatever the filter), measured when first
        asked after a reload."""
        if self._affixes is None:
            self._affixes = shared_affixes([self._text(r, 0) for r in self._rows])
        return self._affixes

    # ---- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=_DISPLAY):
        if int(role) == _DISPLAY and orientation == _HORIZONTAL:
            return COLUMNS[section]
        return None

    def data(self, index, role=_DISPLAY):
        if not index.isValid():
            return None
        r = self._visible[index.row()]
        col = index.column()
        role = int(role)
        if role == _DISPLAY:
            return self._text(r, col)
        if role == _TOOLTIP:
            return f"{r.name}\n{r.labels} labels, {r.predictions} predictions, split: {r.split or 'none'}"
        if role == _FOREGROUND and col == 0 and not r.labels:
            return QBrush(_GREY)
        if role == _ALIGN and col in (1, 2, SCORE_COLUMN):
            return _RIGHT
        if role == _USER:
            return r.id
        return None

    def _text(self, r: ImageRow, col: int):
        if col == SCORE_COLUMN:
            score = None if self.scores is None else self.scores.get(r.id)
            return "" if score is None else f"{score:.2f}"
        return (r.name.rsplit("/", 1)[-1], r.labels or "", r.predictions or "", r.split)[col]

    def widest_texts(self, first: int = 0, last: int | None = None) -> dict[int, list[str]]:
        """For each column in FITTED_COLUMNS, the texts among visible rows first..last (all when None)
        that may be the widest: the longest count (digits have one width), every split name, the
        extreme scores."""
        rows = self._visible[first:None if last is None else last + 1]
        out = {1: [str(max((r.labels for r in rows), default=0) or "")],
               2: [str(max((r.predictions for r in rows), default=0) or "")],
               SPLIT_COLUMN: sorted({r.split for r in rows})}
        scores = [] if self.scores is None else [self.scores[r.id] for r in rows if r.id in self.scores]
        out[SCORE_COLUMN] = [f"{v:.2f}" for v in (min(scores), max(scores))] if scores else []
        return out


class FileListPanel(QWidget):
    """Dock content: filters, counts and the list. Emits image_activated(id) on a click or Enter,
    hovered(id) when the pointer rests on a row."""
    image_activated = Signal(int)
    hovered = Signal(int)
    _scores_stored = Signal()  # a ranking was stored (from any thread)

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.model = ImageListModel(self)
        self.state_box = QComboBox()
        for key, text in STATES:
            self.state_box.addItem(text, key)
        self.split_box = QComboBox()
        for key, text in SPLIT_FILTERS:
            self.split_box.addItem(text, key)
        self.search = QLineEdit(placeholderText="Filter by name")
        self.search.setClearButtonEnabled(True)
        self.sort_box = QComboBox()
        self.sort_box.setToolTip("Sort by a stored ranking's scores (Model > Label next)")
        self._unsubscribe = None
        self._pad = 8  # a cell's text margins, measured at each full column fit
        self.counts = QLabel()
        self.counts.setObjectName("counts")
        self.counts.setWordWrap(True)
        # Changing text must not change the dock's width (the canvas would resize and refit).
        self.counts.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.view = QTreeView()
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setTextElideMode(Qt.ElideMiddle)  # names differ at the end (frame numbers)
        self.view.setItemDelegateForColumn(0, NameDelegate(self.model.name_affixes, self.view))
        self.view.setModel(self.model)
        self.view.setSelectionMode(QTreeView.SingleSelection)
        self.view.setSelectionBehavior(QTreeView.SelectRows)
        self.view.setEditTriggers(QTreeView.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        # The count, split and score columns fit their widest text, measured here from the model's
        # values (_fit_columns); Qt's ResizeToContents re-read every field of the rows on screen
        # through data() after each change of one row, which cost tens of ms per edit.
        for col in FITTED_COLUMNS:
            header.setSectionResizeMode(col, QHeaderView.Interactive)
        self.view.setColumnHidden(SCORE_COLUMN, True)

        filters = QHBoxLayout()
        filters.addWidget(self.state_box, 2)
        filters.addWidget(self.split_box, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(filters)
        lay.addWidget(self.search)
        lay.addWidget(self.sort_box)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.counts)

        self.state_box.currentIndexChanged.connect(lambda _: self._apply_filter())
        self.split_box.currentIndexChanged.connect(lambda _: self._apply_filter())
        self.search.textChanged.connect(lambda _: self._apply_filter())
        self.sort_box.currentIndexChanged.connect(lambda _: self._apply_sort())
        self._scores_stored.connect(self._refresh_sorts, Qt.QueuedConnection)
        self.view.clicked.connect(self._activated)
        RestingPointer(self.view).rested.connect(lambda row: self.hovered.emit(self.model.image_id(row)))
        self.view.activated.connect(self._activated)
        self.model.modelReset.connect(self._after_reset)
        self.model.dataChanged.connect(self._after_data_changed)
        self._update_counts()
        session.project_opened.connect(self.set_store)
        session.project_closing.connect(lambda _store: self.set_store(None))
        session.image_changed.connect(self.set_current)
        session.images_changed.connect(lambda _change: self.model.reload())
        session.annotations_changed.connect(self._on_annotations_changed)
        session.runs_changed.connect(lambda _change: self._refresh_sorts())
        self._refresh_sorts()

    def set_store(self, store: Store | None) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.model.pinned = None
        self.model.set_store(store)
        if store is not None:
            self._unsubscribe = store.subscribe(lambda ev: ev.table == SCORES_TABLE and self._scores_stored.emit())
        self._refresh_sorts()

    # ---- sorting by a ranking's scores ------------------------------------------------------
    @Slot()
    def _refresh_sorts(self) -> None:
        """The sort choices: file order and every stored ranking; the chosen one is re-read."""
        store, current = self.model.store, self.sort_box.currentData()
        self.sort_box.blockSignals(True)
        self.sort_box.clear()
        self.sort_box.addItem("Sort: file order", None)
        for s in ([] if store is None else score_sets(store)):
            vs = f" vs #{s.run2_id}" if s.run2_id is not None else ""
            self.sort_box.addItem(f"Sort: {s.strategy} score of run #{s.run_id}{vs}",
                                  _sort_key(s.strategy, s.run_id, s.run2_id))
        i = self.sort_box.findData(current)
        self.sort_box.setCurrentIndex(max(i, 0))
        self.sort_box.blockSignals(False)
        self._apply_sort()

    def sort_by(self, strategy: str | None, run_id: int | None = None, run2_id: int | None = None) -> bool:
        """Sort by the stored ranking of strategy and runs (None: file order); False if there is none."""
        i = self.sort_box.findData(None if strategy is None else _sort_key(strategy, run_id, run2_id))
        if i >= 0:
            self.sort_box.setCurrentIndex(i)
        return i >= 0

    def _apply_sort(self) -> None:
        key, store = self.sort_box.currentData(), self.model.store
        found = None
        if key is not None and store is not None:
            strategy, run_id, run2_id = key.split("|")
            found = find_set(store, strategy, int(run_id), int(run2_id) if run2_id else None)
        self.model.set_scores(None if found is None else image_scores(store, found.id))
        self.view.setColumnHidden(SCORE_COLUMN, found is None)
        self.view.setColumnHidden(SPLIT_COLUMN, found is not None)  # the names keep their room (split: tooltip)

    def _apply_filter(self) -> None:
        self.model.set_filter(self.state_box.currentData(), self.split_box.currentData(), self.search.text())

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.image_activated.emit(self.model.image_id(index.row()))

    def _after_reset(self) -> None:
        self._fit_columns()
        self._update_counts()
        self._select_row(self.model.pinned)

    def _after_data_changed(self, top: QModelIndex, bottom: QModelIndex, _roles=()) -> None:
        self._fit_columns(top.row(), bottom.row(), grow_only=True)
        self._update_counts()

    def _fit_columns(self, first: int = 0, last: int | None = None, grow_only: bool = False) -> None:
        """Size the fitted columns to the widest text of these rows (and their header's)."""
        view, header = self.view, self.view.header()
        fm = view.fontMetrics()
        if not grow_only:
            self._pad = text_margins(view)
        for col, texts in self.model.widest_texts(first, last).items():
            width = max([fm.horizontalAdvance(t) + self._pad for t in texts if t], default=0)
            if grow_only:  # the header's own width was taken at the last full fit
                if width > header.sectionSize(col):
                    header.resizeSection(col, width)
            else:
                header.resizeSection(col, max(width, header.sectionSizeHint(col)))

    def _update_counts(self) -> None:
        t = self.model.totals()
        shown = f"{t['shown']} of {t['images']} shown" if t["shown"] != t["images"] else f"{t['images']} images"
        self.counts.setText(f"{shown} \u00b7 {t['labelled']} labelled \u00b7 {t['unlabelled']} unlabelled"
                            f" \u00b7 {t['predictions']} with predictions")

    def _select_row(self, image_id: int | None) -> None:
        row = None if image_id is None else self.model.row_of(image_id)
        sel = self.view.selectionModel()
        if row is None:
            sel.clearSelection()
            return
        idx = self.model.index(row, 0)
        sel.setCurrentIndex(idx, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        self.view.scrollTo(idx)

    # ---- window side -----------------------------------------------------------------------
    def set_current(self, image_id: int | None) -> None:
        """The canvas now shows this image: pin it and select its row."""
        self.model.set_pinned(image_id)
        self._select_row(image_id)
        self.view.viewport().update()

    def current_id(self) -> int | None:
        return self.session.image_id

    def neighbour(self, step: int) -> int | None:
        """The image `step` rows away from the current one in the list as filtered (None at the ends)."""
        ids = self.model.visible_ids()
        if not ids:
            return None
        row = self.model.row_of(self.model.pinned) if self.model.pinned is not None else None
        if row is None:
            return ids[0] if step > 0 else ids[-1]
        j = row + step
        return ids[j] if 0 <= j < len(ids) else None

    def _on_annotations_changed(self, change) -> None:
        """Recount the images a change touched (all of them when it does not say which)."""
        if self.model.store is None:
            return
        if change.image_ids and len(change.image_ids) <= _INCREMENTAL_LIMIT:
            # the images' counts as the session read them for this change (the category list shares the read)
            self.model.recount(change.image_ids, labels_and_predictions(self.session.image_counts(change.image_ids)))
        else:
            self.model.recount()
