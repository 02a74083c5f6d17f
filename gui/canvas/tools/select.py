"""Select and edit: click/Shift-click/rubber band to select; drag to move; drag handles to resize a
box or move a polygon vertex; press on a polygon edge to insert a vertex there (and drag it);
Alt-click a vertex to delete it. A shape too small on screen for its handles (shapes.handles_have_room)
is moved whole by a press anywhere on it."""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath

from annotations.model import BOX, MASK, POLYGON

from ...commands import ChangeAnnotations, RemoveAnnotations
from .. import shapes
from ..items import HANDLE_PX, PreviewPath
from .base import Tool


class SelectTool(Tool):
    name = "select"

    def __init__(self, canvas):
        super().__init__(canvas)
        self._drag: dict | None = None
        self._band: PreviewPath | None = None

    @property
    def busy(self) -> bool:
        return self._drag is not None

    # ---- press ------------------------------------------------------------------------------
    def press(self, pos: QPointF, ev) -> None:
        if ev.button() != Qt.LeftButton or self.canvas.image is None:
            return
        c = self.canvas
        x, y = pos.x(), pos.y()
        tol = HANDLE_PX / c.zoom()
        mods = ev.modifiers()
        editable = c.selected_annotations(editable=True)
        for ann in editable:
            if ann.kind == POLYGON:
                v = shapes.vertex_at(ann, x, y, tol)
                if v is not None and shapes.handles_have_room(ann, tol):
                    if mods & Qt.AltModifier:
                        self._delete_vertex(ann, *v)
                    else:
                        self._drag = {"mode": "vertex", "before": ann, "base": ann, "vertex": v, "now": ann}
                    return
            elif ann.kind == BOX:
                for i, (hx, hy) in enumerate(shapes.box_handles(ann.bbox)):
                    if math.hypot(hx - x, hy - y) <= tol and shapes.handles_have_room(ann, tol):
                        self._drag = {"mode": "resize", "before": ann, "handle": i, "now": ann}
                        return
        for ann in editable:
            if ann.kind == POLYGON:
                e = shapes.edge_at(ann, x, y, tol / 2)
                if e is not None and shapes.handles_have_room(ann, tol):
                    ring, after, px, py = e
                    base = shapes.inserted_vertex(ann, ring, after, px, py)
                    self._drag = {"mode": "vertex", "before": ann, "base": base, "vertex": (ring, after + 1),
                                  "now": base}
                    c.preview_annotation(base)
                    return
        item = c.hit(pos)
        shift = bool(mods & Qt.ShiftModifier)
        if item is not None:
            ann_id = item.ann_id
            selected = c.selected_ids()
            if shift:
                c.select_annotations([i for i in selected if i != ann_id] if ann_id in selected
                                     else selected + [ann_id])
                if ann_id in selected:
                    return
            elif ann_id not in selected:
                c.select_annotations([ann_id])
            movable = c.selected_annotations(editable=True)
            if movable:
                self._drag = {"mode": "move", "origin": pos, "before": movable, "delta": (0.0, 0.0)}
            return
        if not shift:
            c.select_annotations([])
        self._band = PreviewPath()
        c.scene.addItem(self._band)
        self._drag = {"mode": "band", "origin": pos, "add": shift}

    def double_click(self, pos: QPointF, ev) -> None:
        """A double-click on a shape selects it and asks for its label (the label dialog)."""
        c = self.canvas
        item = c.hit(pos)
        if item is not None:
            if item.ann_id not in c.selected_ids():
                c.select_annotations([item.ann_id])
            c.label_requested.emit(c.selected_ids())

    # ---- move -------------------------------------------------------------------------------
    def move(self, pos: QPointF, ev) -> None:
        d = self._drag
        if d is None:
            self._hover(pos)
            return
        c = self.canvas
        w, h = c.image.width, c.image.height
        mode = d["mode"]
        if mode == "move":
            dx, dy = pos.x() - d["origin"].x(), pos.y() - d["origin"].y()
            dx, dy = shapes.clamped_delta(_union(d["before"]), dx, dy, w, h)
            if any(a.kind == MASK for a in d["before"]):
                dx, dy = round(dx), round(dy)
            d["delta"] = (dx, dy)
            c.offset_items([a.id for a in d["before"]], dx, dy)
        elif mode == "resize":
            d["now"] = shapes.resized_box(d["before"], d["handle"], pos.x(), pos.y(), w, h)
            c.preview_annotation(d["now"])
        elif mode == "vertex":
            ring, index = d["vertex"]
            d["now"] = shapes.moved_vertex(d["base"], ring, index, pos.x(), pos.y(), w, h)
            c.preview_annotation(d["now"])
        elif mode == "band":
            path = QPainterPath()
            path.addRect(QRectF(d["origin"], pos).normalized())
            self._band.setPath(path)

    # ---- release ----------------------------------------------------------------------------
    def release(self, pos: QPointF, ev) -> None:
        d, self._drag = self._drag, None
        if d is None:
            return
        c = self.canvas
        mode = d["mode"]
        if mode == "move":
            ids = [a.id for a in d["before"]]
            c.offset_items(ids, 0, 0)
            dx, dy = d["delta"]
            if dx or dy:
                w, h = c.image.width, c.image.height
                after = [shapes.translated(a, dx, dy, w, h) for a in d["before"]]
                c.push(ChangeAnnotations(c.store, d["before"], after, "Move"))
        elif mode in ("resize", "vertex"):
            now, before = d["now"], d["before"]
            x, y, bw, bh = now.bbox
            if now is before or bw < 1 or bh < 1:
                c.preview_annotation(before)  # nothing, or a degenerate shape: keep the original
            else:
                c.push(ChangeAnnotations(c.store, [before], [now], "Resize" if mode == "resize" else "Edit vertex"))
        elif mode == "band":
            rect = QRectF(d["origin"], pos).normalized()
            self._remove_band()
            ids = c.ids_in_rect(rect)
            c.select_annotations((c.selected_ids() + [i for i in ids if i not in c.selected_ids()])
                                 if d["add"] else ids)

    def _hover(self, pos: QPointF) -> None:
        """Cursor says what a press would do: a handle or vertex, a shape to move, or nothing."""
        c = self.canvas
        if c.image is None:
            return
        x, y = pos.x(), pos.y()
        tol = HANDLE_PX / c.zoom()
        cursor = Qt.ArrowCursor
        for ann in c.selected_annotations(editable=True):
            if ann.kind == POLYGON and (shapes.vertex_at(ann, x, y, tol) or shapes.edge_at(ann, x, y, tol / 2)):
                if shapes.handles_have_room(ann, tol):
                    cursor = Qt.CrossCursor
            elif ann.kind == BOX and any(math.hypot(hx - x, hy - y) <= tol for hx, hy in shapes.box_handles(ann.bbox)):
                if shapes.handles_have_room(ann, tol):
                    cursor = Qt.SizeAllCursor
        if cursor == Qt.ArrowCursor and c.hit(pos) is not None:
            cursor = Qt.OpenHandCursor
        c.set_view_cursor(cursor)

    def _delete_vertex(self, ann, ring: int, index: int) -> None:
        c = self.canvas
        after = shapes.deleted_vertex(ann, ring, index)
        if after is None:
            c.push(RemoveAnnotations(c.store, [ann], "Delete shape"))
        else:
            c.push(ChangeAnnotations(c.store, [ann], [after], "Delete vertex"))

    def key_press(self, ev) -> bool:
        if ev.key() == Qt.Key_Escape:
            if self._drag is not None:
                self.cancel()
            else:
                self.canvas.select_annotations([])
            return True
        return False

    def _remove_band(self) -> None:
        if self._band is not None:
            if self._band.scene() is not None:
                self._band.scene().removeItem(self._band)
            self._band = None

    def cancel(self) -> None:
        d, self._drag = self._drag, None
        self._remove_band()
        if d is None:
            return
        if d["mode"] == "move":
            self.canvas.offset_items([a.id for a in d["before"]], 0, 0)
        elif d["mode"] in ("resize", "vertex"):
            self.canvas.preview_annotation(d["before"])


def _union(anns) -> tuple[float, float, float, float]:
    x0 = min(a.bbox[0] for a in anns)
    y0 = min(a.bbox[1] for a in anns)
    x1 = max(a.bbox[0] + a.bbox[2] for a in anns)
    y1 = max(a.bbox[1] + a.bbox[3] for a in anns)
    return (x0, y0, x1 - x0, y1 - y0)
