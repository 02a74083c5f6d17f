"""The session: the one owner of the open project's state in the window.

It holds the store, the current image, the selection, hidden and locked annotations and
categories, the category new shapes get, the tool and its brush radius, and the undo stack. Every
view (canvas, file list, category and annotation lists, status bar, features) reads these from
here and subscribes to the typed signals; none keeps a copy. Changes committed to the store arrive
as `annotations_changed` / `categories_changed` / `images_changed` / `runs_changed` with the ids
(and, for annotations, the image ids) they touch, on the GUI thread, after the commit.

Hide and lock are kept in the project (store.view_flags), so they survive a restart.
(napari's ViewerModel is the pattern: the model emits, views listen.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QUndoStack

from annotations.store import Store, StoreError, StoreEvent

from .session_counts import ImageTally

TOOLS = ("select", "rectangle", "polygon", "brush", "eraser")


def shown(annotation_id: int, category_id: int, hidden_annotations, hidden_categories, all_hidden: bool) -> bool:
    """Whether a shape is drawn, given what is hidden (the session's rule; a snapshot of it travels
    to the prefetch worker)."""
    return not (all_hidden or annotation_id in hidden_annotations or category_id in hidden_categories)


BRUSH_MIN, BRUSH_MAX, BRUSH_DEFAULT = 1, 500, 12


@dataclass(frozen=True)
class StoreChange:
    """One committed change: action is "added" | "updated" | "removed"; empty ids = many or unknown."""
    action: str
    ids: tuple[int, ...]
    image_ids: tuple[int, ...] = ()

    @property
    def unknown(self) -> bool:
        return not self.ids


class Session(QObject):
    project_opened = Signal(object)  # Store
    project_closing = Signal(object)  # Store, before it is closed
    image_changed = Signal(object)  # image id, or None
    selection_changed = Signal(list)  # annotation ids, in selection order
    annotations_changed = Signal(object)  # StoreChange
    categories_changed = Signal(object)  # StoreChange
    images_changed = Signal(object)  # StoreChange
    runs_changed = Signal(object)  # StoreChange
    visibility_changed = Signal()  # hidden or locked annotations or categories
    current_category_changed = Signal(object)  # category id, or None
    tool_changed = Signal(str)
    brush_radius_changed = Signal(float)
    _relay = Signal(object)  # store events from any thread -> the GUI thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.store: Store | None = None
        self.image_id: int | None = None
        self._selection: tuple[int, ...] = ()
        self._flags: dict[tuple[str, str], frozenset[int]] = {}
        self._category: int | None = None
        self._all_hidden = False  # "hide all shapes": a view toggle, not kept in the project
        self.tool = "select"
        self.brush_radius = float(BRUSH_DEFAULT)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(0)  # unlimited: each step stores only what changed
        self._unsubscribe = None
        self._read_once: dict | None = None  # while a change is delivered: what its subscribers read
        self._tally = ImageTally()  # the current image's annotations by category and status
        self._relay.connect(self._deliver, Qt.QueuedConnection)

    # ---- the project ---------------------------------------------------------------------------
    def open(self, store: Store) -> None:
        self.close()
        self.store = store
        self._flags = {key: frozenset(ids) for key, ids in store.view_flags().items()}
        self._unsubscribe = store.subscribe(self._relay.emit)
        self.project_opened.emit(store)
        self.visibility_changed.emit()

    def close(self, close_store: bool = True) -> None:
        """Forget the project (project_closing first); the store is closed unless close_store is False."""
        store = self.store
        if store is None:
            return
        self.project_closing.emit(store)
        self.set_image(None)
        self.undo_stack.clear()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.store = None
        self._flags = {}
        self._category = None
        self.visibility_changed.emit()
        if close_store:
            store.close()

    @Slot(object)
    def _deliver(self, ev: StoreEvent) -> None:
        if self.store is None or self.store.closed:  # queued before the project was closed
            return
        change = StoreChange(ev.action, tuple(ev.ids), tuple(ev.image_ids))
        outer, self._read_once = self._read_once, {}
        try:
            self._emit_change(ev.table, change)
        finally:
            self._read_once = outer

    def _emit_change(self, table: str, change: StoreChange) -> None:
        if table == "annotations":
            if change.action == "removed":
                self._forget(change.ids)
            self._tally.follow(change, self.annotation_now)
            self.annotations_changed.emit(change)
        elif table == "categories":
            if change.action == "removed" and self._category in change.ids:
                self.set_current_category(None)
            self.categories_changed.emit(change)
        elif table == "images":
            if change.action == "removed" and self.image_id in change.ids:
                self.set_image(None)
            self.images_changed.emit(change)
        elif table == "runs":
            self.runs_changed.emit(change)
            self._emit_change("annotations", StoreChange("updated", ()))

    # ---- reads shared by the subscribers of one change ----------------------------------------------
    def image_counts(self, image_ids: Iterable[int]) -> dict[int, dict[tuple[int, str], int]]:
        """{(category id, status): annotations} on each of these images (those with any). The current
        image's come from the changes (session_counts.ImageTally), no query; the others' from the
        store, asked once while a change is delivered, whichever panels ask (the file list and the
        category list recount the same images)."""
        ids = set(image_ids)
        out = {}
        if self._tally.image_id in ids:
            ids.discard(self._tally.image_id)
            counts = self._tally.counts(self.store)
            if counts:
                out[self._tally.image_id] = counts
        if ids:
            key = ("counts", tuple(sorted(ids)))
            out.update(self._once(key, lambda: self.store.image_status_counts(key[1])))
        return out

    def image_annotations(self) -> list:
        """The current image's annotations as the store holds them, in id order; read once per image
        switch or delivered change, whichever views ask (the annotation list; the count tally takes
        its start from the same read)."""
        if self.store is None or self.image_id is None:
            return []
        image_id = self.image_id
        anns = self._once(("image", image_id), lambda: self.store.annotations(image_id=image_id))
        self._tally.offer(image_id, anns)
        return anns

    def annotation_now(self, ann_id: int):
        """The annotation as the store holds it now (None when gone); read once per delivered change."""
        return self._once(("annotation", ann_id), lambda: self.store.annotation(ann_id))

    def _once(self, key: tuple, read):
        memo = self._read_once
        if memo is None:
            return read()
        if key not in memo:
            memo[key] = read()
        return memo[key]

    def _forget(self, removed: tuple[int, ...]) -> None:
        if not removed:  # many or unknown: keep what still exists
            alive = {a.id for a in self.image_annotations()}
            self.select([i for i in self._selection if i in alive])
        else:
            gone = set(removed)
            self.select([i for i in self._selection if i not in gone])

    # ---- image and selection -------------------------------------------------------------------
    def set_image(self, image_id: int | None) -> None:
        if image_id == self.image_id:
            return
        self.select([])
        self.image_id = image_id
        self._tally.reset(image_id)
        outer, self._read_once = self._read_once, {}  # the views showing the new image share its reads
        try:
            self.image_changed.emit(image_id)
        finally:
            self._read_once = outer

    @property
    def selection(self) -> list[int]:
        return list(self._selection)

    def select(self, ids: Iterable[int]) -> None:
        ids = tuple(dict.fromkeys(int(i) for i in ids))
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(list(ids))

    # ---- hidden and locked ---------------------------------------------------------------------
    def flagged(self, kind: str, flag: str) -> frozenset[int]:
        """Ids of kind "annotation" | "category" that carry flag "hidden" | "locked"."""
        return self._flags.get((kind, flag), frozenset())

    @property
    def hidden_categories(self) -> frozenset[int]:
        return self.flagged("category", "hidden")

    @property
    def hidden_annotations(self) -> frozenset[int]:
        return self.flagged("annotation", "hidden")

    @property
    def locked_annotations(self) -> frozenset[int]:
        return self.flagged("annotation", "locked")

    def set_flag(self, kind: str, flag: str, ids: Iterable[int], on: bool) -> None:
        ids = frozenset(int(i) for i in ids)
        old = self.flagged(kind, flag)
        new = old | ids if on else old - ids
        if new == old:
            return
        self._flags[(kind, flag)] = new
        if self.store is not None:
            try:
                self.store.set_view_flags(kind, flag, ids, on)
            except StoreError:  # a read-only project: the flag holds for this session only
                pass
        if flag == "hidden":
            self._drop_hidden_from_selection()
        self.visibility_changed.emit()

    @property
    def all_hidden(self) -> bool:
        return self._all_hidden

    def set_all_hidden(self, hidden: bool) -> None:
        """Hide (or show again) every shape at once; each shape's own hidden flag is kept."""
        if hidden != self._all_hidden:
            self._all_hidden = hidden
            if hidden:
                self.select([])
            self.visibility_changed.emit()

    def is_shown(self, annotation_id: int, category_id: int) -> bool:
        return shown(annotation_id, category_id, self.hidden_annotations, self.hidden_categories, self._all_hidden)

    def set_hidden_categories(self, ids: Iterable[int]) -> None:
        ids = frozenset(ids)
        old = self.hidden_categories
        if ids != old:
            self.set_flag("category", "hidden", old - ids, False)
            self.set_flag("category", "hidden", ids - old, True)

    def _drop_hidden_from_selection(self) -> None:
        if not self._selection or self.store is None:
            return
        hidden_ids, hidden_cats = self.hidden_annotations, self.hidden_categories
        keep = []
        for i in self._selection:
            a = self.store.annotation(i) if hidden_cats else None
            if i not in hidden_ids and (a is None or a.category_id not in hidden_cats):
                keep.append(i)
        self.select(keep)

    # ---- drawing settings ----------------------------------------------------------------------
    @property
    def current_category(self) -> int | None:
        return self._category

    def set_current_category(self, category_id: int | None) -> None:
        if category_id != self._category:
            self._category = category_id
            self.current_category_changed.emit(category_id)

    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; tools are: {', '.join(TOOLS)}")
        if name != self.tool:
            self.tool = name
            self.tool_changed.emit(name)

    def set_brush_radius(self, px: float) -> None:
        if not math.isfinite(px):
            return
        px = float(min(max(px, BRUSH_MIN), BRUSH_MAX))
        if px != self.brush_radius:
            self.brush_radius = px
            self.brush_radius_changed.emit(px)
