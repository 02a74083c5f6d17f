"""The project store's counting queries (a mixin of annotations.store.Store, on its `_read`): how
many labels and predictions lie on each image and in each category, counted by the database."""
from __future__ import annotations

from typing import Iterable

from .model import LABEL

IN_CHUNK = 900  # ids per "IN (...)" query, under SQLite's bound-parameter limit


class StoreCounts:
    def _read(self, sql: str, args=()) -> list[tuple]:
        raise NotImplementedError

    def annotation_count(self, status: str | None = LABEL) -> int:
        if status is None:
            return self._read("SELECT COUNT(*) FROM annotations")[0][0]
        return self._read("SELECT COUNT(*) FROM annotations WHERE status=?", (status,))[0][0]

    def annotation_counts(self) -> dict[int, tuple[int, int]]:
        """image id -> (labels, predictions), for images that have any."""
        out: dict[int, list[int]] = {}
        for image_id, status, n in self._read(
                "SELECT image_id, status, COUNT(*) FROM annotations GROUP BY image_id, status"):
            out.setdefault(image_id, [0, 0])[0 if status == LABEL else 1] += n
        return {k: (v[0], v[1]) for k, v in out.items()}

    def category_counts(self) -> dict[int, int]:
        return dict(self._read("SELECT category_id, COUNT(*) FROM annotations WHERE status='label' "
                               "GROUP BY category_id"))

    def image_category_counts(self, image_ids: Iterable[int] | None = None) -> dict[int, dict[int, int]]:
        """image id -> {category id: labels}, on every image or on these (an indexed query)."""
        wanted = None if image_ids is None else sorted(set(image_ids))
        chunks = [None] if wanted is None else [wanted[i:i + IN_CHUNK] for i in range(0, len(wanted), IN_CHUNK)]
        out: dict[int, dict[int, int]] = {}
        for chunk in chunks:
            where = "" if chunk is None else f" AND image_id IN ({','.join('?' * len(chunk))})"
            for image_id, category_id, n in self._read(
                    f"SELECT image_id, category_id, COUNT(*) FROM annotations WHERE status='label'{where} "
                    "GROUP BY image_id, category_id", chunk or ()):
                out.setdefault(image_id, {})[category_id] = n
        return out

    def category_usage(self, category_id: int) -> tuple[int, int, int]:
        """(labels, predictions, images) of one category, counted by the database."""
        labels, total, images = self._read(
            "SELECT COALESCE(SUM(status='label'), 0), COUNT(*), COUNT(DISTINCT image_id) FROM annotations "
            "WHERE category_id=?", (category_id,))[0]
        return labels, total - labels, images
