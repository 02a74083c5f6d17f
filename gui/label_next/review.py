"""The review half of the "Label next" dock: the labels a run's predictions contradict.

The list holds the objects of the run's stored mistakenness ranking that are probably wrong
(missing, spurious, wrong_class, loose_box), best first, with the objects of the run already
reviewed (annotations.review_marks: kept, accepted, deleted -- stored, so a reopened project shows
them). Choosing one opens its image with the label and the prediction that disagrees highlighted.
Three actions, each one undoable command on the session's undo stack (gui.label_next.commands: the
edit and the mark together; undo restores the label and makes the object "to review" again), each
followed by the next object to review:
  accept  write the model's version (engine.rank.review.model_version): a new label, a changed
          label, or the label deleted;
  keep    the label stays; the object is marked kept;
  delete  the label is deleted.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidgetItem, QVBoxLayout, QWidget

from annotations.errors import SightlineError
from annotations.review_marks import ACCEPTED, DELETED, KEPT, load_marks, object_key
from annotations.scores import ObjectScore, find_set, object_scores
from engine.rank.review import model_version
from engine.rank.strategies.mistakenness import LOOSE_BOX, MISSING, SPURIOUS, WRONG_CLASS

from ..commands import AddAnnotations, ChangeAnnotations, RemoveAnnotations
from .commands import ReviewCommand
from .lists import ranked_list

REVIEW_KINDS = (MISSING, SPURIOUS, WRONG_CLASS, LOOSE_BOX)
STRATEGY = "mistakenness"
TO_REVIEW, GONE = "to review", "gone"
DONE_COLOUR = "#8a8f98"
COLUMNS = ("Image", "Kind", "Score", "State")


@dataclass
class ReviewItem:
    obj: ObjectScore
    name: str
    state: str = TO_REVIEW

    @property
    def highlight(self) -> list[int]:
        return [i for i in (self.obj.annotation_id, self.obj.prediction_id) if i is not None]


class ReviewPanel(QWidget):
    acted = Signal(str, object)  # state, ReviewItem: after accept, keep or delete
    find_asked = Signal()  # "Find wrong labels": rank the run with mistakenness (the dock does it)

    def __init__(self, session, host, parent: QWidget | None = None):
        super().__init__(parent)
        self.session, self.host = session, host
        self.items: list[ReviewItem] = []
        self.run_id: int | None = None
        self._build()

    def _build(self) -> None:
        self.status = QLabel("Rank a run with mistakenness to review the labels it disagrees with.")
        self.status.setWordWrap(True)
        self.find_button = QPushButton("Find wrong labels")
        self.find_button.setToolTip("Rank the run's images with mistakenness (on the Rank images tab, "
                                    "with its progress and Cancel); the labels it flags are listed here")
        self.find_button.clicked.connect(self.find_asked)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.find_button, 0, Qt.AlignTop)
        self.list = ranked_list(COLUMNS)
        header = self.list.header()
        header.resizeSection(0, 140)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.list.currentItemChanged.connect(lambda item, _prev: self._show(item))
        self.accept_button = QPushButton("Accept model's version")
        self.keep_button = QPushButton("Keep label")
        self.delete_button = QPushButton("Delete label")
        self.accept_button.clicked.connect(self.accept)
        self.keep_button.clicked.connect(self.keep)
        self.delete_button.clicked.connect(self.delete)
        buttons = QHBoxLayout()
        for b in (self.accept_button, self.keep_button, self.delete_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(buttons)
        lay.addWidget(self.list, 1)
        self._update_buttons()

    # ---- loading -------------------------------------------------------------------------------
    @property
    def store(self):
        return self.session.store

    def show_run(self, run_id: int | None) -> None:
        """The probably-wrong labels of run_id's stored mistakenness ranking, and those reviewed."""
        self.run_id = run_id
        stored = None if self.store is None or run_id is None else find_set(self.store, STRATEGY, run_id)
        objects = [] if stored is None else [o for o in object_scores(self.store, stored.id) if o.kind in REVIEW_KINDS]
        marks = {} if stored is None else load_marks(self.store, run_id)
        flagged = {object_key(o) for o in objects}
        objects += [m.obj for key, m in marks.items() if key not in flagged]  # e.g. deleted labels' objects
        objects.sort(key=lambda o: -o.score)
        names = {}
        if objects:
            names = {im.id: im.file_name for im in self.store.images(ids=sorted({o.image_id for o in objects}))}
        self.items = []
        for o in objects:
            mark = marks.get(object_key(o))
            self.items.append(ReviewItem(o, names.get(o.image_id, str(o.image_id)),
                                         TO_REVIEW if mark is None else mark.state))
        self.list.blockSignals(True)
        self.list.clear()
        for it in self.items:
            row = QTreeWidgetItem([it.name.rsplit("/", 1)[-1], it.obj.kind.replace("_", " "), f"{it.obj.score:.3f}",
                                   it.state])
            row.setToolTip(0, it.name)
            row.setTextAlignment(2, Qt.AlignRight | Qt.AlignVCenter)
            self.list.addTopLevelItem(row)
            self._paint_state(row, it.state)
        self.list.setCurrentIndex(QModelIndex())  # nothing chosen: the first key opens the first object
        self.list.blockSignals(False)
        if stored is None:
            self.status.setText("Rank a run with mistakenness to review the labels it disagrees with."
                                if run_id is None else
                                f"No mistakenness ranking of run #{run_id} yet: press Find wrong labels.")
        else:
            self._count()
        self._update_buttons()

    def _count(self) -> None:
        reviewed = sum(it.state != TO_REVIEW for it in self.items)
        if self.items and reviewed == len(self.items):
            self.status.setText(f"Every flagged label has been reviewed ({reviewed}).")
            return
        self.status.setText(f"{len(self.items)} probably wrong labels in run #{self.run_id}'s mistakenness ranking"
                            + (f"; {reviewed} reviewed." if reviewed else "."))

    @staticmethod
    def _paint_state(row: QTreeWidgetItem, state: str) -> None:
        row.setText(3, state)
        brush = QBrush() if state == TO_REVIEW else QBrush(QColor(DONE_COLOUR))
        for col in range(len(COLUMNS)):
            row.setForeground(col, brush)

    # ---- navigation ----------------------------------------------------------------------------
    def current_row(self) -> int:
        item = self.list.currentItem()
        return -1 if item is None else self.list.indexOfTopLevelItem(item)

    def select_row(self, row: int) -> None:
        self.list.setCurrentItem(self.list.topLevelItem(row))

    def _show(self, row_item) -> None:
        row = -1 if row_item is None else self.list.indexOfTopLevelItem(row_item)
        if 0 <= row < len(self.items):
            it = self.items[row]
            self.host.show_image(it.obj.image_id, it.highlight)
            after = self.next_pending(row)
            if after is not None and self.items[after].obj.image_id != it.obj.image_id:
                self.host.expect_images([self.items[after].obj.image_id])  # where a verdict moves on to
        self._update_buttons()

    def next_pending(self, after: int) -> int | None:
        n = len(self.items)
        for k in range(1, n + 1):
            row = (after + k) % n
            if self.items[row].state == TO_REVIEW:
                return row
        return None

    def _target(self) -> ReviewItem | None:
        """The chosen object; with none chosen, the first to review is chosen (and shown) instead."""
        row = self.current_row()
        if row < 0:
            first = self.next_pending(-1) if self.items else None
            if first is not None:
                self.select_row(first)
            return None
        return self.items[row]

    def _set_state(self, item: ReviewItem, state: str) -> None:
        item.state = state
        self._paint_state(self.list.topLevelItem(self.items.index(item)), state)
        self._count()

    def _mark_changed(self, obj: ObjectScore, state: str | None) -> None:
        """A review command moved (done, undone or redone): the row of its object follows."""
        key = object_key(obj)
        for item in self.items:
            if object_key(item.obj) == key:
                self._set_state(item, state or TO_REVIEW)
                self._update_buttons()
                return

    def _done(self, item: ReviewItem, state: str) -> None:
        row = self.items.index(item)
        self._set_state(item, state)
        self.acted.emit(state, item)
        following = self.next_pending(row)
        if following is None:
            self._update_buttons()
        else:
            self.select_row(following)

    def _update_buttons(self) -> None:
        row = self.current_row()
        item = self.items[row] if 0 <= row < len(self.items) else None
        pending = item is not None and item.state == TO_REVIEW
        for b in (self.accept_button, self.keep_button):
            b.setEnabled(pending)
        self.delete_button.setEnabled(pending and item.obj.annotation_id is not None)
        self.find_button.setEnabled(self.run_id is not None)

    # ---- the three actions -----------------------------------------------------------------------
    def _review(self, item: ReviewItem, state: str, edit, text: str) -> bool:
        """Push the edit (None: no change) with the object's mark as one undoable command; then the next."""
        cmd = ReviewCommand(self.store, self.run_id, item.obj, state, edit, text, self._mark_changed)
        self.session.undo_stack.push(cmd)
        if cmd.error:
            self.host.warn("Review", cmd.error)
            return False
        self._done(item, state)
        return True

    def _label(self, item: ReviewItem):
        if item.obj.annotation_id is None:
            return None
        label = self.store.annotation(item.obj.annotation_id)
        if label is None:
            self.status.setText(f"The label of this {item.obj.kind.replace('_', ' ')} object no longer exists.")
            self._done(item, GONE)
        return label

    def accept(self) -> bool:
        """Write the model's version of the chosen object's label (undoable); then the next one."""
        item = self._target()
        if item is None or item.state != TO_REVIEW or self.store is None:
            return False
        label = self._label(item)
        if label is None and item.obj.annotation_id is not None:
            return False
        pred = None if item.obj.prediction_id is None else self.store.annotation(item.obj.prediction_id)
        try:
            version = model_version(item.obj, label, pred)
        except SightlineError as e:
            self.status.setText(str(e))
            return False
        kind = item.obj.kind.replace("_", " ")
        if label is None:
            edit, text = AddAnnotations(self.store, [version]), "Add the model's missing label"
        elif version is None:
            edit, text = RemoveAnnotations(self.store, [label]), f"Delete a {kind} label"
        elif version == label:
            edit, text = None, f"Accept a {kind} label as it is"
        else:
            edit, text = ChangeAnnotations(self.store, [label], [version]), f"Model's version of a {kind} label"
        return self._review(item, ACCEPTED, edit, text)

    def keep(self) -> bool:
        """The label is right: mark the object kept (undoable) and go on."""
        item = self._target()
        if item is None or item.state != TO_REVIEW or self.store is None:
            return False
        return self._review(item, KEPT, None, f"Keep a {item.obj.kind.replace('_', ' ')} label")

    def delete(self) -> bool:
        """Delete the chosen object's label (undoable); then the next one."""
        item = self._target()
        if item is None or item.state != TO_REVIEW or self.store is None:
            return False
        if item.obj.annotation_id is None:
            self.status.setText("A possibly missing label has no label to delete: keep it, or accept the model's.")
            return False
        label = self._label(item)
        if label is None:
            return False
        return self._review(item, DELETED, RemoveAnnotations(self.store, [label]), "Delete a flagged label")
