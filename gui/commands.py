"""Undoable edits of the project store, for the canvas and the panels alike.

Each command writes to the store the moment it is pushed (QUndoStack.push runs redo) and again on
every undo/redo, so the store is always the saved state. A command keeps only what it changes:
the fields that differ for a change (a mask edit keeps where the XOR of old and new pixels flips),
the annotations themselves for an add or a removal. `affected_ids()` names the annotations a
command touches, so a view can refresh just those after the stack moves.

A write the store refuses (the annotation's image was deleted meanwhile, ...) does not raise out of
the undo stack: the command records `error`, marks itself obsolete (the stack drops it) and the view
shows the message.
"""
from __future__ import annotations

import dataclasses
import sqlite3
import weakref
from typing import Callable, Iterable

from PySide6.QtGui import QUndoCommand

from annotations import geometry
from annotations.model import PREDICTION, Annotation
from annotations.store import Store, StoreError, copy_annotation

_FIELDS = tuple(f.name for f in dataclasses.fields(Annotation) if f.name != "id")


class StoreCommand(QUndoCommand):
    def __init__(self, store: Store, text: str):
        super().__init__(text)
        self.store = store
        self.error = ""

    def affected_ids(self) -> set[int]:
        raise NotImplementedError

    def redo(self) -> None:
        self._guarded(self._redo)

    def undo(self) -> None:
        self._guarded(self._undo)

    def _guarded(self, fn) -> None:
        try:
            fn()
            self.error = ""
        except (StoreError, sqlite3.Error, OSError) as e:  # the store refused or could not write
            self.error = f"{self.text()}: {e}"
            self.setObsolete(True)
        _notify(self.store, self.affected_ids())

    def _redo(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError


def _current(store: Store, ids: Iterable[int]) -> list[Annotation]:
    return [a for a in (store.annotation(i) for i in ids) if a is not None]


class AddAnnotations(StoreCommand):
    """Add annotations; ids are fixed on the first redo and kept for every later redo."""

    def __init__(self, store: Store, anns: Iterable[Annotation], text: str = "Add"):
        super().__init__(store, text)
        self._anns = [copy_annotation(a) for a in anns]

    @property
    def ids(self) -> list[int]:
        return [a.id for a in self._anns if a.id is not None]

    def affected_ids(self) -> set[int]:
        return set(self.ids)

    def _redo(self) -> None:
        ids = self.store.add_annotations(self._anns)
        for a, i in zip(self._anns, ids):
            a.id = i

    def _undo(self) -> None:
        self.store.delete_annotations(self.ids)


class RemoveAnnotations(StoreCommand):
    """Delete annotations (given as annotations or ids); undo puts them back with their ids."""

    def __init__(self, store: Store, anns_or_ids: Iterable[Annotation | int], text: str = "Delete"):
        super().__init__(store, text)
        items = list(anns_or_ids)
        ids = [a for a in items if isinstance(a, int)]
        self._anns = [copy_annotation(a) for a in items if isinstance(a, Annotation)] + _current(store, ids)

    def affected_ids(self) -> set[int]:
        return {a.id for a in self._anns}

    def _redo(self) -> None:
        self.store.delete_annotations([a.id for a in self._anns])

    def _undo(self) -> None:
        self.store.add_annotations(self._anns)


class _MaskDelta:
    """The pixels a mask edit flipped, kept as the positions where the XOR of old and new flips
    (geometry.xor_bounds): only the edited region, never the frame. Applying it to either side
    gives the other, in time proportional to the mask's runs."""

    def __init__(self, before: dict, after: dict):
        self.size = tuple(int(v) for v in before["size"])
        self.delta = geometry.xor_bounds(geometry.rle_bounds(before), geometry.rle_bounds(after))
        self._first = (before["counts"], after)  # the push's redo: `after` as given, then only the delta

    def apply(self, rle: dict) -> dict:
        first, self._first = self._first, None
        if first is not None and rle["counts"] == first[0]:
            return first[1]
        return geometry.rle_from_bounds(geometry.xor_bounds(geometry.rle_bounds(rle), self.delta), *self.size)

    @property
    def pixels(self) -> int:
        return geometry.bounds_area(self.delta, self.size[0] * self.size[1])


def _same_size(a, b) -> bool:
    return a is not None and b is not None and list(a["size"]) == list(b["size"])


class ChangeAnnotations(StoreCommand):
    """Change annotations from `before` to `after` (matched by id); only differing fields are kept."""

    def __init__(self, store: Store, before: Iterable[Annotation], after: Iterable[Annotation],
                 text: str = "Edit"):
        super().__init__(store, text)
        old = {a.id: a for a in before}
        self._diffs: dict[int, dict[str, tuple]] = {}
        for new in after:
            prev = old.get(new.id)
            if prev is None:
                raise ValueError(f"annotation {new.id} has an 'after' but no 'before'")
            diff = {}
            for name in _FIELDS:
                a, b = getattr(prev, name), getattr(new, name)
                if a == b:
                    continue
                if name == "rle" and _same_size(a, b):
                    diff[name] = (_MaskDelta(geometry.normalize_rle(a), geometry.normalize_rle(b)),)
                else:
                    diff[name] = (a, b)
            if diff:
                self._diffs[new.id] = diff

    @property
    def empty(self) -> bool:
        return not self._diffs

    def affected_ids(self) -> set[int]:
        return set(self._diffs)

    def _apply(self, side: int) -> None:
        with self.store.transaction():
            changed = []
            for ann in _current(self.store, self._diffs):
                for name, values in self._diffs[ann.id].items():
                    if isinstance(values[0], _MaskDelta):
                        value = values[0].apply(ann.rle)
                    else:
                        value = values[side]
                    setattr(ann, name, value)
                changed.append(ann)
            self.store.update_annotations(changed)

    def _redo(self) -> None:
        self._apply(1)

    def _undo(self) -> None:
        self._apply(0)


class AcceptPredictions(StoreCommand):
    """Predictions become labels (Store.accept_predictions); undo makes them predictions again."""

    def __init__(self, store: Store, ids: Iterable[int], text: str = "Accept predictions"):
        super().__init__(store, text)
        self._ids = [a.id for a in _current(store, ids) if a.status == PREDICTION]

    def affected_ids(self) -> set[int]:
        return set(self._ids)

    def _redo(self) -> None:
        self.store.accept_predictions(self._ids)

    def _undo(self) -> None:
        anns = _current(self.store, self._ids)
        for a in anns:
            a.status = PREDICTION
        self.store.update_annotations(anns)


class RejectPredictions(StoreCommand):
    """Predictions are deleted (Store.reject_predictions); undo restores them."""

    def __init__(self, store: Store, ids: Iterable[int], text: str = "Reject predictions"):
        super().__init__(store, text)
        self._anns = [a for a in _current(store, ids) if a.status == PREDICTION]

    def affected_ids(self) -> set[int]:
        return {a.id for a in self._anns}

    def _redo(self) -> None:
        self.store.reject_predictions([a.id for a in self._anns])

    def _undo(self) -> None:
        self.store.add_annotations(self._anns)


def mask_pixels_changed(cmd: ChangeAnnotations) -> int:
    """How many mask pixels the command flips (0 for non-mask edits); used by tests and the UI."""
    total = 0
    for diff in cmd._diffs.values():
        v = diff.get("rle")
        if v and isinstance(v[0], _MaskDelta):
            total += v[0].pixels
    return total


# ---- who hears about applied commands ----------------------------------------------------------
# Views register per store and are told, synchronously on the GUI thread, which annotations a
# command just wrote, whichever stack it was pushed on, on push, undo, redo or merge.
_listeners: "weakref.WeakKeyDictionary[Store, list[Callable[[set[int]], None]]]" = weakref.WeakKeyDictionary()


def listen(store: Store, callback: Callable[[set[int]], None]) -> Callable[[], None]:
    """Call `callback(annotation ids)` after every command applied to `store`; returns an unsubscribe."""
    _listeners.setdefault(store, []).append(callback)

    def unsubscribe() -> None:
        cbs = _listeners.get(store, [])
        if callback in cbs:
            cbs.remove(callback)
    return unsubscribe


def _notify(store: Store, ids: set[int]) -> None:
    for cb in list(_listeners.get(store, ())):
        cb(ids)
