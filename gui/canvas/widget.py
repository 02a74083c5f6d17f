"""CanvasWidget: the image and its annotations, and the tools that edit them.

The session (gui.session.Session) owns the state the canvas shows: the project, the current
image, the selection, hidden and locked shapes, the current category, the tool, the brush radius
and the undo stack. The canvas reads them there and follows its signals; it keeps no copy.

The store is the document: every edit is a command (gui/commands.py) that writes to it at once.
The scene mirrors the current image's annotations, one item per annotation, refreshed from the
store for exactly the annotations a command touched (commands.listen), and, for changes made
elsewhere, through the session's annotations_changed (which skips whatever already matches the store).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene, QLabel, QVBoxLayout, QWidget

from annotations.model import Annotation, ImageRecord
from annotations.store import Store

from .. import commands
from ..session import Session
from .captions import CaptionsLayer
from .edits import EditActions
from .items_sync import ItemsSync, PendingItems
from .view_ops import ViewOps
from .image_cache import DecodedImage, ImageCache
from .image_layer import ImageLayer
from .items import AnnotationItem, HandlesItem
from .painting import RenderContext
from .image_switch import ImageSwitch
from .shapes_layer import ShapesLayer
from .shapes_prefetch import ShapesPrefetch
from .tools import TOOLS
from .view import ImageView



class CanvasWidget(QWidget, EditActions, ItemsSync, ViewOps, ImageSwitch):
    selection_changed = Signal(list)
    cursor_moved = Signal(float, float)
    zoom_changed = Signal(float)
    tool_changed = Signal(str)
    image_loaded = Signal(int)
    image_failed = Signal(int, str)
    message = Signal(str)  # something the user should read (a refused edit, no category yet)
    label_requested = Signal(list)  # annotation ids whose category the user wants to set (double-click, Enter)

    def __init__(self, parent: QWidget | None = None, session: Session | None = None):
        super().__init__(parent)
        self.session = session if session is not None else Session(self)
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

        self.store: Store | None = None
        self.image: ImageRecord | None = None
        self._unlisten = None
        self._item_map: dict[int, AnnotationItem] = {}  # read through ItemsSync._items (pending ones made first)
        self._pending_items: PendingItems | None = None
        self._items_timer = QTimer(self)  # makes the next batch of pending items after a frame
        self._items_timer.setSingleShot(True)
        self._items_timer.setInterval(0)
        self._items_timer.timeout.connect(self._on_items_timer)
        self._live: set[int] = set()  # shapes painting themselves (selected), not the cached layer
        self._suppressed: set[int] = set()  # hidden while a tool edits them
        self._ctx = RenderContext()
        self._hovered: int | None = None
        self._clipboard: list[Annotation] = []
        self._fitted_size: tuple[int, int] | None = None
        self._fit_mode = True  # the image follows the canvas's size until the user zooms
        self._shapes_failed = False  # the current image's shapes could not be read (its notice stays)

        self._layer = ImageLayer()
        self.scene.addItem(self._layer)
        self._shapes = ShapesLayer(self)
        self.scene.addItem(self._shapes)
        self._handles = HandlesItem()
        self.scene.addItem(self._handles)
        self._captions = CaptionsLayer(self._item_map, self)
        self.scene.addItem(self._captions)
        self._cache = ImageCache(parent=self)
        self._cache.loaded.connect(self._on_image_decoded)
        self._cache.failed.connect(self._on_image_failed)
        self._prefetch = ShapesPrefetch(parent=self)
        self.view.frame_drawn.connect(self._prefetch.release)  # a switch holds the prefetch worker until then
        self.view.frame_drawn.connect(self._after_frame)
        self._shapes.needs_items = self._complete_items
        self.view.zoom_changed.connect(self._on_zoom)
        self.view.cursor_moved.connect(self.cursor_moved)
        self._tools = {name: cls(self) for name, cls in TOOLS.items()}
        self._tool = self._tools[self.session.tool]
        ss = self.session
        ss.project_opened.connect(self._attach)
        ss.project_closing.connect(lambda _store: self._attach(None))
        ss.image_changed.connect(self._follow_image)
        ss.selection_changed.connect(self._on_selection)
        ss.visibility_changed.connect(self._on_visibility)
        ss.tool_changed.connect(self._on_tool)
        ss.categories_changed.connect(lambda _change: self._reload_categories())
        ss.annotations_changed.connect(self._on_annotations_changed)
        ss.images_changed.connect(self._on_images_changed)
        if ss.store is not None:
            self._attach(ss.store)

    # ---- state owned by the session ------------------------------------------------------------
    @property
    def undo_stack(self):
        return self.session.undo_stack

    @property
    def brush_radius(self) -> float:
        return self.session.brush_radius

    @property
    def _selected(self) -> list[int]:
        return self.session.selection

    @property
    def _locked(self) -> frozenset[int]:
        return self.session.locked_annotations

    # ---- project and image -------------------------------------------------------------------
    def set_store(self, store: Store | None) -> None:
        """Open `store` in this canvas's session (None: forget it; the caller closes its store)."""
        if store is None:
            self.session.close(close_store=False)
        else:
            self.session.open(store)

    def _attach(self, store: Store | None) -> None:
        self._tool.cancel()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._clear_image()
        self._cache.clear()
        self._prefetch.attach(store)
        self.store = store
        self._fitted_size = None
        if store is not None:
            self._unlisten = commands.listen(store, self._refresh_ids)
            self._reload_categories()

    @property
    def current_image_id(self) -> int | None:
        return None if self.image is None else self.image.id

    def show_image(self, image_id: int, highlight: Iterable[int] = ()) -> None:
        """Make `image_id` the session's image and select (and reveal) the `highlight` shapes."""
        if self.store is None:
            return
        self.session.set_image(int(image_id))
        if self.image is None or self.image.id != image_id:
            self._follow_image(int(image_id))
        highlight = list(highlight)
        if highlight:
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

    def _after_frame(self) -> None:
        if self._pending_items is not None and not self._items_timer.isActive():
            self._items_timer.start()

    def finish_items(self) -> None:
        """Make the current image's pending items now (benchmarks; everything inside the canvas that
        needs them makes them itself)."""
        self._complete_items()

    def _clear_image(self) -> None:
        self._tool.cancel()
        self._remove_items()
        self._live.clear()
        self._suppressed.clear()
        self.image = None
        self._layer.set_size(0, 0)
        self._notice.hide()
        self._shapes_failed = False
        self._handles.set_shapes([], self.zoom())
        if self._selected:
            self.session.select([])

    def _on_image_decoded(self, image_id: int, decoded: DecodedImage) -> None:
        if self.image is not None and self.image.id == image_id:
            self._layer.set_image(decoded)
            if not self._shapes_failed:  # that notice stays: the pixels show, the shapes do not
                self._notice.hide()
            if (decoded.width, decoded.height) != (self.image.width, self.image.height):
                self._say(f"{self.image.file_name} is {decoded.width} x {decoded.height} pixels but the project "
                          f"records {self.image.width} x {self.image.height}; shapes use the recorded size.")
            self.image_loaded.emit(image_id)

    def _on_image_failed(self, image_id: int, message: str) -> None:
        if self.image is not None and self.image.id == image_id:
            self._show_notice(f"Cannot show {self.image.file_name}:\n{message}")
            self.image_failed.emit(image_id, message)

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
        if self._fit_mode:
            self.fit()
        self._apply_cache_policy()
        if self._notice.isVisible():
            self._place_notice()

    def closeEvent(self, ev) -> None:
        self._tool.cancel()
        self._cache.shutdown()
        self._prefetch.stop()
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

    def set_current_category(self, category_id: int | None) -> None:
        self.session.set_current_category(category_id)

    def current_category(self) -> int | None:
        known = [cid for cid, _ in self._ctx.names]
        if self.session.current_category in known:
            return self.session.current_category
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

    # ---- for tools -------------------------------------------------------------------------------
    def push(self, cmd: commands.StoreCommand) -> None:
        self.undo_stack.push(cmd)
        if cmd.error:
            self._say(cmd.error)

    def hit(self, pos: QPointF, kinds: tuple[str, ...] | None = None) -> AnnotationItem | None:
        """The topmost visible, unlocked shape under `pos` (image pixels)."""
        self._complete_items()
        for item in self.scene.items(pos, Qt.IntersectsItemBoundingRect, Qt.DescendingOrder):
            if not isinstance(item, AnnotationItem) or not item.isVisible():
                continue
            if item.ann_id in self._locked or (kinds is not None and item.ann.kind not in kinds):
                continue
            if item.hit(pos):
                return item
        return None

    def ids_in_rect(self, rect: QRectF) -> list[int]:
        self._complete_items()
        return [it.ann_id for it in self.scene.items(rect, Qt.ContainsItemShape, Qt.AscendingOrder)
                if isinstance(it, AnnotationItem) and it.isVisible() and it.ann_id not in self._locked]

    def offset_items(self, ids: Iterable[int], dx: float, dy: float) -> None:
        """Show items moved by (dx, dy) without touching the store (drag preview)."""
        ids = list(ids)
        for i in ids:
            if i in self._items:
                self._items[i].setPos(dx, dy)
        self._handles.setPos(dx, dy)
        self._captions.follow(ids)

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
        self.session.set_tool(name)

    def _on_tool(self, name: str) -> None:
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
        self.session.set_brush_radius(px)

    # ---- view ------------------------------------------------------------------------------------------







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
        plain = not (ev.modifiers() & ~Qt.KeypadModifier)
        return bool(self._selected) and (ev.key() in self._ARROWS or (
            plain and ev.key() in (Qt.Key_Delete, Qt.Key_Escape, Qt.Key_Return, Qt.Key_Enter)))

    def key_press(self, ev) -> bool:
        if self._tool.key_press(ev):
            return True
        key = ev.key()
        if key in self._ARROWS and self._selected:
            step = 10 if ev.modifiers() & Qt.ShiftModifier else 1
            dx, dy = self._ARROWS[key]
            self.nudge(dx * step, dy * step)
            return True
        if ev.modifiers() & ~Qt.KeypadModifier or not self._selected:
            return False  # Shift+Del, Ctrl+Shift+Del, Shift+Return: the window's commands
        if key == Qt.Key_Delete:
            self.delete_selection()
            return True
        if key == Qt.Key_Escape:  # as in labelme and CVAT: Esc deselects
            self.session.select([])
            return True
        if key in (Qt.Key_Return, Qt.Key_Enter):
            self.label_requested.emit(list(self._selected))
            return True
        return False
