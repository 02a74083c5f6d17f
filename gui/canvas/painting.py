"""How a shape looks: a pure function of (annotation, render context), plus caches for what is
expensive to build (the QPainterPath of an outline, the coloured QImage of a mask crop).

Items (items.py) ask `appearance()` for pen, brush and caption and keep the path they were given;
painting itself then runs in Qt's C++ items, which is what keeps 2000 shapes under a frame.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainterPath, QPen, QPolygonF

from annotations import geometry
from annotations.model import MASK, PREDICTION, Annotation
from annotations.outlines import drawn_rings

from ..palette import category_color

FILL_ALPHA = 60
MASK_ALPHA = 110
QUIET_PEN_ALPHA = 80  # outline of a prediction under the caption threshold (no fill)
PREDICTION_MASK_ALPHA = 70


@dataclass(frozen=True)
class RenderContext:
    """Everything besides the shape that decides how it is drawn."""
    colors: tuple[tuple[int, str], ...] = ()  # (category id, "#rrggbb")
    names: tuple[tuple[int, str], ...] = ()  # (category id, name)
    captions: bool = True  # category names drawn on shapes
    caption_threshold: float = 0.5  # predictions scoring less are captioned only when hovered or selected

    def color(self, category_id: int) -> QColor:
        known = self._colors.get(category_id)
        if known is None:
            known = self._colors[category_id] = category_color(category_id, dict(self.colors).get(category_id, ""))
        return QColor(known)  # a copy: callers may change theirs

    def name(self, category_id: int) -> str:
        return self._names.get(category_id, str(category_id))

    @cached_property
    def _colors(self) -> dict[int, QColor]:  # filled as asked (a context is made per category change)
        return {}

    @cached_property
    def _names(self) -> dict[int, str]:
        return dict(self.names)


@dataclass(frozen=True)
class Appearance:
    pen: QPen
    brush: QBrush
    caption: str  # "" = none; labels show their category, predictions also their score
    thin_pen: QPen  # the same pen one pixel wide (drawn zoomed out)
    key: tuple  # equal keys draw alike
    quiet: bool = False  # a prediction under the caption threshold: faint, captioned only when hovered or selected

    @property
    def style(self) -> tuple:
        """What the shapes layer draws an outline with (shapes_layer.draw_outlines)."""
        return self.key, self.pen, self.thin_pen, self.brush


def appearance(ann: Annotation, ctx: RenderContext) -> Appearance:
    """How `ann` is drawn in `ctx` (pure; memoised, as every label of a category looks the same)."""
    return appearance_of(look_key(ann.category_id, ann.status, ann.kind, ann.score), ctx)


def appearance_of(key: tuple, ctx: RenderContext) -> Appearance:
    """appearance() from what decides it (look_key), for shapes read as arrays (first_frame.py)."""
    if ctx is not _CURRENT[0]:  # hashing the context costs more than the rest: once per context
        if len(_APPEARANCES) > 64:
            _APPEARANCES.clear()
        _CURRENT[:] = [ctx, _APPEARANCES.setdefault(ctx, {})]
    table = _CURRENT[1]
    look = table.get(key)
    if look is None:
        if len(table) > 4096:
            table.clear()
        look = table[key] = _appearance(key, ctx)
    return look


def own_appearances(ctx: RenderContext):
    """appearance() in `ctx` for another thread (the prefetch worker): memoised in a table of its
    own, as the module's memo belongs to the GUI thread."""
    table: dict[tuple, Appearance] = {}

    def look(ann: Annotation) -> Appearance:
        key = look_key(ann.category_id, ann.status, ann.kind, ann.score)
        found = table.get(key)
        if found is None:
            found = table[key] = _appearance(key, ctx)
        return found
    return look


def look_key(category_id: int, status: str, kind: str, score: float | None) -> tuple:
    """What decides a shape's appearance besides the context (a label's score does not)."""
    return category_id, status, kind, score if status == PREDICTION else None


_APPEARANCES: dict[RenderContext, dict[tuple, Appearance]] = {}
_CURRENT: list = [None, {}]  # the context asked last and its table


def _appearance(key: tuple, ctx: RenderContext) -> Appearance:
    category_id, status, kind, score = key
    color = ctx.color(category_id)
    pen = QPen(color, 2)
    pen.setCosmetic(True)  # same width on screen at every zoom
    fill = QColor(color)
    fill.setAlpha(FILL_ALPHA)
    caption = ctx.name(category_id) if ctx.captions else ""
    quiet = False
    if status == PREDICTION:
        pen.setStyle(Qt.DashLine)
        fill.setAlpha(FILL_ALPHA // 2)
        quiet = score is not None and score < ctx.caption_threshold
        if quiet:  # under the threshold: drawn faint, so that the detections that count stand out
            faint = QColor(color)
            faint.setAlpha(QUIET_PEN_ALPHA)
            pen.setColor(faint)
        if caption and score is not None:
            caption += f" {score:.2f}"
    brush = QBrush(Qt.NoBrush) if kind == MASK or quiet else QBrush(fill)
    thin = QPen(pen)
    thin.setWidth(0)
    style_key = (pen.color().rgba(), int(pen.style().value), brush.color().rgba(), int(brush.style().value))
    return Appearance(pen, brush, caption, thin, style_key, quiet)


def outline_path(ann: Annotation) -> QPainterPath:
    """Boxes and polygons (rings unioned, holes cut) as one path in image pixels: the same path as
    outline_paths([ann])[0], built point by point (for one shape, a tenth of the batch's fixed cost)."""
    rings = drawn_rings(ann.polygons, ann.holes)
    path = QPainterPath()
    if not rings:
        path.addRect(QRectF(*ann.bbox))
        return path
    for ring in rings:  # each ring back to its start, as the batch's buffer has it
        path.moveTo(ring[0], ring[1])
        for k in range(2, len(ring) - 1, 2):
            path.lineTo(ring[k], ring[k + 1])
        path.lineTo(ring[0], ring[1])
    return path


_ELEMENT = np.dtype([("type", ">i4"), ("x", ">f8"), ("y", ">f8")])  # QDataStream form of a path element


def outline_paths(anns: list[Annotation]) -> list[QPainterPath]:
    """outline_path for many annotations at once (ring_paths)."""
    paths: list[QPainterPath | None] = [None] * len(anns)
    owners, rings_of, ring_lists = [], [], []  # annotation index, its ring count, the rings (flat lists)
    for i, ann in enumerate(anns):
        rings = drawn_rings(ann.polygons, ann.holes)
        if rings:
            owners.append(i)
            rings_of.append(len(rings))
            ring_lists += rings
        else:
            paths[i] = box_path(ann.bbox)
    if owners:
        lengths = np.fromiter((len(r) // 2 for r in ring_lists), np.int64, len(ring_lists))
        pts = np.fromiter(itertools.chain.from_iterable(r[:2 * (len(r) // 2)] for r in ring_lists), np.float64)
        for i, path in zip(owners, ring_paths(rings_of, lengths, pts.reshape(-1, 2))):
            paths[i] = path
    return paths


def outline_paths_by_id(anns: list[Annotation]) -> dict[int, QPainterPath]:
    """The outline paths of these annotations' boxes and polygons (masks have none), by id."""
    outlined = [a for a in anns if a.kind != MASK]
    return dict(zip((a.id for a in outlined), outline_paths(outlined)))


def box_path(bbox) -> QPainterPath:
    path = QPainterPath()
    path.addRect(QRectF(*bbox))
    return path


def ring_paths(rings_of: list[int], lengths: np.ndarray, pts: np.ndarray) -> list[QPainterPath]:
    """One path per owner, from its `rings_of[k]` rings (`lengths`: each ring's point count, `pts`:
    the (n, 2) points of every ring in turn), each ring closed back to its start.

    The paths are read from one QDataStream buffer built with numpy (Qt's own serialised form
    of QPainterPath: element count, then (type, x, y) per element, then the current subpath start
    and the fill rule), several times faster than building QPointF lists in Python for images with
    thousands of vertices.
    """
    lengths = np.asarray(lengths, np.int64)
    rings_of = np.asarray(rings_of, np.int64)
    if not len(rings_of):
        return []
    ring_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    closed = np.insert(pts, np.cumsum(lengths), pts[ring_starts], axis=0)  # each ring back to its start
    elements = np.zeros(len(closed), _ELEMENT)
    elements["type"] = 1  # LineToElement
    elements["x"], elements["y"] = closed[:, 0], closed[:, 1]
    starts = np.concatenate([[0], np.cumsum(lengths + 1)])  # each ring's first element
    elements["type"][starts[:-1]] = 0  # MoveToElement
    # Every field is a multiple of 4 bytes: the buffer as big-endian int32 words, per path its element
    # count, 5 words per element, then its current subpath start (its last ring's) and the fill rule.
    first = np.concatenate([[0], np.cumsum(rings_of)[:-1]])  # each path's first ring
    count = starts[first + rings_of] - starts[first]
    c_start = starts[first + rings_of - 1] - starts[first]
    head = np.concatenate([[0], np.cumsum(5 * count + 3)[:-1]])  # each path's first word
    words = np.empty(int((5 * count + 3).sum()), ">i4")
    body = np.ones(len(words), bool)
    body[head] = body[head + 5 * count + 1] = body[head + 5 * count + 2] = False
    words[body] = elements.view(">i4")
    words[head], words[head + 5 * count + 1], words[head + 5 * count + 2] = count, c_start, 0  # OddEvenFill
    buffer = QByteArray(words.tobytes())
    stream = QDataStream(buffer, QIODevice.ReadOnly)
    paths = []
    for _ in rings_of:
        path = QPainterPath()
        stream >> path
        paths.append(path)
    return paths


def ring_polygons(lengths: np.ndarray, pts: np.ndarray) -> list[QPolygonF]:
    """One polygon per ring (`lengths`: each ring's point count, `pts`: the (n, 2) points of every
    ring in turn), read from one QDataStream buffer like ring_paths: Qt's serialised QPolygonF is
    its point count, then x, y per point (int32 and float64; little-endian here, numpy's own order).
    About half the cost of a path per ring: what the first frame draws (painter.drawPolygon fills
    and strokes as drawPath does a closed one-ring path)."""
    lengths = np.asarray(lengths, np.int64)
    if not len(lengths):
        return []
    head = np.concatenate([[0], np.cumsum(4 * lengths + 1)[:-1]])  # in int32 words: count, 4 per point
    words = np.empty(int((4 * lengths + 1).sum()), "<i4")
    body = np.ones(len(words), bool)
    body[head] = False
    words[body] = np.ascontiguousarray(pts, "<f8").view("<i4").ravel()
    words[head] = lengths
    buffer = QByteArray(words.tobytes())
    stream = QDataStream(buffer, QIODevice.ReadOnly)
    stream.setByteOrder(QDataStream.LittleEndian)
    polygons = []
    for _ in range(len(lengths)):
        polygon = QPolygonF()
        stream >> polygon
        polygons.append(polygon)
    return polygons


class MaskImageCache:
    """Coloured, semi-transparent QImages of mask crops, keyed by (RLE counts, colour)."""

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._images: OrderedDict[tuple, tuple[int, int, QImage]] = OrderedDict()

    def get(self, rle: dict, color: QColor, alpha: int) -> tuple[int, int, QImage]:
        key = (rle["counts"], tuple(rle["size"]), color.rgb(), alpha)
        hit = self._images.get(key)
        if hit is not None:
            self._images.move_to_end(key)
            return hit
        x0, y0, crop = geometry.crop_rle(rle)
        return self.put(rle, color, alpha, x0, y0, mask_image(crop, premultiplied(color, alpha)))

    def put(self, rle: dict, color: QColor, alpha: int, x0: int, y0: int, image: QImage) -> tuple[int, int, QImage]:
        """Hold an image of this mask made elsewhere (a brush stroke's own preview of its result:
        the pixels of the mask, transparent around them, at (x0, y0)), so that showing the edited
        mask decodes nothing."""
        made = (x0, y0, image)
        self._images[(rle["counts"], tuple(rle["size"]), color.rgb(), alpha)] = made
        if len(self._images) > self.capacity:
            self._images.popitem(last=False)
        return made


def premultiplied(color: QColor, alpha: int) -> int:
    """`color` at `alpha` as one ARGB32_Premultiplied pixel value."""
    return (alpha << 24) | (color.red() * alpha // 255 << 16) | (color.green() * alpha // 255 << 8) \
        | (color.blue() * alpha // 255)


def mask_image(crop: np.ndarray, argb_premultiplied: int) -> QImage:
    """A 0/1 crop as an ARGB32_Premultiplied QImage (the QImage owns a copy of the pixels)."""
    h, w = crop.shape
    if h == 0 or w == 0:
        return QImage()
    px = np.where(crop.astype(bool), np.uint32(argb_premultiplied), np.uint32(0)).astype(np.uint32)
    px = np.ascontiguousarray(px)
    return QImage(px.data, w, h, 4 * w, QImage.Format_ARGB32_Premultiplied).copy()


MASKS = MaskImageCache()
