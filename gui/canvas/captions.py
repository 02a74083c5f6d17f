"""Category names drawn on shapes: one layer item paints every caption in screen pixels, so a
caption is the same size at every zoom and costs nothing per shape in the scene's index.

Captions never pile up: a prediction scoring under the caption threshold, a shape smaller than
MIN_SHAPE_PX on screen, or a caption that would cover one already placed (bigger shapes are placed
first) is shown only while its shape is hovered or selected, drawn on top. A label's name sits above
its top-left corner, a prediction's below its bottom-left one, so a prediction on the object it found
does not cover the label's name. The layout depends on the zoom only and is kept until the zoom or
the shapes change; what the viewport shows is drawn once into an image and blitted after that.

    canvas.set_captions_shown(False)            # the View menu toggle (make_caption_action)
    canvas.set_caption_threshold(0.5)           # e.g. the Model panel's score threshold
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, QSettings, Qt
from PySide6.QtGui import QAction, QColor, QFontMetricsF, QImage, QPainter, QPen, QRegion, QTransform
from PySide6.QtWidgets import QApplication, QGraphicsItem

from annotations.model import PREDICTION

from .painting import RenderContext, appearance
from .shapes_layer import ZoomSettle

MIN_SHAPE_PX = 16  # a shape smaller than this on screen (both sides) is captioned only when emphasised
PAD = 3
MAX_CAPTION_PX = 400  # no caption is wider (coarse clipping before measuring)
Z_CAPTIONS = 5e8  # above every shape, below the selection handles
CELL_PX = 64  # grid of the overlap test
SETTINGS_KEY = "view/captions"
MAX_SPRITES = 2048  # caption tags kept drawn (text and colour); the whole set is dropped past this
_TEXT_FLAGS = Qt.AlignVCenter | Qt.AlignLeft


class CaptionsLayer(QGraphicsItem):
    """Paints the captions of the canvas's annotation items (`items`: the canvas's id -> item dict,
    read, never changed). Call changed() after items were added, removed, hidden or reshaped."""

    def __init__(self, items: dict, owner: QObject):
        """`owner` (the canvas) holds the zoom settle timer."""
        super().__init__()
        self.setZValue(Z_CAPTIONS)
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self._items = items
        self._ctx = RenderContext()
        self._rect = QRectF()
        self._emphasised: set[int] = set()
        self._dirty = True
        self._ids = np.zeros(0, np.int64)
        self._boxes = np.zeros((0, 4))
        self._below = np.zeros(0, bool)
        self._quiet = np.zeros(0, bool)
        self._visible = np.zeros(0, bool)  # rows of hidden items stay, unshown: a hide or show is one flag
        self._texts: list[str] = []
        self._cats: list[int] = []
        self._w = np.zeros(0)
        self._row_of: dict[int, int] = {}  # annotation id -> its row in the arrays above
        self.rebuilds = 0  # full rebuilds of the rows, and whole drawings (tests and benchmarks read them)
        self.renders = 0
        self._layout_key = None
        self._placed = np.zeros((0, 4))
        self._placed_rows: set[int] = set()
        self.layouts = 0  # layouts computed (tests read it)
        self._widths: dict[str, float] = {}
        self.font = QApplication.font()
        self._fm = QFontMetricsF(self.font)
        self._height = self._fm.height() + 2
        self._generation = 0
        self._image: QImage | None = None
        self._image_key = None
        self._image_transform: QTransform | None = None  # the scene-to-device transform it was drawn at
        self.zoom_settle = ZoomSettle(owner, self._sharpen)
        self._patches: list[QRectF] | None = None  # device areas to draw again; None: the whole image
        self._shown: dict[int, tuple] = {}  # id -> (text, colour, device rectangle) as the image holds them
        self._sprites: dict[tuple, QImage] = {}

    # ---- state -----------------------------------------------------------------------------------
    def set_size(self, width: int, height: int) -> None:
        self.prepareGeometryChange()
        m = 0.1 * max(width, height) + 16  # captions of shapes at the edges stick out a little
        self._rect = QRectF(-m, -m, width + 2 * m, height + 2 * m) if width and height else QRectF()
        self.changed()

    def set_context(self, ctx: RenderContext) -> None:
        self._ctx = ctx
        self.changed()

    def changed(self) -> None:
        self._dirty = True
        self._generation += 1
        self._patches = None
        self.update()

    def reshaped(self, ann_id: int) -> None:
        """One item changed its annotation (an edit) or was hidden or shown (a tool's preview hides the
        shape it edits): its row alone is made again, where a full rebuild would read every item
        (thousands on a dense image); the layout follows."""
        row = self._row_of.get(ann_id) if not self._dirty else None
        item = self._items.get(ann_id)
        if row is None or item is None:
            self.changed()
            return
        a, look = item.ann, appearance(item.ann, self._ctx)
        if not look.caption:
            self.changed()
            return
        self._boxes[row] = a.bbox
        self._below[row] = a.status == PREDICTION
        self._quiet[row] = look.quiet
        self._visible[row] = item.isVisible()
        self._texts[row] = look.caption
        self._cats[row] = a.category_id
        self._w[row] = self._width(look.caption)
        self._relaid(row)

    def _relaid(self, row: int | None = None) -> None:
        if row is None or not self._still_unplaced(row):
            self._layout_key = None
        self._generation += 1
        if not self._patch_view():
            self._patches = None
            self.update()

    def _patch_view(self) -> bool:
        """After an edit: which captions of the view as drawn moved, came or went; only their areas
        are asked to be drawn again (an edit repaints its neighbourhood, not the whole view). False
        when the image is not the current view's: it is then drawn whole."""
        views = self.scene().views() if self.scene() is not None else []
        if self._patches is None or self._image is None or self._image_key is None or not views:
            return False
        t, port = views[0].viewportTransform(), views[0].viewport()
        if self._image_key[:6] != (t.m11(), t.m22(), t.dx(), t.dy(), port.width(), port.height()):
            return False
        new = {i: (text, color.rgba(), rect) for i, text, color, rect in
               self.placements(t, QRectF(0, 0, port.width(), port.height()))}
        old, self._shown = self._shown, new
        rects = [v[2] for i, v in old.items() if new.get(i) != v] + [v[2] for i, v in new.items() if old.get(i) != v]
        self._patches += rects
        back = t.inverted()[0]
        for r in rects:
            self.update(back.mapRect(r.adjusted(-PAD, -PAD, PAD, PAD)))
        return True

    def set_emphasised(self, ids: Iterable[int]) -> None:
        ids = set(ids)
        if ids != self._emphasised:
            self._emphasised = ids
            self._generation += 1
            self._patches = None
            self.update()

    def set_columns(self, ids: np.ndarray, boxes: np.ndarray, looks: list, below: np.ndarray,
                    visible: np.ndarray, cats: np.ndarray) -> None:
        """The rows of these shapes, by id, in place of the items' (a switch draws its first frame
        before the items are made; the items give the same rows): `looks` their appearances, `below`
        whether each is a prediction (captioned under its box), `visible` whether it is shown."""
        self._take_columns(ids, boxes, looks, below, visible, cats)
        self._generation += 1
        self._patches = None
        self.update()

    def _rebuild(self) -> None:
        # one pass over the items (thousands on a dense image), then arrays
        ctx = self._ctx
        items = list(self._items.items())
        anns = [it.ann for _, it in items]
        self._take_columns(np.fromiter((i for i, _ in items), np.int64, len(items)),
                           np.asarray([a.bbox for a in anns], float).reshape(-1, 4),
                           [appearance(a, ctx) for a in anns],
                           np.fromiter((a.status == PREDICTION for a in anns), bool, len(anns)),
                           np.fromiter((it.isVisible() for _, it in items), bool, len(items)),
                           np.fromiter((a.category_id for a in anns), np.int64, len(anns)))

    def _take_columns(self, ids, boxes, looks, below, visible, cats) -> None:
        rows = [k for k, look in enumerate(looks) if look.caption] if self._ctx.captions else []
        texts = [looks[k].caption for k in rows]
        widths = {t: self._width(t) for t in set(texts)}
        self._ids = np.asarray(ids, np.int64)[rows]
        self._boxes = np.asarray(boxes, float).reshape(-1, 4)[rows]
        self._below = np.asarray(below, bool)[rows]
        self._quiet = np.fromiter((looks[k].quiet for k in rows), bool, len(rows))
        self._visible = np.asarray(visible, bool)[rows]
        self._texts = texts
        self._cats = np.asarray(cats, np.int64)[rows].tolist()
        self._w = np.asarray([widths[t] for t in texts], float)
        self._row_of = dict(zip(self._ids.tolist(), range(len(rows))))
        self._dirty = False
        self.rebuilds += 1
        self._layout_key = None

    def _width(self, text: str) -> float:
        w = self._widths.get(text)
        if w is None:
            w = self._widths[text] = min(self._fm.horizontalAdvance(text) + 2 * PAD, MAX_CAPTION_PX)
        return w

    def _layout(self, sx: float, sy: float) -> np.ndarray:
        """Captions of shapes big enough on screen, placed greedily (bigger shapes first) where they
        overlap no caption already placed: rows of (index, x, y, width) in scene units times the
        zoom (device pixels up to the view's scroll offset). Depends on the zoom only, not on the
        part of the scene shown, so every partial repaint agrees."""
        key = (sx, sy)
        if self._layout_key == key:
            return self._placed
        b = self._boxes
        big = np.maximum(b[:, 2] * sx, b[:, 3] * sy) >= MIN_SHAPE_PX
        candidates = np.nonzero(big & ~self._quiet & self._visible)[0]
        order = candidates[np.argsort(-(b[candidates, 2] * b[candidates, 3]), kind="stable")]
        h = self._height
        xs = b[order, 0] * sx
        ys = np.where(self._below[order], (b[order, 1] + b[order, 3]) * sy, b[order, 1] * sy - h)
        ws = self._w[order]
        cells = [np.floor_divide(v, CELL_PX).astype(np.int64).tolist()
                 for v in (xs, xs + ws, ys, ys + h)]
        grid: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
        placed = []
        for k, x, y, w, cx0, cx1, cy0, cy1 in zip(order.tolist(), xs.tolist(), ys.tolist(), ws.tolist(), *cells):
            covered = [(cx, cy) for cx in range(cx0, cx1 + 1) for cy in range(cy0, cy1 + 1)]
            if _overlaps(grid, covered, x, y, w, h):
                continue  # it would cover a caption already placed: no pile of names
            for c in covered:
                grid.setdefault(c, []).append((x, y, w))
            placed.append((k, x, y, w))
        self._placed = np.asarray(placed, float).reshape(-1, 4)
        self._placed_rows = set(self._placed[:, 0].astype(np.int64).tolist())
        self._layout_key = key
        self.layouts += 1
        return self._placed

    def _still_unplaced(self, row: int) -> bool:
        """After `row` alone changed: True when the layout stands as it is. So when the row's caption
        was not placed and is not placed now (not a candidate, or it overlaps a placed caption that
        comes before it in the order): every other decision saw the same placed captions. On a
        dense image most captions are not placed, and most edits then lay out nothing."""
        if self._layout_key is None or row in self._placed_rows:
            return False
        sx, sy = self._layout_key
        bx, by, bw, bh = self._boxes[row]
        if max(bw * sx, bh * sy) < MIN_SHAPE_PX or self._quiet[row] or not self._visible[row]:
            return True
        placed, h = self._placed, self._height
        if not len(placed):
            return False
        x, w = bx * sx, self._w[row]
        y = (by + bh) * sy if self._below[row] else by * sy - h
        ks = placed[:, 0].astype(np.int64)
        area, areas = bw * bh, self._boxes[ks, 2] * self._boxes[ks, 3]
        before = (areas > area) | ((areas == area) & (ks < row))  # _layout's order: bigger first, then by row
        px, py, pw = placed[:, 1], placed[:, 2], placed[:, 3]
        return bool((before & (x < px + pw) & (px < x + w) & (y < py + h) & (py < y + h)).any())

    # ---- where captions go -------------------------------------------------------------------------
    def placements(self, t: QTransform, clip: QRectF) -> list[tuple[int, str, QColor, QRectF]]:
        """(annotation id, text, colour, rectangle in device pixels) of every caption shown under the
        scene-to-device transform `t` (scale and translation) that meets `clip` (device pixels):
        the laid-out ones, then the hovered and selected ones on top of them."""
        if self._dirty:
            self._rebuild()
        if not len(self._ids):
            return []
        h = self._height
        emphasised = set(np.nonzero(np.isin(self._ids, list(self._emphasised)) & self._visible)[0].tolist()) \
            if self._emphasised else set()
        out = []
        placed = self._layout(t.m11(), t.m22())
        if len(placed):
            x, y = placed[:, 1] + t.dx(), placed[:, 2] + t.dy()
            meets = ((x <= clip.right()) & (x + placed[:, 3] >= clip.left())
                     & (y <= clip.bottom()) & (y + h >= clip.top()))
            for row in np.nonzero(meets)[0].tolist():
                k = int(placed[row, 0])
                if k not in emphasised:
                    out.append((k, QRectF(x[row], y[row], placed[row, 3], h)))
        for k in sorted(emphasised):
            rect = self._emphasised_rect(k, t)
            if rect is not None and rect.intersects(clip):
                out.append((k, rect))
        return [(int(self._ids[k]), self._texts[k], self._ctx.color(self._cats[k]), rect) for k, rect in out]

    def _emphasised_rect(self, k: int, t: QTransform) -> QRectF | None:
        """Device rectangle of row k's caption drawn on top (hovered or selected), where its item is
        now: a shape being dragged is shown moved by its item's pos."""
        item = self._items.get(int(self._ids[k]))
        if item is None:
            return None
        bx, by, _, bh = self._boxes[k]
        below, h = bool(self._below[k]), self._height
        anchor = t.map(QPointF(bx, by + bh * below) + item.pos())
        return QRectF(anchor.x(), anchor.y() if below else anchor.y() - h, self._width(self._texts[k]), h)

    def follow(self, ids: Iterable[int]) -> None:
        """Shapes `ids` are drawn moved (a drag): where their captions were drawn and where they go
        are painted again. The scene repaints only the moved items' own areas, and a caption wider
        or higher than its shape left a piece of itself behind and showed cut at its new place."""
        views = self.scene().views() if self.scene() is not None else []
        if not views or self._dirty:
            return
        t = views[0].viewportTransform()
        back = t.inverted()[0]
        for i in ids:
            k = self._row_of.get(i)
            if k is None or i not in self._emphasised:
                continue
            rects = [self._emphasised_rect(k, t)] + ([self._shown[i][2]] if i in self._shown else [])
            for r in rects:
                if r is not None:
                    self.update(back.mapRect(r.adjusted(-PAD, -PAD, PAD, PAD)))

    # ---- QGraphicsItem -----------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        # The captions of the whole viewport are drawn once into an image, then every repaint that
        # changes nothing here (cursor, handles, tool previews) is one blit of the part exposed.
        t = painter.worldTransform()
        device = painter.device()
        w, h = device.width(), device.height()
        if w <= 0 or h <= 0:
            return
        moved = tuple((i, self._items[i].pos().toTuple()) for i in sorted(self._emphasised) if i in self._items)
        key = (t.m11(), t.m22(), t.dx(), t.dy(), w, h, self._generation, moved)
        if key != self._image_key:
            old = self._image_key
            if self._patches is not None and self._image is not None and old is not None \
                    and old[:6] == key[:6] and old[7] == key[7]:  # the same view: an edit's areas only
                self._draw_patches(t)
                self._image_key = key
            elif self._image is not None and old is not None and old[4:] == key[4:] \
                    and ZoomSettle.may_scale(old[0], t.m11()):
                # only the view moved (a zoom step, a pan): the captions drawn for the previous view,
                # moved with it, until the view rests (captions.py's layout costs most of a frame)
                self._draw_moved(painter, t)
                self.zoom_settle.start()
                return
            else:
                self.zoom_settle.stop()
                self._image = self._render(t, w, h, device.devicePixelRatioF())
                self._image_key = key
                self._image_transform = QTransform(t)
                self._patches = []
        if self._image is None:
            return
        clip = t.mapRect(option.exposedRect).adjusted(-1, -1, 1, 1).intersected(QRectF(0, 0, w, h))
        painter.save()
        painter.resetTransform()  # device pixels: the same size at every zoom
        ratio = self._image.devicePixelRatioF()
        painter.drawImage(clip, self._image, QRectF(clip.x() * ratio, clip.y() * ratio,
                                                    clip.width() * ratio, clip.height() * ratio))
        painter.restore()

    def _sharpen(self) -> None:
        self._image_key = None  # drawn again for the view as it is now
        self.update()

    def _draw_moved(self, painter: QPainter, t: QTransform) -> None:
        """The captions image of the previous view, mapped to the current one."""
        ratio = self._image.devicePixelRatioF()
        painter.save()
        painter.setTransform(QTransform.fromScale(1 / ratio, 1 / ratio) * self._image_transform.inverted()[0] * t)
        r = QRectF(self._image.rect())
        painter.drawImage(r, self._image, r)
        painter.restore()

    def _render(self, t: QTransform, w: int, h: int, ratio: float) -> QImage | None:
        self.renders += 1
        shown = self.placements(t, QRectF(0, 0, w, h))
        self._shown = {i: (text, color.rgba(), rect) for i, text, color, rect in shown}
        if not shown:
            return None
        image = QImage(int(w * ratio), int(h * ratio), QImage.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(0)
        p = QPainter(image)
        self._draw_tags(p, shown, ratio)
        p.end()
        return image

    def _draw_patches(self, t: QTransform) -> None:
        """Draw the areas an edit changed again, from every caption meeting them (clipped to them,
        so the rest of the image stays as it was and equals a whole drawing)."""
        region = QRegion()
        for r in self._patches:
            region += QRegion(r.adjusted(-PAD, -PAD, PAD, PAD).toAlignedRect())
        self._patches = []
        if region.isEmpty():
            return
        p = QPainter(self._image)
        p.setClipRegion(region)
        p.setCompositionMode(QPainter.CompositionMode_Source)
        p.fillRect(region.boundingRect(), Qt.transparent)
        p.setCompositionMode(QPainter.CompositionMode_SourceOver)
        self._draw_tags(p, self.placements(t, QRectF(region.boundingRect())), self._image.devicePixelRatioF())
        p.end()

    def _draw_tags(self, p: QPainter, shown: list, ratio: float) -> None:
        for _, text, color, rect in shown:  # each tag a blit of its sprite, at whole device pixels
            sprite = self._sprite(text, color, rect.width(), ratio)
            p.drawImage(QPointF(round(rect.x() * ratio) / ratio, round(rect.y() * ratio) / ratio), sprite)

    def _sprite(self, text: str, color: QColor, width: float, ratio: float) -> QImage:
        """The tag of one caption (frame, dark fill, white text) drawn once and kept: captions of a
        category look alike, and a blit costs a fraction of drawing the text again each frame."""
        key = (text, color.rgba(), width, ratio)
        sprite = self._sprites.get(key)
        if sprite is not None:
            return sprite
        if len(self._sprites) > MAX_SPRITES:
            self._sprites.clear()
        h = self._height
        sprite = QImage(math.ceil((width + 1) * ratio), math.ceil((h + 1) * ratio), QImage.Format_ARGB32_Premultiplied)
        sprite.setDevicePixelRatio(ratio)
        sprite.fill(0)
        p = QPainter(sprite)
        p.setFont(self.font)
        rect = QRectF(0, 0, width, h)
        tag = QColor(color).darker(180)
        tag.setAlpha(215)
        p.setPen(QPen(color, 1))
        p.setBrush(tag)
        p.drawRect(rect)
        p.setPen(QColor("white"))
        p.drawText(rect.adjusted(PAD, 0, 0, 0), _TEXT_FLAGS, text)
        p.end()
        self._sprites[key] = sprite
        return sprite


def _overlaps(grid: dict, cells: list, x: float, y: float, w: float, h: float) -> bool:
    for c in cells:
        placed = grid.get(c)
        if placed:
            for ox, oy, ow in placed:
                if x < ox + ow and ox < x + w and y < oy + h and oy < y + h:
                    return True
    return False


def saved_captions_shown() -> bool:
    return str(QSettings().value(SETTINGS_KEY, "true")).lower() in ("true", "1")


def make_caption_action(canvas, parent, keys: tuple[str, ...] | None = None) -> QAction:
    """A checkable "Show category names on shapes" action for the View menu; its state is kept in
    QSettings and applied to `canvas` at once. Its default key is the registry's "view.captions"."""
    from .. import shortcuts
    act = QAction(shortcuts.COMMANDS_BY_ID["view.captions"].text, parent)
    act.setObjectName("view.captions")
    act.setCheckable(True)
    act.setShortcuts(shortcuts.key_sequences(keys if keys is not None else shortcuts.load_keymap()["view.captions"]))
    act.setChecked(saved_captions_shown())
    canvas.set_captions_shown(act.isChecked())

    def toggled(on: bool) -> None:
        QSettings().setValue(SETTINGS_KEY, "true" if on else "false")
        canvas.set_captions_shown(on)
    act.toggled.connect(toggled)
    return act
