"""Zoom, fit (kept on resize until the user zooms), layer cache policy, captions on shapes, and the
layers features add (add_layer: the Explain heat map) (a mixin of CanvasWidget: it uses the canvas's
view, scene, image, layers and captions layer)."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem

from .shapes_layer import shapes_rastered




class ViewOps:
    def add_layer(self, item: QGraphicsItem) -> None:
        """Put a feature's layer into the scene (a heat map: gui/canvas/heatmap_layer.py)."""
        self.scene.addItem(item)

    def set_captions_shown(self, shown: bool) -> None:
        """Category names on shapes (see captions.py for which ones show)."""
        if bool(shown) != self._ctx.captions:
            self._set_context(replace(self._ctx, captions=bool(shown)))

    def captions_shown(self) -> bool:
        return self._ctx.captions

    def set_caption_threshold(self, score: float) -> None:
        """Predictions scoring under `score` are captioned only while hovered or selected."""
        if float(score) != self._ctx.caption_threshold:
            self._set_context(replace(self._ctx, caption_threshold=float(score)))

    def captions(self) -> dict[int, tuple[str, QRectF]]:
        """The captions on screen now: annotation id -> (text, rectangle in viewport pixels)."""
        t = self.view.viewportTransform()
        return {i: (text, rect) for i, text, _, rect in
                self._captions.placements(t, QRectF(self.view.viewport().rect()))}

    def captioned_ids(self) -> list[int]:
        return sorted(self.captions())

    def _set_hovered(self, ann_id: int | None) -> None:
        if ann_id != self._hovered:
            self._hovered = ann_id
            self._captions.set_emphasised(self._emphasised())

    def _emphasised(self) -> set[int]:
        return set(self._selected) | ({self._hovered} if self._hovered is not None else set())

    def fit(self) -> None:
        """Fit the image to the canvas, and keep it fitted when the canvas is resized."""
        self._fit_mode = True
        if self.image is not None:
            self._fitting = True
            try:
                self.view.fit_rect(QRectF(0, 0, self.image.width, self.image.height))
            finally:
                self._fitting = False

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def zoom_1to1(self) -> None:
        self.view.set_zoom(1.0)

    def zoom(self) -> float:
        return self.view.zoom()

    def set_zoom(self, zoom: float) -> None:
        self.view.set_zoom(zoom)

    def settle_zoom(self) -> None:
        """Draw the shapes and captions sharp now, as when the view has rested after a zoom step or a
        pan (until then they show their previous rasters moved with the view: shapes_layer.py)."""
        self._shapes.zoom_settle.settle()
        self._captions.zoom_settle.settle()

    def _on_zoom(self, zoom: float) -> None:
        if not getattr(self, "_fitting", False):
            self._fit_mode = False  # the user zoomed: leave the view where they put it
        self._apply_cache_policy()
        self._update_handles()
        self.zoom_changed.emit(zoom)

    def _apply_cache_policy(self) -> None:
        # Device-coordinate caches pay off zoomed out (a frame is one blit instead of scaling the
        # image and drawing every shape) but cost more than they save once a layer is many
        # viewports large; then only the exposed part is drawn each frame.
        zoom = self.zoom()
        vp = self.view.viewport().rect()
        def small(layer) -> bool:
            r = layer.boundingRect()
            return r.width() * zoom <= 3 * vp.width() and r.height() * zoom <= 3 * vp.height()
        mode = QGraphicsItem.DeviceCoordinateCache if small(self._layer) else QGraphicsItem.NoCache
        if self._layer.cacheMode() != mode:
            self._layer.setCacheMode(mode)
        self._shapes.set_rastered(shapes_rastered(self._shapes.boundingRect(), zoom, vp))
