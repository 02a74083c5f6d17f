"""The current image's annotations by (category, status), kept up to date from the changes the
session delivers: an edit on the canvas's image moves the file list's and the category list's
counts without a count query.

Each annotation's (category, status) is read once when the image is shown (one indexed query) and
then re-read only for the ids a change names (the annotation read the panels share for that change,
Session.annotation_now). Panels take an image's counts from here whole, never add to them, so the
counts they show are always a tally of one consistent view of the image's annotations.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

from annotations.model import Annotation
from annotations.store import Store

MANY_IDS = 64  # a change naming more annotations than this (or none) re-reads the image in one query


class ImageTally:
    def __init__(self):
        self.image_id: int | None = None
        self._keys: dict[int, tuple[int, str]] = {}  # annotation id -> (category id, status)
        self._counts: Counter = Counter()  # (category id, status) -> annotations

    def load(self, store: Store | None, image_id: int | None) -> None:
        """Count the annotations of `image_id` (None: no image) from the store."""
        self.image_id = image_id if store is not None else None
        rows = store.annotation_classes(image_id) if self.image_id is not None else []
        self._keys = {ann_id: (category_id, status) for ann_id, category_id, status in rows}
        self._counts = Counter(self._keys.values())

    def follow(self, store: Store, change, read: Callable[[int], Annotation | None]) -> None:
        """Take a delivered change to annotations into account; `read(id)` gives an annotation as
        the store holds it now (None when gone)."""
        if self.image_id is None or (change.image_ids and self.image_id not in change.image_ids):
            return
        if change.unknown or not change.image_ids or len(change.ids) > MANY_IDS:
            self.load(store, self.image_id)
            return
        for ann_id in change.ids:
            a = None if change.action == "removed" else read(ann_id)
            self._set(ann_id, None if a is None or a.image_id != self.image_id else (a.category_id, a.status))

    def _set(self, ann_id: int, key: tuple[int, str] | None) -> None:
        old = self._keys.pop(ann_id, None)
        if old is not None:
            self._counts[old] -= 1
            if not self._counts[old]:
                del self._counts[old]
        if key is not None:
            self._keys[ann_id] = key
            self._counts[key] += 1

    def counts(self) -> dict[tuple[int, str], int]:
        """{(category id, status): annotations} on the image, as Store.image_status_counts gives them."""
        return dict(self._counts)
