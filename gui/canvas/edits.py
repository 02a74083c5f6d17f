"""Edit actions on the selection and on predictions, as undoable commands (a mixin of CanvasWidget:
it uses the canvas's store, image, items, selection and push)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from annotations import geometry
from annotations.model import BOX, HAND, LABEL, MASK, POLYGON, PREDICTION, Annotation
from annotations.store import copy_annotation

from ..commands import AcceptPredictions, AddAnnotations, ChangeAnnotations, RejectPredictions, RemoveAnnotations
from . import shapes

DUPLICATE_OFFSET = 10.0


def _fit_to_image(ann: Annotation, image_id: int, width: int, height: int) -> Annotation | None:
    """A copy of `ann` as a new hand label on another image (clipped to its size), or None if
    nothing of it falls inside."""
    new = copy_annotation(ann, id=None, image_id=image_id, status=LABEL, source=HAND, score=None, run_id=None)
    if ann.kind == MASK and ann.rle is not None:
        x0, y0, crop = geometry.crop_rle(ann.rle)
        rle = geometry.paste_mask(x0, y0, crop, height, width)
        if geometry.rle_area(rle) == 0:
            return None
        new.rle, new.bbox, new.area = rle, geometry.rle_bbox(rle), geometry.rle_area(rle)
        return new
    if ann.kind == POLYGON and ann.polygons:
        rings = []
        for r in ann.polygons:
            p = np.asarray(r, float).reshape(-1, 2)
            p[:, 0] = p[:, 0].clip(0, width)
            p[:, 1] = p[:, 1].clip(0, height)
            rings.append(p.ravel().tolist())
        new.polygons, new.holes, new.area = rings, None if not ann.holes else new.holes, None
        new.bbox = geometry.polygon_bbox(rings)
    else:
        x, y, w, h = ann.bbox
        new.bbox, new.area = shapes.normalized_rect(x, y, x + w, y + h, width, height), None
    return new if new.bbox[2] > 0 and new.bbox[3] > 0 else None


class EditActions:
    # ---- clipboard ----------------------------------------------------------------------------
    def copy_selection(self) -> int:
        """Copy the selected shapes (kept across images); returns how many."""
        self._clipboard = [copy_annotation(a) for a in self.selected_annotations()]
        return len(self._clipboard)

    def paste(self) -> list[int]:
        """Paste the copied shapes onto the current image at the same place, as hand labels."""
        return self._add_copies(self._clipboard, 0.0, "Paste")

    def duplicate_selection(self) -> list[int]:
        return self._add_copies(self.selected_annotations(), DUPLICATE_OFFSET, "Duplicate")

    def _add_copies(self, anns: Iterable[Annotation], offset: float, text: str) -> list[int]:
        img = self.image
        if img is None or self.store is None:
            return []
        new = []
        for a in anns:
            c = _fit_to_image(a, img.id, img.width, img.height)
            if c is not None and offset:
                c = shapes.translated(c, offset, offset, img.width, img.height)
            if c is not None:
                new.append(c)
        if not new:
            return []
        cmd = AddAnnotations(self.store, new, text)
        self.push(cmd)
        self.select_annotations(cmd.ids)
        return cmd.ids

    # ---- selection edits ------------------------------------------------------------------------
    def delete_selection(self) -> None:
        anns = self.selected_annotations(editable=True)
        if anns:
            self.push(RemoveAnnotations(self.store, anns, "Delete"))

    def nudge(self, dx: float, dy: float) -> None:
        anns = self.selected_annotations(editable=True)
        if not anns or self.image is None:
            return
        w, h = self.image.width, self.image.height
        after = [shapes.translated(a, dx, dy, w, h) for a in anns]
        cmd = ChangeAnnotations(self.store, anns, after, "Nudge")
        if not cmd.empty:
            self.push(cmd)

    def relabel(self, ids: Iterable[int], category_id: int) -> None:
        anns = [a for a in self._annotations(ids) if a.category_id != category_id]
        if anns:
            self.push(ChangeAnnotations(self.store, anns, [copy_annotation(a, category_id=category_id) for a in anns],
                                        "Relabel"))

    def polygon_to_mask(self, ids: Iterable[int]) -> None:
        img = self.image
        anns = [a for a in self._annotations(ids) if a.kind in (POLYGON, BOX)]
        if anns:
            after = [shapes.polygon_as_mask(a, img.width, img.height) for a in anns]
            self.push(ChangeAnnotations(self.store, anns, after, "Polygon to mask"))

    def mask_to_polygon(self, ids: Iterable[int]) -> None:
        pairs = [(a, shapes.mask_as_polygon(a)) for a in self._annotations(ids) if a.kind == MASK]
        pairs = [(a, b) for a, b in pairs if b is not None]
        if pairs:
            self.push(ChangeAnnotations(self.store, [a for a, _ in pairs], [b for _, b in pairs], "Mask to polygon"))

    def _annotations(self, ids: Iterable[int]) -> list[Annotation]:
        return [self._items[i].ann for i in ids if i in self._items and i not in self._locked]

    # ---- predictions ------------------------------------------------------------------------------
    def accept_predictions(self, ids: Iterable[int]) -> None:
        ids = [i for i in ids if i in self._items and self._items[i].ann.status == PREDICTION]
        if ids:
            self.push(AcceptPredictions(self.store, ids))

    def reject_predictions(self, ids: Iterable[int]) -> None:
        ids = [i for i in ids if i in self._items and self._items[i].ann.status == PREDICTION]
        if ids:
            self.push(RejectPredictions(self.store, ids))

    def select_all(self) -> None:
        """Select every shape shown on the current image."""
        self.select_annotations(sorted(self._items))

    def invert_selection(self) -> None:
        chosen = set(self.selected_ids())
        self.select_annotations([i for i in sorted(self._items) if i not in chosen])

    def delete_image_predictions(self) -> int:
        """Delete every prediction of the current image (one undoable step); returns how many."""
        ids = [a.id for a in self._predictions()]
        self.reject_predictions(ids)
        return len(ids)

    def _predictions(self) -> list[Annotation]:
        return [it.ann for it in self._items.values() if it.ann.status == PREDICTION]

    def accept_predictions_above(self, score: float) -> None:
        """Accept the current image's predictions scoring at least `score`."""
        self.accept_predictions([a.id for a in self._predictions() if (a.score or 0.0) >= score])

    def reject_predictions_below(self, score: float) -> None:
        self.reject_predictions([a.id for a in self._predictions() if (a.score or 0.0) < score])
