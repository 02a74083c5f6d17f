"""The annotations and outline paths of the images shown next (next and previous in the file list),
read from the store and built on a worker thread, so that switching to an image with thousands of
shapes costs the GUI thread only the items' update.

An entry is good until the store reports a change to its image: every request remembers the
generation of its image (and of the whole project), a change raises them, and a result whose
generations moved meanwhile is dropped. So a result is never older than the last change the GUI
thread has heard of. The worker only reads, through its own store connection; `stop()` waits for it
(at most one image's read) and is called before the store closes.

    prefetch = ShapesPrefetch()
    prefetch.attach(store)
    prefetch.request([next_id, previous_id])
    anns, paths = prefetch.take(image_id) or (store.annotations(image_id=image_id), None)
    prefetch.invalidate(change.image_ids)     # on every store change (empty: every image)
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Iterable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from annotations.model import MASK
from annotations.store import Store

from .painting import outline_paths

log = logging.getLogger(__name__)


def read_shapes(store: Store, image_id: int):
    """An image's annotations (in store order) and the outline paths of its boxes and polygons by id."""
    anns = store.annotations(image_id=image_id)
    outlined = [a for a in anns if a.kind != MASK]
    return anns, dict(zip((a.id for a in outlined), outline_paths(outlined)))


class _Relay(QObject):
    """Parentless and held by the runnables, like the image cache's: a result arriving after the
    canvas is gone has a live sender and no receiver."""
    done = Signal(int, object, object)  # image id, generations at request, (annotations, paths)


class _ReadRunnable(QRunnable):
    def __init__(self, relay: _Relay, store: Store, image_id: int, generations: tuple[int, int]):
        super().__init__()
        self.relay, self.store, self.image_id, self.generations = relay, store, image_id, generations

    def run(self) -> None:
        try:
            shapes = read_shapes(self.store, self.image_id)
        except Exception:  # noqa: BLE001 - a failed prefetch only means the switch reads for itself
            log.warning("prefetching the shapes of image %s failed", self.image_id, exc_info=True)
            shapes = None
        self.relay.done.emit(self.image_id, self.generations, shapes)


class ShapesPrefetch(QObject):
    def __init__(self, capacity: int = 3, parent: QObject | None = None):
        super().__init__(parent)
        self.capacity = capacity
        self._store: Store | None = None
        self._entries: OrderedDict[int, tuple] = OrderedDict()
        self._pending: set[int] = set()
        self._image_gen: dict[int, int] = {}
        self._project_gen = 0
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done, Qt.QueuedConnection)

    def attach(self, store: Store | None) -> None:
        """Forget the previous project (waiting for a read in flight) and prefetch from `store`."""
        self.stop()
        self._store = store

    def stop(self) -> None:
        """Drop queued reads, wait for the running one, forget every entry."""
        self._pool.clear()
        self._pool.waitForDone()
        self._store = None
        self.invalidate(())
        self._pending.clear()

    def request(self, image_ids: Iterable[int]) -> None:
        store = self._store
        if store is None or store.closed:
            return
        for image_id in image_ids:
            image_id = int(image_id)
            if image_id in self._entries or image_id in self._pending:
                continue
            self._pending.add(image_id)
            self._pool.start(_ReadRunnable(self._relay, store, image_id, self._generations(image_id)))

    def take(self, image_id: int):
        """(annotations, outline paths by id) of `image_id` if prefetched and still current, else None."""
        return self._entries.pop(int(image_id), None)

    def invalidate(self, image_ids: Iterable[int]) -> None:
        """The store changed these images' annotations (none named: any image)."""
        ids = [int(i) for i in image_ids]
        if not ids:
            self._project_gen += 1
            self._entries.clear()
            return
        for i in ids:
            self._image_gen[i] = self._image_gen.get(i, 0) + 1
            self._entries.pop(i, None)

    def _generations(self, image_id: int) -> tuple[int, int]:
        return self._project_gen, self._image_gen.get(image_id, 0)

    @Slot(int, object, object)
    def _on_done(self, image_id: int, generations: tuple[int, int], shapes) -> None:
        self._pending.discard(image_id)
        if shapes is None or self._store is None or generations != self._generations(image_id):
            return
        self._entries[image_id] = shapes
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
