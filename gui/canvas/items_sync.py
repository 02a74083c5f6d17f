"""The scene items of the current image kept equal to the store, and the selection's handles
(a mixin of CanvasWidget: it uses the canvas's store, image, scene, session and layers).

A switch shows its first frame before the image's items exist (image_switch: the shapes layer's
raster and the captions come from the store's arrays) and leaves them pending: they are made
BATCH at a time once the frame is drawn (events handled between two batches), and at once by
whatever needs them first. Everything but the
switch reads them through `_items`, which completes them, so no reader ever sees part of an image:
hit-testing, selection, edits, store changes, visibility, a whole render of the shapes layer.
"""
from __future__ import annotations

import sqlite3
from typing import Callable, Iterable, Iterator

from annotations.errors import SightlineError
from annotations.model import Annotation

from .items import AnnotationItem, ShapeItem, make_item
from .painting import appearance

MANY_IDS = 64  # above this many changed ids, re-read the image's annotations in one query
BATCH = 128  # items made between two frames while an image's items are pending (a few milliseconds)
FIRST_READ_WAIT_MS = 15  # the pending items wait this long again while a read asked first runs


class PendingItems:
    """An image's items still to make: its annotations in batches, their outline paths (by id, for a
    batch: `paths_for(batch)`) and the previous image's shape items to reuse (in the scene, painting
    nothing, until reshaped or removed)."""

    def __init__(self, batches: Iterator[list[Annotation]], paths_for: Callable[[list[Annotation]], dict],
                 spare: list[ShapeItem]):
        self.batches = batches
        self.paths_for = paths_for
        self.spare = spare
        self.unseen = False  # an item was made that the captions layer's rows do not have


class ItemsSync:
    @property
    def _items(self) -> dict[int, AnnotationItem]:
        """The current image's items by id, all of them (pending ones are made first)."""
        if self._pending_items is not None:
            self._complete_items()
        return self._item_map

    def _complete_items(self) -> None:
        """Make every pending item now."""
        while self._pending_items is not None:
            self._build_step()

    def _on_items_timer(self) -> None:
        """The next batch, unless the prefetch worker is reading an image the user is about to open
        (the row under the pointer, say): the batches would contend with it for the interpreter,
        while the canvas is not what the user is at (a click on it makes every item at once)."""
        if self._prefetch.reading_first():
            self._items_timer.start(FIRST_READ_WAIT_MS)
            return
        self._items_timer.setInterval(0)
        self._build_step()

    def _build_step(self) -> None:
        """Make the next batch of pending items (the items timer, started by a frame)."""
        pending = self._pending_items
        if pending is None:
            return
        try:
            batch = next(pending.batches, None)
        except (sqlite3.Error, SightlineError) as e:  # the project cannot be read any more
            self._shapes_unreadable(self.image, e)
            return
        if batch is None:
            self._pending_items = None
            for item in pending.spare:
                self.scene.removeItem(item)
            if pending.unseen:
                self._captions.changed()
            return
        batch = [a for a in batch if a.id not in self._item_map]  # masks were made for the first frame
        pending.unseen |= self._make_items(batch, pending.paths_for(batch), pending.spare)
        if self._pending_items is pending and not self._items_timer.isActive():
            self._items_timer.start()

    # ---- items -------------------------------------------------------------------------------------
    def _add_item(self, ann: Annotation, path=None, invalidate: bool = True, captions: bool = True) -> None:
        item = make_item(ann, self._ctx, self._shapes, path)
        self.scene.addItem(item)
        if invalidate and isinstance(item, ShapeItem):
            self._shapes.invalidate(item.sceneBoundingRect())
        self._item_map[ann.id] = item
        if ann.id in self._live and isinstance(item, ShapeItem):
            item.set_live(True)
        self._apply_visibility(item, captions=False)
        if captions:
            self._captions.changed()

    def _build_items(self, anns: list[Annotation], paths: dict, spare: list[ShapeItem]) -> None:
        """The items of a newly shown image, all at once: `paths` their outlines by id (built in
        one batch, shapes_prefetch.read_shapes), and the previous image's shape items (`spare`, still
        in the scene) reshaped for the new shapes rather than destroyed and made again; spares left
        over leave the scene."""
        self._make_items(anns, paths, spare)
        for item in spare:
            self.scene.removeItem(item)
        self._captions.changed()

    def _make_items(self, anns: list[Annotation], paths: dict, spare: list[ShapeItem]) -> bool:
        """Items for these annotations, taking spares first; True when one was made without a path
        given (a mask not made for the first frame), which the captions layer has not seen. The shapes
        layer repaints whole after a switch, so no item invalidates its own area."""
        ctx, layer, shown = self._ctx, self._shapes, self.session.is_shown
        made_own = False
        for ann in anns:
            path = paths.get(ann.id)
            if path is None:
                self._add_item(ann, invalidate=False, captions=False)
                made_own = True
                continue
            if spare:
                item = spare.pop()  # plain (not live) since _take_shape_items
                item.reshape(ann, appearance(ann, ctx), path)
            else:
                item = ShapeItem(ann, ctx, layer, path)
                self.scene.addItem(item)
            self._item_map[ann.id] = item
            visible = shown(ann.id, ann.category_id)
            if visible != item.isVisible():
                item.setVisible(visible)
        return made_own

    def _take_shape_items(self) -> list[ShapeItem]:
        """Empty the canvas of items, keeping the shape items (in the scene, plain again) for reuse
        by _build_items; mask items leave the scene."""
        spare = self._drop_pending()
        for item in self._item_map.values():
            if type(item) is ShapeItem:
                if item.live:
                    item.set_live(False)
                item.setPos(0, 0)  # a drag preview may have moved it
                spare.append(item)
            else:
                self.scene.removeItem(item)
        self._item_map.clear()
        return spare

    def _remove_items(self) -> None:
        """Every item of the image leaves the scene, and those still pending are forgotten."""
        for item in self._drop_pending():
            self.scene.removeItem(item)
        for item in self._item_map.values():
            self.scene.removeItem(item)
        self._item_map.clear()
        self._captions.changed()

    def _drop_pending(self) -> list[ShapeItem]:
        """Forget the items still pending (another image is shown); their spares are returned."""
        pending, self._pending_items = self._pending_items, None
        self._items_timer.stop()
        return [] if pending is None else pending.spare

    def _remove_item(self, ann_id: int) -> None:
        item = self._items.pop(ann_id, None)
        if item is not None:
            self._shapes.invalidate(item.sceneBoundingRect())
            self.scene.removeItem(item)
            self._captions.changed()

    def _upsert(self, ann: Annotation) -> bool:
        """Make the item match `ann`; False when it already did."""
        item = self._items.get(ann.id)
        if item is not None and item.ann == ann:
            return False
        if item is not None and (item.ann.kind == "mask") == (ann.kind == "mask"):
            item.set_annotation(ann, self._ctx)
            self._apply_visibility(item, captions=False)
            self._captions.reshaped(ann.id)  # its row, shown or hidden
        else:
            self._remove_item(ann.id)
            self._add_item(ann)
        return True

    def _apply_visibility(self, item: AnnotationItem, captions: bool = True) -> bool:
        """Show or hide the item as the session says; True when that changed it. captions=False:
        the caller tells the captions layer (once for many items)."""
        a = item.ann
        visible = self.session.is_shown(a.id, a.category_id) and a.id not in self._suppressed
        if visible == item.isVisible():
            return False
        item.setVisible(visible)
        self._shapes.invalidate(item.sceneBoundingRect())
        if captions:
            self._captions.reshaped(a.id)
        return True

    def set_hidden(self, categories: set[int], annotations: set[int]) -> None:
        ss = self.session
        ss.set_hidden_categories(categories)
        ss.set_flag("annotation", "hidden", ss.hidden_annotations - set(annotations), False)
        ss.set_flag("annotation", "hidden", set(annotations), True)

    def set_locked(self, annotation_ids: set[int]) -> None:
        ss = self.session
        ss.set_flag("annotation", "locked", ss.locked_annotations - set(annotation_ids), False)
        ss.set_flag("annotation", "locked", set(annotation_ids), True)

    def _on_visibility(self) -> None:
        flipped = [self._apply_visibility(item, captions=False) for item in self._items.values()]
        if any(flipped):
            self._captions.changed()
        self._prune_selection()
        self._update_handles()

    def set_item_visible(self, ann_id: int, visible: bool) -> None:
        """For tools: hide an item while its replacement is previewed."""
        (self._suppressed.discard if visible else self._suppressed.add)(ann_id)
        if ann_id in self._items:
            self._apply_visibility(self._items[ann_id])

    def annotations(self) -> list[Annotation]:
        """The current image's annotations as shown (same as the store's after every edit)."""
        return [self._items[i].ann for i in sorted(self._items)]

    # ---- refreshing from the store -------------------------------------------------------------
    def _refresh_ids(self, ids: set[int]) -> None:
        """Re-read these annotations from the store and update the items of the current image."""
        if self.store is None or self.image is None or not ids:
            return
        if len(ids) > MANY_IDS:
            self._reload_annotations()
            return
        changed = False
        for ann_id in ids:
            ann = self.session.annotation_now(ann_id)  # while a change is delivered: the panels' read
            if ann is not None and ann.image_id == self.image.id:
                changed |= self._upsert(ann)
            elif ann_id in self._items:
                self._remove_item(ann_id)
                changed = True
        if changed:  # a command's own echo (its push told the canvas first) changes nothing
            self._prune_selection()
            self._update_handles()

    def _reload_annotations(self) -> None:
        anns = {a.id: a for a in self.store.annotations(image_id=self.image.id)}
        for ann_id in [i for i in self._items if i not in anns]:
            self._remove_item(ann_id)
        for ann in anns.values():
            self._upsert(ann)
        self._prune_selection()
        self._update_handles()

    def _on_images_changed(self, change) -> None:
        if change.action == "removed":
            self._prefetch.invalidate(change.ids or ())
        if self.store is not None and self.image is not None and self.image.id in change.ids:
            if change.action == "removed":
                self._clear_image()
            else:
                self.image = self.store.image(self.image.id) or self.image

    def _on_annotations_changed(self, change) -> None:
        """Changes committed by other parts; own echoes change nothing."""
        self._prefetch.invalidate(change.image_ids)  # none named: any image
        if self.store is None or self.image is None:
            return
        if change.image_ids and self.image.id not in change.image_ids:
            return
        if change.unknown or len(change.ids) > MANY_IDS:
            self._reload_annotations()
        elif change.action == "removed":
            for i in change.ids:
                self._remove_item(i)
            self._prune_selection()
            self._update_handles()
        else:
            self._refresh_ids(set(change.ids))

    # ---- selection ----------------------------------------------------------------------------------
    def select_annotations(self, ids: Iterable[int]) -> None:
        """Select these shapes of the current image (hidden and unknown ids are left out)."""
        self.session.select(i for i in ids if i in self._items and self._items[i].isVisible())

    def _on_selection(self, ids: list) -> None:
        self._update_handles()
        self.selection_changed.emit(list(ids))

    def selected_ids(self) -> list[int]:
        return list(self._selected)

    def selected_annotations(self, editable: bool = False) -> list[Annotation]:
        return [self._items[i].ann for i in self._selected
                if i in self._items and not (editable and i in self._locked)]

    def _prune_selection(self) -> None:
        if self.image is None:
            return
        keep = [i for i in self._selected if i in self._items and self._items[i].isVisible()]
        if keep != self._selected:
            self.session.select(keep)

    def _update_handles(self) -> None:
        live = set(self._selected)
        for i in live ^ self._live:
            item = self._items.get(i)
            if isinstance(item, ShapeItem):
                item.set_live(i in live)
        self._live = live
        self._handles.setPos(0, 0)
        self._handles.set_shapes(self.selected_annotations(editable=True), self.zoom())
        self._captions.set_emphasised(self._emphasised())
