"""A model's own features of each image: its backbone's maps, average-pooled and concatenated.

The features come out of an ordinary Predictor pass (forward hooks on the model's transform and
backbone), so the preprocessing is the Predictor's and the model's own, and the same pass yields
the predictions. Detectors pad a batch to one size: each map is pooled over the part that covers
the image, not the padding.
"""
from __future__ import annotations

import logging
import math
from typing import Callable, Iterable

import numpy as np
import torch

from annotations.errors import Cancelled
from annotations.scores import save_embeddings
from annotations.store import Store

from .base import RankError
from .store_images import read_batches, store_image_predictions

log = logging.getLogger(__name__)


class _Capture:
    def __init__(self, model: torch.nn.Module):
        backbone = getattr(model, "backbone", None)
        if backbone is None:
            raise RankError(f"{type(model).__name__} has no backbone to take image features from")
        self.padded: list = []  # per forward pass: (image sizes, padded size) or None
        self.pooled: list[np.ndarray] = []  # per forward pass: (B, D)
        transform = getattr(model, "transform", None)
        self.handles = [backbone.register_forward_hook(self._on_backbone)]
        if transform is not None:
            self.handles.append(transform.register_forward_hook(self._on_transform))

    def _on_transform(self, module, inputs, output) -> None:
        images = output[0]
        self.padded.append(([tuple(s) for s in images.image_sizes], tuple(images.tensors.shape[-2:])))

    def _on_backbone(self, module, inputs, output) -> None:
        maps = list(output.values()) if isinstance(output, dict) else [output]
        sizes, padded = self.padded[-1] if self.padded else (None, None)
        rows = []
        for b in range(maps[0].shape[0]):
            parts = []
            for f in maps:
                h, w = f.shape[-2:]
                if sizes is not None:
                    h = max(1, math.ceil(h * sizes[b][0] / padded[0]))
                    w = max(1, math.ceil(w * sizes[b][1] / padded[1]))
                parts.append(f[b, :, :h, :w].float().mean(dim=(1, 2)))
            rows.append(torch.cat(parts).cpu().numpy())
        self.pooled.append(np.stack(rows).astype(np.float32))

    def close(self) -> None:
        for h in self.handles:
            h.remove()


def embed_images(predictor, images: list[np.ndarray], cancel=None) -> tuple[np.ndarray, list]:
    """(N x D float32 embeddings, the N ImagePredictions) of RGB images, in one Predictor pass."""
    if not images:
        return np.zeros((0, 0), np.float32), []
    capture = _Capture(predictor.loaded.model)
    try:
        if predictor.spec.task == "semantic":  # it groups a batch by size: one image per pass keeps the order
            preds = [p for img in images for p in predictor.predict([img], cancel)]
        else:
            preds = predictor.predict(images, cancel)
    finally:
        capture.close()
    return np.concatenate(capture.pooled), preds


def embed_store_images(store: Store, predictor, image_ids: Iterable[int], run_id: int,
                       store_as_predictions: bool = False, progress: Callable[[int, int], object] | None = None,
                       cancel=None, warn: Callable[[str], None] | None = None) -> dict[int, np.ndarray]:
    """Embeddings of project images, stored with run_id; with store_as_predictions the same pass's
    predictions are stored as that run's too. A cancel keeps the batches already done."""
    warn = warn or log.warning
    ids = list(image_ids)
    out: dict[int, np.ndarray] = {}
    done = 0
    for kept, images in read_batches(store, ids, predictor.batch_size, warn):
        if cancel is not None and cancel.cancelled:
            break
        try:
            vectors, preds = embed_images(predictor, images, cancel)
        except Cancelled:
            break
        batch = dict(zip(kept, vectors))
        with store.transaction():
            if store_as_predictions:
                store_image_predictions(store, predictor, kept, preds, run_id)
            save_embeddings(store, run_id, batch)
        out.update(batch)
        done += len(images)
        if progress is not None and progress(min(done, len(ids)), len(ids)) is False:
            break
    return out
