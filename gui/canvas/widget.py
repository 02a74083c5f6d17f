"""CanvasWidget: the image and its annotations, the tools that edit them, and one undo stack.

The store is the document: every edit is a command (gui/commands.py) that writes to it at once.
The scene mirrors the current image's annotations, one item per annotation, refreshed from the
store for exactly the annotations a command touched (commands.listen), and, for changes made
elsewhere, through on_store_changed (which skips whatever already matches the store).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QUndoStack
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QLabel, QVBoxLayout, QWidget

from annotations.model import Annotation, ImageRecord
from annotations.store import Store

from .. import commands
from .captions import CaptionsLayer
from .edits import EditActions
from .image_cache import DecodedImage, ImageCache
from .image_layer import ImageLayer
from .items import AnnotationItem, HandlesItem, ShapeItem, ShapesLayer, make_item
from .painting import RenderContext, outline_paths
from .tools import TOOLS
from .view import ImageView

UNDO_LIMIT = 1000
MANY_IDS = 64  # above this many changed ids, re-read the image's annotations in one query


class CanvasWidget(QWidget, EditActions):
    selection_changed = Signal(list)
    cursor_moved = Signal(float, float)
    zoom_changed = Signal(float)
    tool_changed = Signal(str)
    image_loaded = Signal(int)
    image_failed = Signal(int, str)
    message = Signal(str)  # something the user should read (a refused edit, no category yet)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scene = QGraphicsScene(self)
        self.scene.setItemIndexMethod(QGraphicsScene.BspTreeIndex)
        self.view = ImageView(self.scene, self)
        self.view.handler = self
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._notice = QLabel(self.view)
        self._notice.setAlignment(Qt.AlignCenter)
        self._notice.setWordWrap(True)
        self._notice.setStyleSheet("QLabel { color: #f0f0f0; background: rgba(120, 30, 30, 210);"
                                   " padding: 12px; border-radius: 6px; }")
        self._notice.hide()

        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.store: Store | None = None
        self.image: ImageRecord | None = None
        self._unlisten = None
        self._items: dict[int, AnnotationItem] = {}
        self._selected: list[int] = []
        self._live: set[int] = set()  # shapes painting themselves (selected), not the cached layer
        self._hidden_categories: set[int] = set()
        self._hidden_ids: set[int] = set()
        self._locked: set[int] = set()
        self._suppressed: set[int] = set()  # hidden while a tool edits them
        self._category: int | None = None
        self._ctx = RenderContext()
        self._hovered: int | None = None
        self._clipboard: list[Annotation] = []
        self.brush_radius = 10.0
        self._fitted_size: tuple[int, int] | None = None

        self._layer = ImageLayer()
        self.scene.addItem(self._layer)
        self._shapes = ShapesLayer()
        self.scene.addItem(self._shapes)
        self._handles = HandlesItem()
        self.scene.addItem(self._handles)
        self._captions = CaptionsLayer(self._items)
        self.scene.addItem(self._captions)
        self._cache = ImageCache(parent=self)
        self._cache.loaded.connect(self._on_image_decoded)
        self._cache.failed.connect(self._on_image_failed)
        self.view.zoom_changed.connect(self._on_zoom)
        self.view.cursor_moved.connect(self.cursor_moved)
        self._tools = {name: cls(self) for name, cls in TOOLS.items()}
        self._tool = self._tools["select"]

    # ---- project and image -------------------------------------------------------------------
    def set_store(self, store: Store | None) -> None:
        self._tool.cancel()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self.undo_stack.clear()  # its commands belong to the previous project
        self._clear_image()
        self._cache.clear()
        self.store = store
        self._category = None
        self._hidden_categories, self._hidden_ids, self._locked = set(), set(), set()
        self._fitted_size = None
        if store is not None:
            self._unlisten = commands.listen(store, self._refresh_ids)
            self._reload_categories()

    @property
    def current_image_id(self) -> int | None:
        return None if self.image is None else self.image.id

    def show_image(self, image_id: int, highlight: Iterable[int] = ()) -> None:
        """Show an image: its annotations at once, its pixels when decoded (placeholder until then)."""
        if self.store is None:
            return
        highlight = list(highlight)
        if self.image is not None and self.image.id == image_id:
            if highlight:
                self.select_annotations(highlight)
                self._reveal(highlight)
            return
        self._tool.cancel()
        rec = self.store.image(image_id)
        if rec is None:
            self._clear_image()
            self._show_notice(f"Image {image_id} is not in the project.")
            self.image_failed.emit(int(image_id), f"image {image_id} is not in the project")
            return
        self._clear_image()
        self.image = rec
        w, h = rec.width, rec.height
        m = max(w, h)
        self.scene.setSceneRect(QRectF(-m, -m, w + 2 * m, h + 2 * m))  # room to pan past the edges
        self._layer.set_size(w, h)
        self._shapes.set_size(w, h)
        self._captions.set_size(w, h)
        anns = self.store.annotations(image_id=image_id)
        outlined = [a for a in anns if a.kind != "mask"]
        paths = dict(zip((a.id for a in outlined), outline_paths(outlined)))
        for ann in anns:
            self._add_item(ann, paths.get(ann.id), invalidate=False)  # the layer repaints whole anyway
        if self._fitted_size != (w, h):
            self.fit()
            self._fitted_size = (w, h)
        self._apply_cache_policy()
        decoded = self._cache.request(rec.id, self.store.image_path(rec))
        if decoded is not None:
            self._on_image_decoded(rec.id, decoded)
        self.select_annotations(highlight)
        self._reveal(highlight)

    def _reveal(self, ids: list[int]) -> None:
        """Bring these shapes into view (centred) when they are not all visible."""
        rect = QRectF()
        for i in ids:
            if i in self._items:
                rect = rect.united(QRectF(*self._items[i].ann.bbox))
        if rect.isNull():
            return
        shown = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        if not shown.contains(rect):
            self.view.centerOn(rect.center())

    def _clear_image(self) -> None:
        self._tool.cancel()
        for item in self._items.values():
            self.scene.removeItem(item)
        self._items.clear()
        self._captions.changed()
        self._live.clear()
        self._suppressed.clear()
        self.image = None
        self._layer.set_size(0, 0)
        self._notice.hide()
        if self._selected:
            self._selected = []
            self._handles.set_shapes([], self.zoom())
            self.selection_changed.emit([])

    def _on_image_decoded(self, image_id: int, decoded: DecodedImage) -> None:
        if self.image is not None and self.image.id == image_id:
            self._layer.set_image(decoded)
            self._notice.hide()
            if (decoded.width, decoded.height) != (self.image.width, self.image.height):
                self._say(f"{self.image.file_name} is {decoded.width} x {decoded.height} pixels but the project "
                          f"records {self.image.width} x {self.image.height}; shapes use the recorded size.")
            self.image_loaded.emit(image_id)

    def _on_image_failed(self, image_id: int, message: str) -> None:
        if self.image is not None and self.image.id == image_id:
            self._show_notice(f"Cannot show {self.image.file_name}:\n{message}")
            self.image_failed.emit(image_id, message)

    def prefetch(self, image_ids: Iterable[int]) -> None:
        """Decode these images in the background (e.g. next and previous) into the small LRU."""
        if self.store is None:
            return
        for image_id in list(image_ids)[:max(self._cache.capacity - 1, 0)]:
            rec = self.store.image(image_id)
            if rec is not None:
                self._cache.request(rec.id, self.store.image_path(rec))

    @property
    def image_ready(self) -> bool:
        """The current image's pixels are on screen (not the placeholder)."""
        return self._layer.has_pixels

    def notice_text(self) -> str:
        return self._notice.text() if self._notice.isVisible() else ""

    def _show_notice(self, text: str) -> None:
        self._notice.setText(text)
        self._notice.show()
        self._place_notice()

    def _place_notice(self) -> None:
        vp = self.view.viewport().rect()
        w = min(vp.width() - 40, 520)
        self._notice.setFixedWidth(max(w, 100))
        self._notice.adjustSize()
        self._notice.move((vp.width() - self._notice.width()) // 2, (vp.height() - self._notice.height()) // 2)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._apply_cache_policy()
        if self._notice.isVisible():
            self._place_notice()

    def closeEvent(self, ev) -> None:
        self._tool.cancel()
        self._cache.shutdown()
        super().closeEvent(ev)

    # ---- categories and render context ---------------------------------------------------------
    def _reload_categories(self) -> None:
        cats = self.store.categories() if self.store is not None else []
        self._set_context(replace(self._ctx, colors=tuple((c.id, c.color) for c in cats),
                                  names=tuple((c.id, c.name) for c in cats)))

    def _set_context(self, ctx: RenderContext) -> None:
        self._ctx = ctx
        for item in self._items.values():
            item.set_annotation(item.ann, self._ctx)
        self._captions.set_context(ctx)

    # ---- captions ------------------------------------------------------------------------------
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

    def set_current_category(self, category_id: int | None) -> None:
        self._category = category_id

    def current_category(self) -> int | None:
        known = [cid for cid, _ in self._ctx.names]
        if self._category in known:
            return self._category
        return known[0] if known else None

    def category_color(self, category_id: int | None) -> QColor:
        return self._ctx.color(category_id or 0)

    def current_color(self) -> QColor:
        return self.category_color(self.current_category())

    def can_draw(self) -> bool:
        if self.current_category() is None:
            self._say("Add a category before drawing shapes.")
            return False
        return True

    def _say(self, text: str) -> None:
        self.message.emit(text)

    # ---- items -------------------------------------------------------------------------------------
    def _add_item(self, ann: Annotation, path=None, invalidate: bool = True) -> None:
        item = make_item(ann, self._ctx, self._shapes, path)
        self.scene.addItem(item)
        if invalidate and isinstance(item, ShapeItem):
            self._shapes.invalidate(item.sceneBoundingRect())
        self._items[ann.id] = item
        if ann.id in self._live and isinstance(item, ShapeItem):
            item.set_live(True)
        self._apply_visibility(item)
        self._captions.changed()

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
            self._apply_visibility(item)
            self._captions.changed()
        else:
            self._remove_item(ann.id)
            self._add_item(ann)
        return True

    def _apply_visibility(self, item: AnnotationItem) -> None:
        a = item.ann
        visible = (a.id not in self._hidden_ids and a.category_id not in self._hidden_categories
                   and a.id not in self._suppressed)
        if visible != item.isVisible():
            item.setVisible(visible)
            self._shapes.invalidate(item.sceneBoundingRect())
            self._captions.changed()

    def set_hidden(self, categories: set[int], annotations: set[int]) -> None:
        self._hidden_categories, self._hidden_ids = set(categories), set(annotations)
        for item in self._items.values():
            self._apply_visibility(item)
        self._prune_selection()

    def set_locked(self, annotation_ids: set[int]) -> None:
        self._locked = set(annotation_ids)
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
        for ann_id in ids:
            ann = self.store.annotation(ann_id)
            if ann is not None and ann.image_id == self.image.id:
                self._upsert(ann)
            else:
                self._remove_item(ann_id)
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

    def on_store_changed(self, table: str, action: str, ids: list) -> None:
        """Changes committed by other parts (StoreSignals.changed); own echoes change nothing."""
        if self.store is None:
            return
        if table == "categories":
            self._reload_categories()
        elif table == "images" and self.image is not None and self.image.id in ids:
            if action == "removed":
                self._clear_image()
            else:
                self.image = self.store.image(self.image.id) or self.image
        elif table in ("annotations", "runs") and self.image is not None:
            if not ids or table == "runs" or len(ids) > MANY_IDS:
                self._reload_annotations()
            elif action == "removed":
                for i in ids:
                    self._remove_item(i)
                self._prune_selection()
                self._update_handles()
            else:
                self._refresh_ids(set(ids))

    # ---- selection ----------------------------------------------------------------------------------
    def select_annotations(self, ids: Iterable[int]) -> None:
        ids = list(dict.fromkeys(i for i in ids if i in self._items and self._items[i].isVisible()))
        changed = ids != self._selected
        self._selected = ids
        self._update_handles()
        if changed:
            self.selection_changed.emit(list(ids))

    def selected_ids(self) -> list[int]:
        return list(self._selected)

    def selected_annotations(self, editable: bool = False) -> list[Annotation]:
        return [self._items[i].ann for i in self._selected
                if i in self._items and not (editable and i in self._locked)]

    def _prune_selection(self) -> None:
        keep = [i for i in self._selected if i in self._items and self._items[i].isVisible()]
        if keep != self._selected:
            self.select_annotations(keep)

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

    # ---- for tools -------------------------------------------------------------------------------
    def push(self, cmd: commands.StoreCommand) -> None:
        self.undo_stack.push(cmd)
        if cmd.error:
            self._say(cmd.error)

    def hit(self, pos: QPointF, kinds: tuple[str, ...] | None = None) -> AnnotationItem | None:
        """The topmost visible, unlocked shape under `pos` (image pixels)."""
        for item in self.scene.items(pos, Qt.IntersectsItemBoundingRect, Qt.DescendingOrder):
            if not isinstance(item, AnnotationItem) or not item.isVisible():
                continue
            if item.ann_id in self._locked or (kinds is not None and item.ann.kind not in kinds):
                continue
            if item.hit(pos):
                return item
        return None

    def ids_in_rect(self, rect: QRectF) -> list[int]:
        return [it.ann_id for it in self.scene.items(rect, Qt.ContainsItemShape, Qt.AscendingOrder)
                if isinstance(it, AnnotationItem) and it.isVisible() and it.ann_id not in self._locked]

    def offset_items(self, ids: Iterable[int], dx: float, dy: float) -> None:
        """Show items moved by (dx, dy) without touching the store (drag preview)."""
        for i in ids:
            if i in self._items:
                self._items[i].setPos(dx, dy)
        self._handles.setPos(dx, dy)

    def preview_annotation(self, ann: Annotation) -> None:
        """Show `ann` in place of its stored version until the next refresh (drag preview)."""
        item = self._items.get(ann.id)
        if item is not None:
            item.set_annotation(ann, self._ctx)
            self._captions.changed()
            self._handles.set_shapes([ann if a.id == ann.id else a for a in self.selected_annotations(True)],
                                     self.zoom())

    # ---- tools ---------------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in self._tools:
            raise ValueError(f"unknown tool {name!r}; tools are: {', '.join(self._tools)}")
        if self._tool.name == name:
            return
        self._tool.cancel()
        self._tool = self._tools[name]
        self.view.viewport().setCursor(self._tool.cursor)
        self.tool_changed.emit(name)

    def set_view_cursor(self, cursor) -> None:
        port = self.view.viewport()
        if port.cursor().shape() != cursor:
            port.setCursor(cursor)

    def tool(self) -> str:
        return self._tool.name

    def active_tool(self):
        return self._tool

    def set_brush_radius(self, px: float) -> None:
        self.brush_radius = min(max(float(px), 0.5), 1000.0)

    # ---- view ------------------------------------------------------------------------------------------
    def fit(self) -> None:
        if self.image is not None:
            self.view.fit_rect(QRectF(0, 0, self.image.width, self.image.height))

    def zoom_1to1(self) -> None:
        self.view.set_zoom(1.0)

    def zoom(self) -> float:
        return self.view.zoom()

    def set_zoom(self, zoom: float) -> None:
        self.view.set_zoom(zoom)

    def _on_zoom(self, zoom: float) -> None:
        self._apply_cache_policy()
        self._update_handles()
        self.zoom_changed.emit(zoom)

    def _apply_cache_policy(self) -> None:
        # Device-coordinate caches pay off zoomed out (a frame is one blit instead of scaling the
        # image and drawing every shape) but cost more than they save once a layer is many
        # viewports large; then only the exposed part is drawn each frame.
        zoom = self.zoom()
        vp = self.view.viewport().rect()
        for layer in (self._layer, self._shapes):
            r = layer.boundingRect()
            small = r.width() * zoom <= 3 * vp.width() and r.height() * zoom <= 3 * vp.height()
            mode = QGraphicsItem.DeviceCoordinateCache if small else QGraphicsItem.NoCache
            if layer.cacheMode() != mode:
                layer.setCacheMode(mode)

    # ---- events from the view ----------------------------------------------------------------------
    def press(self, pos: QPointF, ev) -> None:
        self._tool.press(pos, ev)

    def move(self, pos: QPointF, ev) -> None:
        self._tool.move(pos, ev)
        if ev.buttons() == Qt.NoButton:
            item = self.hit(pos)
            self._set_hovered(None if item is None else item.ann_id)

    def release(self, pos: QPointF, ev) -> None:
        self._tool.release(pos, ev)

    def double_click(self, pos: QPointF, ev) -> None:
        self._tool.double_click(pos, ev)

    _ARROWS = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}

    def wants_key(self, ev) -> bool:
        if self._tool.wants_key(ev):
            return True
        return bool(self._selected) and (ev.key() in self._ARROWS or ev.key() == Qt.Key_Delete)

    def key_press(self, ev) -> bool:
        if self._tool.key_press(ev):
            return True
        key = ev.key()
        if key in self._ARROWS and self._selected:
            step = 10 if ev.modifiers() & Qt.ShiftModifier else 1
            dx, dy = self._ARROWS[key]
            self.nudge(dx * step, dy * step)
            return True
        if key == Qt.Key_Delete and self._selected:
            self.delete_selection()
            return True
        return False
