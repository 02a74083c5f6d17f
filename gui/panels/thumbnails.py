"""The film strip: a row of thumbnails under the canvas, in the file list's order and filter.

Thumbnails are made on a thread pool (never on the GUI thread) and kept on disk, one PNG per image
keyed by the image id and the file's modification time and size, in the user's cache folder under a
folder per project (`$SIGHTLINE_CACHE_DIR` overrides the cache folder). Opening a project keeps that
cache under CACHE_MAX_BYTES, deleting the folders of the projects opened least recently. Only the rows the strip
shows are asked for (Qt asks a model for the decoration of visible rows only). A file that cannot
be read gets a placeholder. Clicking a thumbnail opens the image; the current image is selected.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (QIdentityProxyModel, QItemSelectionModel, QObject, QRunnable, QSize, QStandardPaths,
                            Qt, QThreadPool, Signal, Slot)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView

from annotations.imageio import read_rgb

from .resting_pointer import RestingPointer

THUMB = 96  # longest side, pixels
MEMORY_ITEMS = 2000
CACHE_MAX_BYTES = 512 << 20  # the disk cache of every project together; least recently opened go first


def cache_root() -> Path:
    env = os.environ.get("SIGHTLINE_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        base = Path(QStandardPaths.writableLocation(QStandardPaths.GenericCacheLocation)) / "sightline"
    return base / "thumbnails"


def project_cache_dir(project_root: Path) -> Path:
    digest = hashlib.sha1(str(Path(project_root).resolve()).encode()).hexdigest()[:16]
    return cache_root() / digest


def thumbnail_path(folder: Path, image_id: int, source: Path) -> Path:
    """Where the thumbnail of this version of the file lives (a changed file gets a new name)."""
    st = source.stat()
    return folder / f"{image_id}-{st.st_mtime_ns}-{st.st_size}.png"


def prune_cache(keep: Path, max_bytes: int = CACHE_MAX_BYTES) -> list[Path]:
    """Bring the disk cache under `max_bytes`: the folders of the least recently opened projects are
    deleted first (a folder's time is that of its last opening: `keep`'s is set to now), `keep` (the
    open project's) never. Returns the folders deleted. Errors leave a folder as it is."""
    import shutil
    import time

    if keep.is_dir():
        now = time.time()
        os.utime(keep, (now, now))
    if not keep.parent.is_dir():
        return []
    folders = []
    for d in keep.parent.iterdir():
        if not d.is_dir() or d.is_symlink():
            continue
        try:
            size = sum(f.stat().st_size for f in d.iterdir() if f.is_file() and not f.is_symlink())
            folders.append((d.stat().st_mtime, size, d))
        except OSError:
            continue
    total = sum(size for _, size, _ in folders)
    removed = []
    for _, size, d in sorted(folders, key=lambda f: f[0]):
        if total <= max_bytes:
            break
        if d == keep:
            continue
        shutil.rmtree(d, ignore_errors=True)
        if not d.exists():
            total -= size
            removed.append(d)
    return removed


class _PruneRunnable(QRunnable):
    def __init__(self, keep: Path):
        super().__init__()
        self.keep = keep

    def run(self) -> None:
        try:
            prune_cache(self.keep)
        except OSError:  # a cache that cannot be pruned is only a cache
            pass


def make_thumbnail(source: Path, target: Path) -> QImage:
    """Decode, shrink (area averaging) and save; raises ImageReadError or OSError."""
    import cv2

    rgb = read_rgb(source)
    h, w = rgb.shape[:2]
    scale = THUMB / max(h, w, 1)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {tmp}")
    os.replace(tmp, target)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888).copy()


class _Relay(QObject):
    done = Signal(int, int, object, bool)  # generation, image id, QImage, from the disk cache
    failed = Signal(int, int, str)


class _ThumbRunnable(QRunnable):
    def __init__(self, relay: _Relay, generation: int, image_id: int, source: Path, folder: Path):
        super().__init__()
        self.relay, self.generation, self.image_id = relay, generation, image_id
        self.source, self.folder = source, folder

    def run(self) -> None:
        try:
            target = thumbnail_path(self.folder, self.image_id, self.source)
            cached = QImage(str(target)) if target.exists() else QImage()
            if not cached.isNull():
                self.relay.done.emit(self.generation, self.image_id, cached, True)
                return
            image = make_thumbnail(self.source, target)
            for old in self.folder.glob(f"{self.image_id}-*.png"):  # thumbnails of earlier versions
                if old != target:
                    old.unlink(missing_ok=True)
        except Exception as e:  # noqa: BLE001 - an unreadable file becomes a placeholder
            self.relay.failed.emit(self.generation, self.image_id, str(e) or e.__class__.__name__)
        else:
            self.relay.done.emit(self.generation, self.image_id, image, False)


def _placeholder(broken: bool) -> QPixmap:
    pm = QPixmap(THUMB, THUMB * 3 // 4)
    pm.fill(QColor(60, 60, 64))
    if broken:
        p = QPainter(pm)
        p.setPen(QColor(224, 96, 60))
        p.drawLine(8, 8, pm.width() - 8, pm.height() - 8)
        p.drawLine(pm.width() - 8, 8, 8, pm.height() - 8)
        p.end()
    return pm


class ThumbnailModel(QIdentityProxyModel):
    """The file list's model with a thumbnail as the decoration of its first column."""
    thumbnail_ready = Signal(int, bool)  # image id, came from the disk cache

    def __init__(self, source, parent=None):
        super().__init__(parent)
        self.setSourceModel(source)
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._pending: set[int] = set()
        self._broken: dict[int, str] = {}
        self._folder: Path | None = None
        self._generation = 0
        self._asked = 0
        self.active = False  # asks for thumbnails only while the strip is shown
        self.decoded = 0  # thumbnails made from the image file (the others came from the disk cache)
        self.from_disk = 0
        self._loading, self._broken_pm = _placeholder(False), _placeholder(True)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.done.connect(self._on_done, Qt.QueuedConnection)
        self._relay.failed.connect(self._on_failed, Qt.QueuedConnection)

    def set_project(self, root: Path | None) -> None:
        self._generation += 1
        self._pool.clear()  # queued requests of the previous project
        self._pixmaps.clear()
        self._pending.clear()
        self._broken.clear()
        self._folder = None if root is None else project_cache_dir(root)
        if self._folder is not None:
            self._pool.start(_PruneRunnable(self._folder), -1)  # after the thumbnails asked for

    def image_id(self, row: int) -> int:
        return self.sourceModel().image_id(row)

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.DecorationRole and index.column() == 0:
            return self.thumbnail(self.image_id(index.row()))
        if role == Qt.ToolTipRole and index.column() == 0:
            iid = self.image_id(index.row())
            name = super().data(index, Qt.DisplayRole)
            return f"{name}\n{self._broken[iid]}" if iid in self._broken else name
        return super().data(index, role)

    def thumbnail(self, image_id: int) -> QPixmap:
        """The thumbnail if made; otherwise a placeholder, and the thumbnail is asked for (once)."""
        pm = self._pixmaps.get(image_id)
        if pm is not None:
            self._pixmaps.move_to_end(image_id)
            return pm
        if image_id in self._broken:
            return self._broken_pm
        store = self.sourceModel().store
        if self.active and image_id not in self._pending and store is not None and self._folder is not None:
            rec = store.image(image_id)
            if rec is not None:
                self._pending.add(image_id)
                self._asked += 1  # the latest asked first: the rows in view after a scroll come before older ones
                self._pool.start(_ThumbRunnable(self._relay, self._generation, image_id, store.image_path(rec),
                                                self._folder), self._asked)
        return self._loading

    def has_thumbnail(self, image_id: int) -> bool:
        return image_id in self._pixmaps

    @Slot(int, int, object, bool)
    def _on_done(self, generation: int, image_id: int, image: QImage, from_disk: bool) -> None:
        if generation != self._generation:
            return
        self._pending.discard(image_id)
        self._pixmaps[image_id] = QPixmap.fromImage(image)
        while len(self._pixmaps) > MEMORY_ITEMS:
            self._pixmaps.popitem(last=False)
        if from_disk:
            self.from_disk += 1
        else:
            self.decoded += 1
        self._changed(image_id)
        self.thumbnail_ready.emit(image_id, from_disk)

    @Slot(int, int, str)
    def _on_failed(self, generation: int, image_id: int, message: str) -> None:
        if generation != self._generation:
            return
        self._pending.discard(image_id)
        self._broken[image_id] = message
        self._changed(image_id)
        self.thumbnail_ready.emit(image_id, False)

    def _changed(self, image_id: int) -> None:
        row = self.sourceModel().row_of(image_id)
        if row is not None:
            idx = self.index(row, 0)
            self.dataChanged.emit(idx, idx, [Qt.DecorationRole])

    def shutdown(self) -> None:
        self._generation += 1
        self._pool.clear()
        self._pool.waitForDone()


class FilmStrip(QListView):
    """One row of thumbnails; a click opens the image (image_activated), the current one is selected;
    hovered(id) when the pointer rests on a thumbnail."""
    image_activated = Signal(int)
    hovered = Signal(int)

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.setObjectName("film_strip")
        self.session = window.session
        self.thumbs = ThumbnailModel(window.file_list.model, self)
        self.setModel(self.thumbs)
        self.setViewMode(QListView.IconMode)
        self.setFlow(QListView.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(THUMB, THUMB * 3 // 4))  # most photos are 4:3; others are fitted inside
        self.setGridSize(QSize(THUMB + 16, THUMB * 3 // 4 + 22))
        self.setTextElideMode(Qt.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setSelectionMode(QListView.SingleSelection)
        self.setFixedHeight(THUMB * 3 // 4 + 22 + self.horizontalScrollBar().sizeHint().height() + 6)
        self.clicked.connect(lambda idx: self.image_activated.emit(self.thumbs.image_id(idx.row())))
        RestingPointer(self).rested.connect(lambda row: self.hovered.emit(self.thumbs.image_id(row)))
        self.thumbs.modelReset.connect(lambda: self.select_image(self.session.image_id))
        self.session.project_opened.connect(lambda store: self.thumbs.set_project(store.root))
        self.session.project_closing.connect(lambda _store: self.thumbs.set_project(None))
        self.session.image_changed.connect(self.select_image)
        if self.session.store is not None:
            self.thumbs.set_project(self.session.store.root)

    def showEvent(self, event) -> None:
        self.thumbs.active = True
        super().showEvent(event)
        self.viewport().update()

    def hideEvent(self, event) -> None:
        self.thumbs.active = False
        super().hideEvent(event)

    def select_image(self, image_id: int | None) -> None:
        row = None if image_id is None else self.thumbs.sourceModel().row_of(image_id)
        if row is None:
            self.selectionModel().clearSelection()
            return
        idx = self.thumbs.index(row, 0)
        self.selectionModel().setCurrentIndex(idx, QItemSelectionModel.ClearAndSelect)
        self.scrollTo(idx, QListView.PositionAtCenter)


def install(window) -> FilmStrip:
    """A bottom dock "Film strip" (View menu), hidden until asked for."""
    strip = FilmStrip(window)
    strip.image_activated.connect(window.show_image)
    strip.hovered.connect(lambda image_id: window.expect_images([image_id]))
    dock = window.add_panel("film_strip", "Film strip", strip, Qt.BottomDockWidgetArea)
    dock.widget().setFixedHeight(strip.height())  # its own height: the canvas keeps the rest, the rows above give way
    dock.hide()
    dock.toggleViewAction().triggered.connect(lambda on: dock.raise_() if on else None)  # its tab to the front
    window.add_shutdown_hook(strip.thumbs.shutdown)
    return strip
