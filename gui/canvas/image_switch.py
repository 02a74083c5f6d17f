"""Showing another image: its shapes (read ahead or read now), its shapes layer's raster (when drawn
ahead for the view as it is) and its pixels; and asking for the next ones
(a mixin of CanvasWidget: it uses the canvas's store, view, layers, caches and session)."""
from __future__ import annotations

import logging
import sqlite3
from typing import Iterable

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

import numpy as np

from annotations.errors import SightlineError
from annotations.model import MASK, PREDICTION

from . import first_frame
from .items_sync import BATCH, PendingItems
from .painting import outline_paths_by_id
from .shapes_layer import layer_rect, shapes_rastered
from .shapes_prefetch import Prefetched, RasterSpec, read_shapes


log = logging.getLogger(__name__)


class ImageSwitch:
    def _follow_image(self, image_id: int | None) -> None:
        """Show the session's image: its annotations at once, its pixels when decoded."""
        if image_id is None:
            self._clear_image()
            return
        if self.store is None or (self.image is not None and self.image.id == image_id):
            return
        self._tool.cancel()
        self._prefetch.hold()  # until this image's first frame (the view's frame_drawn releases it)
        rec = self.store.image(image_id)
        if rec is None:
            self._clear_image()
            self._show_notice(f"Image {image_id} is not in the project.")
            self.image_failed.emit(int(image_id), f"image {image_id} is not in the project")
            return
        spare = self._take_shape_items()  # reused for this image's shapes
        self._clear_image()
        self.image = rec
        w, h = rec.width, rec.height
        m = max(w, h)
        self.scene.setSceneRect(QRectF(-m, -m, w + 2 * m, h + 2 * m))  # room to pan past the edges
        self._layer.set_size(w, h)
        self._shapes.set_size(w, h)
        self._captions.set_size(w, h)
        spec = self._raster_spec(w, h)  # before the fit: the zoom it predicts is the one the fit sets
        ahead = self._prefetch.take(image_id)
        try:
            if spec is None:  # zoomed in far: the shapes layer draws from the items each frame, made now
                anns, paths = ahead[:2] if ahead is not None else read_shapes(self.store, image_id)
                self._build_items(anns, paths, spare)
            else:
                raster = self._show_first_frame(image_id, ahead, spec, spare)
        except (sqlite3.Error, SightlineError) as e:  # the project cannot be read (locked, damaged)
            for item in spare:
                self.scene.removeItem(item)
            self._shapes_unreadable(rec, e)
            spec = None
        if self._fitted_size != (w, h):
            self.fit()
            self._fitted_size = (w, h)
        self._apply_cache_policy()
        if spec is not None:
            self._shapes.adopt(raster, spec.scale, spec.dpr)  # the first frame: a blit
        decoded = self._cache.request(rec.id, self.store.image_path(rec))
        if decoded is not None:
            self._on_image_decoded(rec.id, decoded)

    def _show_first_frame(self, image_id: int, ahead: Prefetched | None, spec: RasterSpec,
                          spare: list) -> QImage:
        """What the first frame needs, without the items (first_frame): the shapes layer's raster
        (read ahead, or drawn now from the store's arrays), the captions' rows and the mask items
        (masks draw themselves); returns the raster. The other items are left pending
        (items_sync.PendingItems): they are made from the full outlines after the frame."""
        store = self.store
        if ahead is not None:
            outlines, paths, anns = ahead.outlines, ahead.paths, ahead.annotations
            raster = ahead.raster if ahead.spec == spec else None  # else: drawn for another view
            masks = [a for a in anns if a.kind == MASK]
            batches = (anns[k:k + BATCH] for k in range(0, len(anns), BATCH))
            paths_for = lambda _batch: paths  # noqa: E731 - read with the annotations
        else:
            outlines, raster = store.outlines(image_id), None
            paths_for = outline_paths_by_id  # a batch's paths from the batch itself
            masks = store.annotations(image_id=image_id, kind=MASK) if MASK in outlines.kinds else []
            batches = store.annotation_batches(image_id, BATCH)
        for ann in masks:
            self._add_item(ann, invalidate=False, captions=False)
        looks = first_frame.looks_of(outlines, self._ctx)
        ss = self.session
        shown = first_frame.shown_rows(outlines, ss.hidden_annotations, ss.hidden_categories, ss.all_hidden)
        self._captions.set_columns(outlines.ids, outlines.boxes, looks,
                                   np.asarray([s == PREDICTION for s in outlines.statuses], bool), shown,
                                   outlines.category_ids)
        self._pending_items = PendingItems(batches, paths_for, spare)
        if raster is None:
            raster = first_frame.first_raster(outlines, looks, shown, spec.width, spec.height, spec.scale, spec.dpr)
        return raster

    def _shapes_unreadable(self, rec, error: Exception) -> None:
        """The image's shapes could not be read: none is shown, and the canvas says why."""
        log.warning("reading the shapes of image %s failed", rec.id, exc_info=error)
        self._remove_items()
        self._shapes.invalidate_all()
        self._shapes_failed = True
        self._show_notice(f"Cannot read the shapes of {rec.file_name}: {error}")
        self.image_failed.emit(int(rec.id), f"cannot read its shapes: {error}")

    def prefetch(self, image_ids: Iterable[int], first: bool = False) -> None:
        """Decode these images in the background (e.g. next and previous) into the small LRU, and
        read their shapes (shapes_prefetch); `first`: their shapes before the reads still queued."""
        if self.store is None:
            return
        image_ids = list(image_ids)
        records = {i: self.store.image(i) for i in image_ids}

        def spec_for(image_id: int) -> RasterSpec | None:
            rec = records.get(image_id)
            return None if rec is None else self._raster_spec(rec.width, rec.height)
        self._prefetch.request((i for i in image_ids if self.image is None or i != self.image.id), spec_for, first)
        for image_id in image_ids[:max(self._cache.capacity - 1, 0)]:
            rec = records[image_id]
            if rec is not None:
                self._cache.request(rec.id, self.store.image_path(rec))

    def _raster_spec(self, width: int, height: int) -> RasterSpec | None:
        """How the shapes layer would draw an image of this size shown now (its zoom: the current
        one for the size the view was fitted to, else the fit), None when it would keep no raster."""
        scale = self.zoom() if (width, height) == self._fitted_size else self.view.fit_zoom(QRectF(0, 0, width, height))
        if not scale or not shapes_rastered(layer_rect(width, height), scale, self.view.viewport().rect()):
            return None
        ss = self.session
        return RasterSpec(width, height, scale, self.view.viewport().devicePixelRatioF(), self._ctx,
                          ss.hidden_categories, ss.hidden_annotations, ss.all_hidden)

