"""The annotations and outline paths of the images shown next (next and previous in the file list),
read from the store and built on a worker thread, so that switching to an image with thousands of
shapes costs the GUI thread only the items' update.

An entry is good until the store reports a change to its image: every request remembers the
generation of its image (and of the whole project), a change raises them, and a result whose
generations moved meanwhile is dropped. So a result is never older than the last change the GUI
thread has heard of. The worker only reads, through its own store connection; `stop()` waits for it
(at most one image's read) and is called before the store closes.

Asked with a RasterSpec (the scale the image will be shown at, the render context and what is
hidden), the worker also draws the shapes layer's raster of the image (shapes_layer.render_raster):
the switch hands it to the layer when the view and the spec still agree, and the first frame is a
blit. (Drawing the raster of an image not read ahead on a thread while the GUI thread makes its
items was tried and measured: the two threads contend for the GIL on every Qt call, and the switch
got no faster.)

    prefetch = ShapesPrefetch()
    prefetch.attach(store)
    prefetch.request([next_id, previous_id], spec_for)     # spec_for(image_id): RasterSpec or None
    prefetch.request([hovered_id], spec_for, first=True)   # before the reads still queued
    entry = prefetch.take(image_id)     # Prefetched(annotations, paths, spec, raster, outlines) or None
    prefetch.invalidate(change.image_ids)     # on every store change (empty: every image)
    prefetch.hold(); ...; prefetch.release()  # a switch: the worker waits between its steps until the frame

A read holds the interpreter lock for most of its time, so a read running while the GUI thread
switches images makes the switch up to three times slower (measured: 252 against 74 ms for 2000
polygons); the canvas holds the worker from the start of a switch to the end of its first frame.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from annotations.model import Annotation
from annotations.outlines import Outlines
from annotations.store import Store

from ..session import shown
from .items import z_for
from .painting import RenderContext, outline_paths_by_id, own_appearances
from .shapes_layer import layer_rect, render_raster

log = logging.getLogger(__name__)

HOLD_S = 0.3  # the longest a switch holds the worker (a frame normally releases it sooner)
CHUNK = 64  # shapes between two of the worker's pauses (about a millisecond of work)


def read_shapes(store: Store, image_id: int, pause: Callable[[], object] | None = None):
    """An image's annotations (in store order) and the outline paths of its boxes and polygons by id.
    With `pause` (the worker), it is called between each CHUNK shapes, where the worker waits while the
    GUI thread switches; without (the GUI thread's own read), the outlines are built in one batch."""
    anns = store.annotations(image_id=image_id, between=pause)
    if pause is None:
        return anns, outline_paths_by_id(anns)
    paths: dict = {}
    for k in range(0, len(anns), CHUNK):
        pause()
        paths.update(outline_paths_by_id(anns[k:k + CHUNK]))
    return anns, paths


@dataclass(frozen=True)
class RasterSpec:
    """How the shapes layer will draw an image: its size, the view's scale and device pixel ratio,
    the render context and what is hidden (nothing is selected right after a switch)."""
    width: int
    height: int
    scale: float
    dpr: float
    ctx: RenderContext
    hidden_categories: frozenset
    hidden_annotations: frozenset
    all_hidden: bool

    def shown(self, ann: Annotation) -> bool:
        return shown(ann.id, ann.category_id, self.hidden_annotations, self.hidden_categories, self.all_hidden)


class Prefetched(NamedTuple):
    annotations: list[Annotation]
    paths: dict  # annotation id -> outline path (boxes and polygons)
    spec: RasterSpec | None
    raster: QImage | None  # the shapes layer's raster as `spec` says, if asked
    outlines: Outlines  # the same shapes as arrays (what the first frame draws from when the raster is not)


def draw_raster(anns: list[Annotation], paths: dict, spec: RasterSpec,
                pause: Callable[[], object] = lambda: None) -> QImage:
    """The shapes layer's raster of these shapes (those shown, bottom first: bigger shapes under
    smaller ones, as the scene stacks the items), drawn as the layer would (any thread); `pause()`
    between each CHUNK shapes."""
    look = own_appearances(spec.ctx)
    drawn = sorted((a for a in anns if a.id in paths and spec.shown(a)), key=z_for)  # stable: the scene's order

    def outlines():
        for k, a in enumerate(drawn):
            if k % CHUNK == 0:
                pause()
            yield look(a).style, paths[a.id]
    return render_raster(layer_rect(spec.width, spec.height), spec.scale, spec.dpr, outlines())


class _Relay(QObject):
    """Parentless and held by the runnables, like the image cache's: a result arriving after the
    canvas is gone has a live sender and no receiver."""
    done = Signal(int, object, object)  # image id, generations at request, (annotations, paths)


class _SetAside(Exception):
    """A read gives way to one asked with first=True (raised at its pause, caught in its run)."""


class _Ticket:
    """One asked read, shared by the GUI thread and the worker: `set_aside` (set by the GUI thread)
    makes the read stop at its next pause, to be asked again (at the back) once it has stopped."""
    __slots__ = ("spec", "first", "set_aside")

    def __init__(self, spec: RasterSpec | None, first: bool):
        self.spec, self.first, self.set_aside = spec, first, False


class _ReadRunnable(QRunnable):
    def __init__(self, relay: _Relay, store: Store, image_id: int, generations: tuple[int, int],
                 ticket: _Ticket, free: threading.Event):
        super().__init__()
        self.relay, self.store, self.image_id, self.generations = relay, store, image_id, generations
        self.ticket, self.free = ticket, free

    def _pause(self) -> None:
        self.free.wait(HOLD_S)  # never longer than the hold itself
        if self.ticket.set_aside:
            raise _SetAside

    def run(self) -> None:
        spec = self.ticket.spec
        try:
            self._pause()
            outlines = self.store.outlines(self.image_id)
            anns, paths = read_shapes(self.store, self.image_id, self._pause)
            raster = None if spec is None else draw_raster(anns, paths, spec, self._pause)
            shapes = Prefetched(anns, paths, spec, raster, outlines)
        except _SetAside:
            shapes = None
        except Exception:  # noqa: BLE001 - a failed prefetch only means the switch reads for itself
            log.warning("prefetching the shapes of image %s failed", self.image_id, exc_info=True)
            shapes = None
        self.relay.done.emit(self.image_id, self.generations, shapes)


class ShapesPrefetch(QObject):
    def __init__(self, capacity: int = 4, parent: QObject | None = None):
        super().__init__(parent)
        self.capacity = capacity
        self._store: Store | None = None
        self._entries: OrderedDict[int, tuple] = OrderedDict()
        self._pending: dict[int, _Ticket] = {}  # asked and not yet arrived
        self._image_gen: dict[int, int] = {}
        self._project_gen = 0
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._free = threading.Event()  # cleared while the GUI thread switches images (hold/release)
        self._free.set()
        self._hold_timer = QTimer(self, singleShot=True, interval=int(HOLD_S * 1000))
        self._hold_timer.timeout.connect(self.release)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done, Qt.QueuedConnection)

    def attach(self, store: Store | None) -> None:
        """Forget the previous project (waiting for a read in flight) and prefetch from `store`."""
        self.stop()
        self._store = store

    def hold(self) -> None:
        """The GUI thread is switching images: a read in progress waits at its next step (each holds
        the interpreter lock for up to a few tens of ms) until release(), or HOLD_S at most."""
        self._free.clear()
        self._hold_timer.start()

    def release(self) -> None:
        if not self._free.is_set():
            self._hold_timer.stop()
            self._free.set()

    def stop(self) -> None:
        """Drop queued reads, wait for the running one, forget every entry."""
        self.release()
        self._pool.clear()
        self._pool.waitForDone()
        self._store = None
        self.invalidate(())
        self._pending.clear()

    def request(self, image_ids: Iterable[int],
                spec_for: Callable[[int], RasterSpec | None] | None = None, first: bool = False) -> None:
        """Read these images' shapes; with their rasters where `spec_for` gives a spec. An entry
        held for another spec is read again. `first`: before the reads already queued (an image
        the user is about to open, such as the row under the pointer; the reads asked before it stop
        at their next pause and are asked again after it)."""
        store = self._store
        if store is None or store.closed:
            return
        asked = set()
        for image_id in image_ids:
            image_id = int(image_id)
            asked.add(image_id)
            spec = spec_for(image_id) if spec_for is not None else None
            held = self._entries.get(image_id)
            ready = held is not None and held.spec == spec
            if first and not ready:  # the user's latest intent goes first; what was asked before, after it
                for other, ticket in self._pending.items():
                    ticket.set_aside = ticket.set_aside or other not in asked
            if image_id in self._pending or ready:
                continue  # (already asked: the reads before it were set aside just now)
            self._entries.pop(image_id, None)
            self._start(image_id, _Ticket(spec, first))

    def _start(self, image_id: int, ticket: _Ticket) -> None:
        self._pending[image_id] = ticket
        self._pool.start(_ReadRunnable(self._relay, self._store, image_id, self._generations(image_id), ticket,
                                       self._free), 1 if ticket.first else 0)

    def reading_first(self) -> bool:
        """A read asked first (an image the user is about to open) is under way."""
        return any(t.first for t in self._pending.values())

    def take(self, image_id: int) -> Prefetched | None:
        """What was read ahead for `image_id` if it is still current, else None."""
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
        ticket = self._pending.pop(image_id, None)
        if ticket is not None and ticket.set_aside and shapes is None and self._store is not None \
                and not self._store.closed:
            self._start(image_id, _Ticket(ticket.spec, False))  # after the read that set it aside
            return
        if shapes is None or self._store is None or generations != self._generations(image_id):
            return
        self._entries[image_id] = shapes
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
