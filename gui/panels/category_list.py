"""The category list: pick the category new shapes get (click, or number keys 1-9), show or hide a
category on the canvas, add, rename (in place), recolour and delete categories.

Deleting a category that has annotations first says how many labels and predictions on how many
images it holds, and lets the user delete them with it or move them to another category.
"""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QColorDialog, QComboBox, QDialog, QDialogButtonBox, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QRadioButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from annotations.model import Category
from annotations.store import Store, StoreError
from annotations.store_counts import labels_by_category

from .. import palette
from ..session import Session

# Colours for categories without one of their own (a category's id picks one, so it never changes);
COL_KEY, COL_NAME, COL_COUNT = 0, 1, 2
MANY_IMAGES = 256  # a change touching more images than this recounts the whole project at once
_USER = int(Qt.UserRole)


def category_color(cat: Category) -> QColor:
    """The colour the canvas draws the category in (gui/palette.py), for its swatch."""
    return palette.category_color(cat.id or 1, cat.color)


def _swatch(color: QColor) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(color)
    icon = QIcon(pm)
    icon.addPixmap(pm, QIcon.Selected)  # the colour itself on a selected row, not tinted by the selection
    return icon


class DeleteCategoryDialog(QDialog):
    """States what deleting `cat` does to its annotations and asks: delete them too, or move them."""

    def __init__(self, cat: Category, labels: int, predictions: int, images: int,
                 others: list[Category], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Delete category \u201c{cat.name}\u201d")
        self.category = cat
        total = labels + predictions
        lay = QVBoxLayout(self)
        if total:
            text = (f"Category \u201c{cat.name}\u201d has {labels} label{'s' * (labels != 1)} and "
                    f"{predictions} prediction{'s' * (predictions != 1)} on {images} image{'s' * (images != 1)}."
                    "\nWhat should happen to them? This cannot be undone.")
        else:
            text = f"Category \u201c{cat.name}\u201d has no annotations. Delete it? This cannot be undone."
        self.message = QLabel(text)
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.delete_radio = QRadioButton(f"Delete its {total} annotation{'s' * (total != 1)} with it")
        self.move_radio = QRadioButton(f"Move its {total} annotation{'s' * (total != 1)} to:")
        self.target = QComboBox()
        for o in others:
            self.target.addItem(_swatch(category_color(o)), o.name, o.id)
        group = QButtonGroup(self)
        group.addButton(self.delete_radio)
        group.addButton(self.move_radio)
        self.delete_radio.setChecked(True)
        if total:
            lay.addWidget(self.delete_radio)
            row = QHBoxLayout()
            row.addWidget(self.move_radio)
            row.addWidget(self.target, 1)
            lay.addLayout(row)
        self.move_radio.setEnabled(bool(others))
        self.target.setEnabled(False)
        self.move_radio.toggled.connect(self.target.setEnabled)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.ok_button = self.buttons.addButton("Delete category", QDialogButtonBox.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

    def reassign_to(self) -> int | None:
        return self.target.currentData() if self.move_radio.isChecked() else None


class CategoryListPanel(QWidget):
    category_deleted = Signal(int)  # after the store has deleted it
    message = Signal(str, str)  # title, text: something the user should read

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self.store: Store | None = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Key", "Category", "Labels"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setEditTriggers(QTreeWidget.DoubleClicked | QTreeWidget.EditKeyPressed)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.Stretch)
        header.setSectionResizeMode(COL_KEY, QHeaderView.ResizeToContents)
        # Fitted by _fit_counts when a count gains or loses a digit: ResizeToContents re-measured the
        # column after every count change (an edit that adds or relabels a shape), twice its cost.
        header.setSectionResizeMode(COL_COUNT, QHeaderView.Interactive)
        self._count_chars = 0  # the longest count's digits, when the column was last fitted
        self.add_button = QPushButton("Add")
        self.rename_button = QPushButton("Rename")
        self.color_button = QPushButton("Colour")
        self.delete_button = QPushButton("Delete")
        buttons = QHBoxLayout()
        for b in (self.add_button, self.rename_button, self.color_button, self.delete_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        self.tree.currentItemChanged.connect(self._current_item_changed)
        self.tree.itemChanged.connect(self._item_changed)
        self.add_button.clicked.connect(self.add_category)
        self.rename_button.clicked.connect(self.rename_current)
        self.color_button.clicked.connect(self.recolour_current)
        self.delete_button.clicked.connect(self.delete_current)
        session.project_opened.connect(self.set_store)
        session.project_closing.connect(lambda _store: self.set_store(None))
        session.current_category_changed.connect(self._show_current)
        session.visibility_changed.connect(self._show_hidden)
        session.categories_changed.connect(lambda _change: self.reload())
        session.annotations_changed.connect(self._on_annotations_changed)
        session.images_changed.connect(self._on_images_changed)
        self._per_image: dict[int, dict[int, int]] = {}  # image id -> {category id: labels}
        self._counts: dict[int, int] = {}  # category id -> labels: the sums of _per_image
        self._update_buttons()

    @property
    def hidden(self) -> frozenset[int]:
        return self.session.hidden_categories

    @property
    def _current(self) -> int | None:
        return self.session.current_category

    # ---- state -----------------------------------------------------------------------------
    def set_store(self, store: Store | None) -> None:
        self.store = store
        self.reload()
        cats = self.categories()
        if cats:
            self.choose(cats[0].id)

    def categories(self) -> list[Category]:
        return self.store.categories() if self.store is not None else []

    def current_category(self) -> int | None:
        return self._current

    def reload(self) -> None:
        cats = self.categories()
        self._recount()
        counts = self._counts
        same_rows = [c.id for c in cats] == [self.tree.topLevelItem(i).data(COL_NAME, Qt.UserRole)
                                             for i in range(self.tree.topLevelItemCount())]
        with QSignalBlocker(self.tree):
            if not same_rows:  # else update in place: an open rename editor survives
                self.tree.clear()
            for i, cat in enumerate(cats):
                item = self.tree.topLevelItem(i) if same_rows else QTreeWidgetItem()
                item.setText(COL_COUNT, str(counts.get(cat.id, 0)))
                if same_rows and self.tree.state() == QTreeWidget.EditingState and self.tree.currentItem() is item:
                    continue  # any change to the item being renamed would reset the editor's text
                item.setText(COL_KEY, str(i + 1) if i < 9 else "")
                item.setText(COL_NAME, cat.name)
                item.setData(COL_NAME, Qt.UserRole, cat.id)
                item.setIcon(COL_NAME, _swatch(category_color(cat)))
                item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsEditable | Qt.ItemIsUserCheckable)
                item.setCheckState(COL_KEY, Qt.Unchecked if cat.id in self.hidden else Qt.Checked)
                item.setToolTip(COL_KEY, "Shown on the canvas (untick to hide)")
                item.setTextAlignment(COL_COUNT, Qt.AlignRight | Qt.AlignVCenter)
                if not same_rows:
                    self.tree.addTopLevelItem(item)
                if cat.id == self._current:
                    self.tree.setCurrentItem(item)
        self._fit_counts()
        known = {c.id for c in cats}
        if self._current not in known:
            self.session.set_current_category(None)
            if cats:
                self.choose(cats[0].id)
        self._update_buttons()

    def _item(self, category_id: int | None) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if it.data(COL_NAME, Qt.UserRole) == category_id:
                return it
        return None

    def _update_buttons(self) -> None:
        has_store, has_current = self.store is not None, self._current is not None
        self.add_button.setEnabled(has_store)
        for b in (self.rename_button, self.color_button, self.delete_button):
            b.setEnabled(has_store and has_current)

    # ---- choosing and visibility -------------------------------------------------------------
    def choose(self, category_id: int) -> None:
        item = self._item(category_id)
        if item is None:
            return
        self.tree.setCurrentItem(item)  # sets the session's category through _current_item_changed
        self.session.set_current_category(category_id)
        self._update_buttons()

    def choose_number(self, n: int) -> bool:
        """Number key n (1-9) picks the n-th category; False when there is none."""
        item = self.tree.topLevelItem(n - 1) if 1 <= n <= self.tree.topLevelItemCount() else None
        if item is None:
            return False
        self.choose(item.data(COL_NAME, Qt.UserRole))
        return True

    def _current_item_changed(self, item, _previous) -> None:
        if item is None:
            return
        self.session.set_current_category(item.data(COL_NAME, Qt.UserRole))
        self._update_buttons()

    def _show_current(self, category_id: int | None) -> None:
        item = self._item(category_id)
        if item is not None and self.tree.currentItem() is not item:
            with QSignalBlocker(self.tree):
                self.tree.setCurrentItem(item)
        self._update_buttons()

    def _show_hidden(self) -> None:
        hidden = self.hidden
        with QSignalBlocker(self.tree):
            for i in range(self.tree.topLevelItemCount()):
                it = self.tree.topLevelItem(i)
                want = Qt.Unchecked if it.data(COL_NAME, Qt.UserRole) in hidden else Qt.Checked
                if it.checkState(COL_KEY) != want:
                    it.setCheckState(COL_KEY, want)

    def set_visible(self, category_id: int, visible: bool) -> None:
        item = self._item(category_id)
        if item is not None:
            item.setCheckState(COL_KEY, Qt.Checked if visible else Qt.Unchecked)

    # ---- edits -------------------------------------------------------------------------------
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        cid = item.data(COL_NAME, Qt.UserRole)
        if column == COL_KEY:
            self.session.set_flag("category", "hidden", [cid], item.checkState(COL_KEY) != Qt.Checked)
        elif column == COL_NAME and self.store is not None:
            cat = self.store.category(cid)
            name = item.text(COL_NAME).strip()
            if cat is None or name == cat.name:
                return
            try:
                if not name:
                    raise StoreError("A category needs a name.")
                cat.name = name
                self.store.update_category(cat)
            except StoreError as e:
                self.message.emit("Rename category", str(e))
                self.reload()

    def add_category(self) -> int | None:
        if self.store is None:
            return None
        names = {c.name for c in self.categories()}
        n = len(names) + 1
        while f"category {n}" in names:
            n += 1
        cid = self.store.add_category(Category(None, f"category {n}"))
        self.reload()
        self.choose(cid)
        self.rename_current()
        return cid

    def rename_current(self) -> None:
        item = self._item(self._current)
        if item is not None:
            self.tree.editItem(item, COL_NAME)

    def recolour_current(self) -> QColorDialog | None:
        if self.store is None or self._current is None:
            return None
        cat = self.store.category(self._current)
        dlg = QColorDialog(category_color(cat), self)
        dlg.setWindowTitle(f"Colour of \u201c{cat.name}\u201d")
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.colorSelected.connect(lambda color, cid=cat.id: self.set_color(cid, color.name()))
        dlg.open()
        return dlg

    def set_color(self, category_id: int, color: str) -> None:
        cat = self.store.category(category_id) if self.store is not None else None
        if cat is not None and cat.color != color:
            cat.color = color
            self.store.update_category(cat)

    def delete_current(self) -> DeleteCategoryDialog | None:
        """Open the confirmation for the current category (non-blocking); the store changes on OK."""
        if self.store is None or self._current is None:
            return None
        cat = self.store.category(self._current)
        labels, predictions, images = self.store.category_usage(cat.id)
        others = [c for c in self.categories() if c.id != cat.id]
        dlg = DeleteCategoryDialog(cat, labels, predictions, images, others, self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self._delete(cat.id, dlg.reassign_to()))
        dlg.open()
        return dlg

    def _delete(self, category_id: int, reassign_to: int | None) -> None:
        try:
            self.store.delete_category(category_id, reassign_to=reassign_to)
        except StoreError as e:
            self.message.emit("Delete category", str(e))
            return
        self.session.set_flag("category", "hidden", [category_id], False)
        self.reload()
        self.category_deleted.emit(category_id)

    # ---- counts, kept from the changes ---------------------------------------------------------
    # Each image's labels per category are kept; a change recounts only the images it names (one
    # indexed query, shared with the file list through the session), so an edit costs the same in a
    # project of any size, and only the rows whose counts moved are touched.
    def _recount(self, image_ids=None) -> set[int]:
        """Recount these images (all when None) from the store; the categories whose counts moved."""
        if self.store is None:
            self._per_image, self._counts = {}, {}
            return set()
        if image_ids is None:
            fresh = self.store.image_category_counts()
            old, self._per_image, self._counts = self._counts, fresh, {}
            for per in fresh.values():
                for cid, n in per.items():
                    self._counts[cid] = self._counts.get(cid, 0) + n
            return {c for c in old.keys() | self._counts.keys() if old.get(c) != self._counts.get(c)}
        fresh = labels_by_category(self.session.image_counts(image_ids))
        moved = set()
        for image_id in set(image_ids):
            before, after = self._per_image.pop(image_id, {}), fresh.get(image_id, {})
            for cid in before.keys() | after.keys():
                d = after.get(cid, 0) - before.get(cid, 0)
                if d:
                    self._counts[cid] = self._counts.get(cid, 0) + d
                    moved.add(cid)
            if after:
                self._per_image[image_id] = after
        return moved

    def _on_annotations_changed(self, change) -> None:
        if self.store is None:
            return
        moved = self._recount(None if change.unknown or not change.image_ids or len(change.image_ids) > MANY_IMAGES
                              else change.image_ids)
        if moved:
            self._show_counts(moved)

    def _on_images_changed(self, change) -> None:
        if self.store is not None and change.action == "removed":  # their annotations went with them
            moved = self._recount(None if change.unknown or len(change.ids) > MANY_IMAGES else change.ids)
            if moved:
                self._show_counts(moved)

    def _show_counts(self, categories: set[int]) -> None:
        """Show the counts of these categories."""
        with QSignalBlocker(self.tree):
            for i in range(self.tree.topLevelItemCount()):
                it = self.tree.topLevelItem(i)
                cid = it.data(COL_NAME, _USER)
                if cid in categories:
                    text = str(self._counts.get(cid, 0))
                    if it.text(COL_COUNT) != text:
                        it.setText(COL_COUNT, text)
        if self._count_digits() != self._count_chars:
            self._fit_counts()

    def _count_digits(self) -> int:
        return max((len(str(n)) for n in self._counts.values()), default=1)

    def _fit_counts(self) -> None:
        self.tree.resizeColumnToContents(COL_COUNT)
        self._count_chars = self._count_digits()
