"""Decoding images off the GUI thread into display pyramids, with a small LRU for prefetch.

An image is kept as levels (full size, then halved until it fits DISPLAY_MIN), each cut into tiles
of at most TILE pixels a side, so images wider than Qt's 32767-pixel limit for one QImage display
through tiles, and a zoomed-out view draws from a level near screen size instead of scaling the
full image every frame. Pixels are BGRA (QImage.Format_RGB32), the fastest format for Qt's raster
painter; each QImage wraps its numpy tile without a copy.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from annotations.imageio import read_rgb

TILE = 4096
DISPLAY_MIN = 1024


@dataclass
class Tile:
    x: int  # in level pixels
    y: int
    pixels: np.ndarray  # (h, w, 4) uint8, contiguous
    image: QImage = field(init=False)

    def __post_init__(self):
        h, w = self.pixels.shape[:2]
        self.image = QImage(self.pixels.data, w, h, self.pixels.strides[0], QImage.Format_RGB32)

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]


@dataclass
class Level:
    width: int
    height: int
    tiles: list[Tile]


@dataclass
class DecodedImage:
    image_id: int
    width: int
    height: int
    levels: list[Level]

    @property
    def nbytes(self) -> int:
        return sum(t.pixels.nbytes for lv in self.levels for t in lv.tiles)


def _tiles(arr: np.ndarray) -> list[Tile]:
    h, w = arr.shape[:2]
    if h <= TILE and w <= TILE:
        return [Tile(0, 0, np.ascontiguousarray(arr))]
    return [Tile(x, y, np.ascontiguousarray(arr[y:y + TILE, x:x + TILE]))
            for y in range(0, h, TILE) for x in range(0, w, TILE)]


def decode_for_display(path: Path, image_id: int) -> DecodedImage:
    """Read, convert and build the pyramid (worker thread). Raises ImageReadError naming the file."""
    import cv2

    rgb = read_rgb(path)
    arr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    del rgb
    height, width = arr.shape[:2]
    levels = []
    while True:
        levels.append(Level(arr.shape[1], arr.shape[0], _tiles(arr)))
        h, w = arr.shape[:2]
        if max(h, w) <= DISPLAY_MIN:
            break
        arr = cv2.resize(arr, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    return DecodedImage(image_id, width, height, levels)


class _Relay(QObject):
    """Carries results out of worker threads; parentless and held by the runnables, so a result
    arriving after the canvas is gone has a live sender and no receiver. Each result carries the
    cache generation it was asked in: image ids of a project closed meanwhile mean nothing now."""
    done = Signal(int, int, object)  # generation, image id, DecodedImage
    failed = Signal(int, int, str)  # generation, image id, message


class _DecodeRunnable(QRunnable):
    def __init__(self, relay: _Relay, generation: int, image_id: int, path: Path):
        super().__init__()
        self.relay, self.generation, self.image_id, self.path = relay, generation, image_id, path

    def run(self) -> None:
        try:
            decoded = decode_for_display(self.path, self.image_id)
        except Exception as e:  # noqa: BLE001 - any decoder failure becomes the canvas message
            self.relay.failed.emit(self.generation, self.image_id, str(e) or e.__class__.__name__)
        else:
            self.relay.done.emit(self.generation, self.image_id, decoded)


class ImageCache(QObject):
    """loaded(image_id, DecodedImage) / failed(image_id, message), delivered on the GUI thread."""
    loaded = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, capacity: int = 6, max_bytes: int = 1 << 30, parent: QObject | None = None):
        super().__init__(parent)
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._images: OrderedDict[int, DecodedImage] = OrderedDict()
        self._pending: set[int] = set()
        self._errors: dict[int, str] = {}
        self._generation = 0
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done, Qt.QueuedConnection)
        self._relay.failed.connect(self._on_failed, Qt.QueuedConnection)

    def get(self, image_id: int) -> DecodedImage | None:
        img = self._images.get(image_id)
        if img is not None:
            self._images.move_to_end(image_id)
        return img

    def error(self, image_id: int) -> str | None:
        return self._errors.get(image_id)

    def is_pending(self, image_id: int) -> bool:
        return image_id in self._pending

    def request(self, image_id: int, path: Path) -> DecodedImage | None:
        """The decoded image if cached; otherwise start decoding it (once) and return None."""
        img = self.get(image_id)
        if img is None and image_id not in self._pending:
            self._errors.pop(image_id, None)
            self._pending.add(image_id)
            self._pool.start(_DecodeRunnable(self._relay, self._generation, image_id, path))
        return img

    @Slot(int, int, object)
    def _on_done(self, generation: int, image_id: int, decoded: DecodedImage) -> None:
        if generation != self._generation:
            return
        self._pending.discard(image_id)
        self._images[image_id] = decoded
        self._images.move_to_end(image_id)
        while len(self._images) > 1 and (len(self._images) > self.capacity
                                         or sum(i.nbytes for i in self._images.values()) > self.max_bytes):
            self._images.popitem(last=False)
        self.loaded.emit(image_id, decoded)

    @Slot(int, int, str)
    def _on_failed(self, generation: int, image_id: int, message: str) -> None:
        if generation != self._generation:
            return
        self._pending.discard(image_id)
        self._errors[image_id] = message
        self.failed.emit(image_id, message)

    def clear(self) -> None:
        """Forget everything, including decodes still running (their results will be dropped)."""
        self._generation += 1
        self._images.clear()
        self._errors.clear()
        self._pending.clear()

    def shutdown(self) -> None:
        """Drop queued decodes and wait for running ones (at most one image each)."""
        self._pool.clear()
        self._pool.waitForDone()
        self.clear()
