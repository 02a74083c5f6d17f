"""Project images in batches for a model pass, and storing what the pass predicted."""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from annotations.imageio import ImageReadError, read_rgb
from annotations.store import Store


def read_batches(store: Store, image_ids: Iterable[int], batch_size: int,
                 warn: Callable[[str], None]) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """(ids, RGB images) per batch; unreadable images are skipped with a warning."""
    ids = list(image_ids)
    records = {r.id: r for r in store.images(ids=ids)}
    size = max(1, int(batch_size))
    for start in range(0, len(ids), size):
        kept, images = [], []
        for image_id in ids[start:start + size]:
            try:
                images.append(read_rgb(store.image_path(records[image_id])))
            except ImageReadError as e:
                warn(f"{e}; skipped")
                continue
            kept.append(image_id)
        yield kept, images


def store_image_predictions(store: Store, predictor, image_ids: list[int], preds: list, run_id: int) -> int:
    """ImagePredictions of these images as predictions of run_id, through the one storing function
    (engine.prediction_store): classes the project lacks wait in the run, as for any run."""
    from ..prediction_store import store_predictions
    stored = store_predictions(store, run_id, list(zip(image_ids, preds)), predictor.loaded.name)
    return len(stored.ids)
