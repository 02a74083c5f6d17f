"""The horizontal-flip variant of disagreement: one model on each image and on its mirror image.

The mirror images go through the same Predictor (its preprocessing, threshold, classes and NMS),
and what it finds is mirrored back into the image's coordinates: a box x -> W - x - w, a mask
flipped left to right. Those predictions are stored as a run of their own (params: flip, flip_of),
so the disagreement strategy compares the two runs like any two.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

import numpy as np

from annotations import geometry
from annotations.errors import Cancelled
from annotations.store import Store
from engine.predictor import ImagePrediction, new_prediction_run

from .store_images import read_batches, store_image_predictions

log = logging.getLogger(__name__)
HORIZONTAL = "horizontal"


def unflip(pred: ImagePrediction, width: int) -> ImagePrediction:
    """A prediction made on the mirror image, in the original image's coordinates."""
    boxes = pred.boxes.copy()
    boxes[:, 0] = width - pred.boxes[:, 0] - pred.boxes[:, 2]
    masks = None
    if pred.masks is not None:
        masks = [geometry.encode_mask(np.ascontiguousarray(geometry.decode_rle(m)[:, ::-1])) for m in pred.masks]
    semantic = None if pred.semantic is None else np.ascontiguousarray(pred.semantic[:, ::-1])
    return ImagePrediction(boxes, pred.scores.copy(), list(pred.labels), masks, semantic, list(pred.class_names))


def predict_flipped(predictor, images: list[np.ndarray], cancel=None) -> list[ImagePrediction]:
    mirrored = [np.ascontiguousarray(img[:, ::-1]) for img in images]
    return [unflip(p, img.shape[1]) for p, img in zip(predictor.predict(mirrored, cancel), images)]


def find_flip_run(store: Store, run_id: int) -> int | None:
    """The newest stored flip run of run_id, if any."""
    runs = [r.id for r in store.runs("predict") if r.params.get("flip_of") == run_id and r.params.get("flip")]
    return runs[-1] if runs else None


def flip_run(store: Store, predictor, run_id: int, image_ids: Iterable[int],
             progress: Callable[[int, int], object] | None = None, cancel=None,
             warn: Callable[[str], None] | None = None) -> int:
    """Predict the mirror images of image_ids and store them as a new run (its id is returned)."""
    warn = warn or log.warning
    ids = list(image_ids)
    flipped = new_prediction_run(store, predictor, flip=HORIZONTAL, flip_of=run_id, command="rank")
    done = 0
    for kept, images in read_batches(store, ids, predictor.batch_size, warn):
        if cancel is not None and cancel.cancelled:
            break
        try:
            preds = predict_flipped(predictor, images, cancel)
        except Cancelled:
            break
        store_image_predictions(store, predictor, kept, preds, flipped)
        done += len(images)
        if progress is not None and progress(min(done, len(ids)), len(ids)) is False:
            break
    return flipped
