"""The project store's counting queries (a mixin of annotations.store.Store, on its `_read`): how
many labels and predictions lie on each image and in each category, counted by the database."""
from __future__ import annotations

from typing import Iterable

from .model import LABEL

IN_CHUNK = 900  # ids per "IN (...)" query, under SQLite's bound-parameter limit


def labels_and_predictions(per_image: dict[int, dict[tuple[int, str], int]]) -> dict[int, tuple[int, int]]:
    """image id -> (labels, predictions), from image_status_counts' answer."""
    out = {}
    for image_id, per in per_image.items():
        labels = sum(n for (_cat, status), n in per.items() if status == LABEL)
        out[image_id] = (labels, sum(per.values()) - labels)
    return out


def labels_by_category(per_image: dict[int, dict[tuple[int, str], int]]) -> dict[int, dict[int, int]]:
    """image id -> {category id: labels}, for images with labels, from image_status_counts' answer."""
    out: dict[int, dict[int, int]] = {}
    for image_id, per in per_image.items():
        for (category_id, status), n in per.items():
            if status == LABEL:
                out.setdefault(image_id, {})[category_id] = n
    return out


class StoreCounts:
    def _read(self, sql: str, args=()) -> list[tuple]:
        raise NotImplementedError

    def annotation_count(self, status: str | None = LABEL) -> int:
        if status is None:
            return self._read("SELECT COUNT(*) FROM annotations")[0][0]
        return self._read("SELECT COUNT(*) FROM annotations WHERE status=?", (status,))[0][0]

    def annotation_counts(self, image_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int]]:
        """image id -> (labels, predictions), for images that have any: all of them, or these."""
        out: dict[int, list[int]] = {}
        for image_id, status, n in self._grouped("image_id, status", "", image_ids):
            out.setdefault(image_id, [0, 0])[0 if status == LABEL else 1] += n
        return {k: (v[0], v[1]) for k, v in out.items()}

    def category_counts(self) -> dict[int, int]:
        return dict(self._read("SELECT category_id, COUNT(*) FROM annotations WHERE status='label' "
                               "GROUP BY category_id"))

    def image_category_counts(self, image_ids: Iterable[int] | None = None) -> dict[int, dict[int, int]]:
        """image id -> {category id: labels}, on every image or on these (an indexed query)."""
        out: dict[int, dict[int, int]] = {}
        for image_id, category_id, n in self._grouped("image_id, category_id", "status='label'", image_ids):
            out.setdefault(image_id, {})[category_id] = n
        return out

    def image_status_counts(self, image_ids: Iterable[int]) -> dict[int, dict[tuple[int, str], int]]:
        """image id -> {(category id, status): annotations}, on these images (one indexed query per
        chunk): what both the file list's and the category list's counts of an image come from."""
        out: dict[int, dict[tuple[int, str], int]] = {}
        for image_id, category_id, status, n in self._grouped("image_id, category_id, status", "", image_ids):
            out.setdefault(image_id, {})[(category_id, status)] = n
        return out

    def annotation_classes(self, image_id: int) -> list[tuple[int, int, str]]:
        """(annotation id, category id, status) of each annotation on an image (from the index rows)."""
        return self._read("SELECT id, category_id, status FROM annotations WHERE image_id=?", (image_id,))

    def _grouped(self, columns: str, where: str, image_ids: Iterable[int] | None) -> list[tuple]:
        """(*columns, COUNT(*)) grouped by `columns`, on every image or on these (in chunks)."""
        wanted = None if image_ids is None else sorted(set(image_ids))
        chunks = [None] if wanted is None else [wanted[i:i + IN_CHUNK] for i in range(0, len(wanted), IN_CHUNK)]
        rows = []
        for chunk in chunks:
            conds = [where] if where else []
            if chunk is not None:
                conds.append(f"image_id IN ({','.join('?' * len(chunk))})")
            rows += self._read(f"SELECT {columns}, COUNT(*) FROM annotations"
                               f"{' WHERE ' + ' AND '.join(conds) if conds else ''} GROUP BY {columns}", chunk or ())
        return rows

    def category_usage(self, category_id: int) -> tuple[int, int, int]:
        """(labels, predictions, images) of one category, counted by the database from the index
        ann_category_image (no table row is read)."""
        labels, total, images = self._read(
            "SELECT COALESCE(SUM(status='label'), 0), COUNT(*), COUNT(DISTINCT image_id) FROM annotations "
            "WHERE category_id=?", (category_id,))[0]
        return labels, total - labels, images
