"""Run a loaded model on RGB images and turn its outputs into the store's annotations.

Preprocess (uint8 RGB -> float tensors on the device), one batched forward pass under
inference_mode (fp16 autocast on CUDA when asked), outputs filtered on the device and moved to the
CPU at once, then postprocess in image coordinates: boxes xywh, instance masks thresholded at 0.5
as COCO RLE, semantic maps as the argmax class per pixel (plus one mask per class present).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from annotations import geometry
from annotations.errors import Cancelled, CancelToken
from annotations.imageio import ImageReadError, read_rgb
from annotations.model import ImageRecord, ModelRun

from . import run_progress
from .device import autocast, check_precision
from .prediction_store import StoredPredictions, store_predictions
from .registry import BACKGROUND, PLACEHOLDER, SEMANTIC
from .weights import LoadedModel

log = logging.getLogger(__name__)
MASK_THRESHOLD = 0.5
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Cancel = CancelToken | None


@dataclass
class ImagePrediction:
    boxes: np.ndarray  # (N, 4) float32, xywh in image pixels
    scores: np.ndarray  # (N,) float32
    labels: list[str]  # category names
    masks: list[dict] | None = None  # COCO RLE (str counts) per detection
    semantic: np.ndarray | None = None  # HxW int32 index into class_names
    class_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def _empty(class_names: list[str], with_masks: bool) -> ImagePrediction:
    return ImagePrediction(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), [],
                           [] if with_masks else None, None, class_names)


class Predictor:
    """Predictions with a score threshold, a class filter and optional class-wise NMS.

    score_threshold None = the model's default; classes = names to keep (None = all);
    nms_iou = an extra class-wise NMS at that IoU (None = only the model's own).
    input_size: shorter side semantic models see (None = the registry's); detection models
    resize by themselves (min_size/max_size given when the model was built).
    """

    def __init__(self, loaded: LoadedModel, score_threshold: float | None = None,
                 classes: Iterable[str] | None = None, nms_iou: float | None = None, fp16: bool = False,
                 batch_size: int = 4, input_size: int | None = None):
        if loaded.model is None:
            raise ValueError("This model was released; load it again.")
        self.loaded = loaded
        self.spec = loaded.spec
        self.device = loaded.device
        self.fp16 = bool(fp16 or loaded.fp16)
        self.precision = check_precision(self.device, self.fp16)
        self.score_threshold = self.spec.default_score if score_threshold is None else float(score_threshold)
        self.classes = None if classes is None else set(classes)
        if self.classes is not None:
            unknown = sorted(self.classes - set(loaded.categories))
            if unknown:
                raise ValueError(f"{loaded.name} has no classes named {', '.join(unknown)}")
        self.nms_iou = nms_iou
        self.batch_size = max(1, int(batch_size))
        self.input_size = int(input_size or self.spec.min_size)
        names = loaded.categories
        self._label_ok = torch.tensor(
            [n not in (BACKGROUND, PLACEHOLDER) and (self.classes is None or n in self.classes) for n in names],
            dtype=torch.bool, device=self.device)
        self._lower_model_threshold()

    def _lower_model_threshold(self) -> None:
        """Detectors drop low scores themselves (0.05 and the like); a lower asked-for threshold
        must see those detections, so the model's own threshold follows it down."""
        model = self.loaded.model
        for holder in (getattr(model, "roi_heads", None), model):
            if holder is not None and isinstance(getattr(holder, "score_thresh", None), float):
                holder.score_thresh = min(holder.score_thresh, self.score_threshold)
                return

    # ---- public ----------------------------------------------------------------------------
    def predict(self, images: list[np.ndarray], cancel: Cancel = None) -> list[ImagePrediction]:
        """One ImagePrediction per HxWx3 uint8 RGB image, in order. Raises Cancelled."""
        for i, img in enumerate(images):
            if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
                got = f"{img.dtype} array of shape {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
                raise ValueError(f"image {i}: expected an HxWx3 uint8 RGB array, got {got}")
        out: list[ImagePrediction] = []
        for start in range(0, len(images), self.batch_size):
            _check(cancel)
            batch = images[start:start + self.batch_size]
            if self.spec.task == SEMANTIC:
                out += self._predict_semantic(batch, cancel)
            else:
                out += self._predict_detection(batch, cancel)
        return out

    def predict_one(self, image: np.ndarray, cancel: Cancel = None) -> ImagePrediction:
        return self.predict([image], cancel)[0]

    def model_input(self, image: np.ndarray) -> torch.Tensor:
        """The tensor the model takes for one HxWx3 uint8 RGB image, made as predict() makes it."""
        return self._semantic_input(image) if self.spec.task == SEMANTIC else self._to_tensor(image)

    def predict_records(self, records: list[ImageRecord], batch_size: int | None = None, cancel: Cancel = None,
                        ) -> Iterator[tuple[list[int], list[int], list[ImagePrediction], dict[int, str]]]:
        """Predict images whose file_name is a readable path, batch by batch: yields (ids asked for,
        ids read, their predictions, {id: problem} for those that could not be read). Stops quietly
        on cancel. The next batch's files are decoded on a reader thread while this one runs."""
        size = max(1, batch_size or self.batch_size)
        batches = [records[i:i + size] for i in range(0, len(records), size)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sightline-image-reader") as reader:
            pending = reader.submit(_read_images, batches[0]) if batches else None
            for k, batch in enumerate(batches):
                if cancel is not None and cancel.cancelled:
                    return
                kept, images, problems = pending.result()
                pending = reader.submit(_read_images, batches[k + 1]) if k + 1 < len(batches) else None
                try:
                    preds = self.predict(images, cancel)
                except Cancelled:
                    return
                yield [r.id for r in batch], kept, preds, problems

    def predict_store_images(self, store, image_ids: Iterable[int], run_id: int | None,
                             progress: Callable[[int, int], bool | None] | None = None, cancel: Cancel = None,
                             batch_size: int | None = None, add_categories: bool = False,
                             warn: Callable[[str], None] | None = None,
                             after_batch: Callable[[], StoredPredictions] | None = None) -> StoredPredictions:
        """Predict project images and store the results as predictions of `run_id`.

        One transaction per batch (engine.prediction_store.store_predictions), so a cancel or a kill
        keeps the batches already done. Unreadable images are skipped with a warning. add_categories:
        create project categories for predicted names the project lacks (else they stay in the run).
        after_batch: called after each stored batch (rank 0 merges the other ranks' results there).
        """
        warn = warn or log.warning
        ids = list(image_ids)
        found = {r.id: r for r in store.images(ids=ids)}  # the store is read on this thread only
        for image_id in ids:
            if image_id not in found:
                warn(f"image id {image_id}: not in the project; skipped")
        records = [absolute_record(store, found[i]) for i in ids if i in found]
        outcome, done = StoredPredictions(), len(ids) - len(records)
        for asked, kept, preds, problems in self.predict_records(records, batch_size, cancel):
            for text in problems.values():
                warn(text)
            outcome.add(store_predictions(store, run_id, zip(kept, preds), self.loaded.name, add_categories))
            if run_id is not None:
                run_progress.mark_problems(store, run_id, problems)
            if after_batch is not None:
                outcome.add(after_batch())
            done += len(asked)
            if progress is not None and progress(done, len(ids)) is False:
                break
        return outcome

    def run_params(self) -> dict:
        """What a run records about how its predictions were made (provenance)."""
        return {"score_threshold": self.score_threshold, "classes": sorted(self.classes) if self.classes else None,
                "nms_iou": self.nms_iou, "device": str(self.device), "precision": self.precision,
                "task": self.spec.task, "source": self.loaded.source}

    # ---- detection and instance segmentation -------------------------------------------------
    def _to_tensor(self, img: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(img)).to(self.device, non_blocking=True)
        return t.permute(2, 0, 1).float().div_(255.0)

    def _predict_detection(self, batch: list[np.ndarray], cancel: Cancel) -> list[ImagePrediction]:
        tensors = []
        for img in batch:
            _check(cancel)
            tensors.append(self._to_tensor(img))
        _check(cancel)
        with torch.inference_mode(), autocast(self.device, self.fp16):
            raw = self.loaded.model(tensors)
        with torch.inference_mode():
            moved = [self._select_to_cpu(r) for r in raw]
        del raw, tensors
        out = []
        for r in moved:
            _check(cancel)
            out.append(self._detection_result(r))
        return out

    def _select_to_cpu(self, r: dict) -> dict:
        """Threshold, class filter and NMS on the device, then only what is kept goes to the CPU."""
        boxes, scores, labels = r["boxes"].float(), r["scores"].float(), r["labels"]
        keep = (scores >= self.score_threshold) & self._label_ok[labels.clamp(0, len(self._label_ok) - 1)]
        keep = keep & (labels < len(self._label_ok))
        idx = keep.nonzero().flatten()
        if self.nms_iou is not None and idx.numel():
            idx = idx[torchvision.ops.batched_nms(boxes[idx], scores[idx], labels[idx], float(self.nms_iou))]
        out = {"boxes": boxes[idx].cpu(), "scores": scores[idx].cpu(), "labels": labels[idx].cpu()}
        if "masks" in r:
            out["masks"] = (r["masks"][idx, 0] > MASK_THRESHOLD).cpu()
        return out

    def _detection_result(self, r: dict) -> ImagePrediction:
        names = self.loaded.categories
        xyxy = r["boxes"].numpy().astype(np.float32, copy=False)
        boxes = np.empty_like(xyxy)
        boxes[:, :2] = xyxy[:, :2]
        boxes[:, 2:] = xyxy[:, 2:] - xyxy[:, :2]
        masks = None
        if "masks" in r:
            masks = [geometry.encode_mask(m) for m in r["masks"].numpy()]
        return ImagePrediction(boxes, r["scores"].numpy().astype(np.float32, copy=False),
                               [names[i] for i in r["labels"].tolist()], masks, None, list(names))

    # ---- semantic segmentation ---------------------------------------------------------------
    def _semantic_input(self, img: np.ndarray) -> torch.Tensor:
        x = self._to_tensor(img)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(3, 1, 1)
        x = (x - mean) / std
        h, w = x.shape[1:]
        scale = self.input_size / min(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        if size != (h, w):
            x = F.interpolate(x[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
        return x

    def _predict_semantic(self, batch: list[np.ndarray], cancel: Cancel) -> list[ImagePrediction]:
        inputs = []
        for img in batch:
            _check(cancel)
            inputs.append(self._semantic_input(img))
        # Images resized to the same shape share one forward pass; others go alone.
        groups: dict[tuple, list[int]] = {}
        for i, x in enumerate(inputs):
            groups.setdefault(tuple(x.shape), []).append(i)
        maps: list = [None] * len(batch)
        for idx in groups.values():
            _check(cancel)
            with torch.inference_mode(), autocast(self.device, self.fp16):
                logits = self.loaded.model(torch.stack([inputs[i] for i in idx]))["out"]
            with torch.inference_mode():
                for j, i in enumerate(idx):
                    h, w = batch[i].shape[:2]
                    up = F.interpolate(logits[j:j + 1].float(), size=(h, w), mode="bilinear", align_corners=False)[0]
                    top, cls = up.max(0)
                    # Softmax probability of the winning class, in place (C x H x W is large):
                    # p_max = 1 / sum_c exp(l_c - l_max).
                    conf = up.sub_(top).exp_().sum(0).reciprocal_()
                    maps[i] = (cls.to(torch.int32).cpu(), conf.cpu())
            del logits
        out = []
        for cls, conf in maps:
            _check(cancel)
            out.append(self._semantic_result(cls.numpy(), conf.numpy()))
        return out

    def _semantic_result(self, cls: np.ndarray, conf: np.ndarray) -> ImagePrediction:
        names = self.loaded.categories
        counts = np.bincount(cls.ravel(), minlength=len(names))
        sums = np.bincount(cls.ravel(), weights=conf.ravel(), minlength=len(names))
        boxes, scores, labels, masks = [], [], [], []
        for c in np.flatnonzero(counts):
            name = names[c]
            score = float(sums[c] / counts[c])
            if name in (BACKGROUND, PLACEHOLDER) or score < self.score_threshold:
                continue
            if self.classes is not None and name not in self.classes:
                continue
            rle = geometry.encode_mask(cls == c)
            boxes.append(geometry.rle_bbox(rle))
            scores.append(score)
            labels.append(name)
            masks.append(rle)
        return ImagePrediction(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32),
                               labels, masks, cls, list(names))


def _check(cancel: Cancel) -> None:
    if cancel is not None:
        cancel.check("prediction cancelled")


def absolute_record(store, rec: ImageRecord) -> ImageRecord:
    """The record with its file's full path as file_name (what predict_records reads)."""
    return replace(rec, file_name=str(store.image_path(rec)))


def _read_images(records: list[ImageRecord]) -> tuple[list[int], list[np.ndarray], dict[int, str]]:
    """(ids read, their pixels, {id: problem}). Touches files only, not the database."""
    kept, images, problems = [], [], {}
    for rec in records:
        try:
            rgb = read_rgb(rec.file_name)
        except ImageReadError as e:
            problems[rec.id] = f"{e}; skipped"
            continue
        if rgb.shape[:2] != (rec.height, rec.width):
            log.warning("%s: decoded as %dx%d, registered as %dx%d; predictions are in the decoded image's pixels",
                        rec.file_name, rgb.shape[1], rgb.shape[0], rec.width, rec.height)
        kept.append(rec.id)
        images.append(rgb)
    return kept, images, problems


def new_prediction_run(store, predictor: Predictor, **params) -> int:
    """Record a run (model, weights, settings) that predictions will point to; returns its id."""
    loaded = predictor.loaded
    return store.add_run(ModelRun(None, loaded.name, loaded.source, "predict", {**predictor.run_params(), **params}))
