"""The current image's annotations by (category, status), kept up to date from the changes the
session delivers: an edit on the canvas's image moves the file list's and the category list's
counts without a count query.

Each annotation's (category, status) is taken once from the image's annotations as the annotation
list reads them when the image is shown (Session.image_annotations, so switching images costs no
extra query; without such a view, one indexed query at the first count asked), and then re-read
only for the ids a change names (the annotation read the panels share for that change,
Session.annotation_now). Panels take an image's counts from here whole, never add to them, so the
counts they show are always a tally of one consistent view of the image's annotations, whenever it
was read.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Iterable

from annotations.model import Annotation
from annotations.store import Store

MANY_IDS = 64  # a change naming more annotations than this (or none) has the image's annotations counted anew


class ImageTally:
    def __init__(self):
        self.image_id: int | None = None
        self.loaded = False
        self._keys: dict[int, tuple[int, str]] = {}  # annotation id -> (category id, status)
        self._counts: Counter = Counter()  # (category id, status) -> annotations

    def reset(self, image_id: int | None) -> None:
        """Follow `image_id` (None: no image); its annotations are counted when first offered or asked."""
        self.image_id, self.loaded = image_id, False
        self._keys, self._counts = {}, Counter()

    def offer(self, image_id: int | None, anns: Iterable[Annotation]) -> None:
        """The image's annotations as just read from the store (by a view that needed them anyway)."""
        if image_id is not None and image_id == self.image_id and not self.loaded:
            self._fill((a.id, a.category_id, a.status) for a in anns)

    def follow(self, change, read: Callable[[int], Annotation | None]) -> None:
        """Take a delivered change to annotations into account; `read(id)` gives an annotation as
        the store holds it now (None when gone). Not yet counted: nothing to do, the count will be
        read after this change."""
        if not self.loaded or (change.image_ids and self.image_id not in change.image_ids):
            return
        if change.unknown or not change.image_ids or len(change.ids) > MANY_IDS:
            self.reset(self.image_id)
            return
        for ann_id in change.ids:
            a = None if change.action == "removed" else read(ann_id)
            self._set(ann_id, None if a is None or a.image_id != self.image_id else (a.category_id, a.status))

    def counts(self, store: Store) -> dict[tuple[int, str], int]:
        """{(category id, status): annotations} on the image, as Store.image_status_counts gives them."""
        if not self.loaded and self.image_id is not None:
            self._fill(store.annotation_classes(self.image_id))
        return dict(self._counts)

    def _fill(self, rows: Iterable[tuple[int, int, str]]) -> None:
        self._keys = {ann_id: (category_id, status) for ann_id, category_id, status in rows}
        self._counts = Counter(self._keys.values())
        self.loaded = True

    def _set(self, ann_id: int, key: tuple[int, str] | None) -> None:
        old = self._keys.pop(ann_id, None)
        if old is not None:
            self._counts[old] -= 1
            if not self._counts[old]:
                del self._counts[old]
        if key is not None:
            self._keys[ann_id] = key
            self._counts[key] += 1
