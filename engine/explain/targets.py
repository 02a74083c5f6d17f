"""What an explanation is about: one detection, one label box, a class over a region, a class.

A target turns the model's outputs for a batch (model.Explainable.forward) into one number per image:
  score(out)        differentiable, what gradients follow (logits for classifiers and segmenters)
  probability(out)  in [0, 1], what deletion/insertion curves and occlusion follow
  similarity(out)   what D-RISE weighs its masks by
A detection target is scored by its best matching candidate: max over the candidate boxes of
IoU(candidate, target box) x the candidate's score for the target class -- the very detection when the
target is a prediction, the model's best attempt when it is a missed label.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from .errors import ExplainError
from .model import CLASSIFIER, DETECTOR, SEMANTIC


def xywh_to_xyxy(box) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ExplainError(f"target box {x:g},{y:g},{w:g},{h:g} has no area (width and height must be > 0)")
    return (x, y, x + w, y + h)


def _least_size(boxes: torch.Tensor) -> torch.Tensor:
    """xyxy boxes at least 1e-2 pixels wide and high: a degenerate box still matches itself (IoU 1)."""
    return torch.cat([boxes[:, :2], torch.maximum(boxes[:, 2:], boxes[:, :2] + 1e-2)], 1)


@dataclass
class Target:
    label: int  # model label index
    name: str = ""  # class name, for people

    kind = ""

    def score(self, out) -> torch.Tensor:
        raise NotImplementedError

    def probability(self, out) -> torch.Tensor:
        return self.score(out)

    def similarity(self, out) -> torch.Tensor:
        return self.probability(out)

    def region_xyxy(self) -> tuple[float, float, float, float] | None:
        """The image region the target is about (the pointing game checks the map's peak against it)."""
        return None

    def describe(self) -> dict:
        return {"kind": self.kind, "label": self.label, "class": self.name}


@dataclass
class DetectionTarget(Target):
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # xyxy, input pixels
    source: str = "prediction"  # "prediction" (why this box) | "label" (why was this missed)

    kind = DETECTOR

    def _per_image(self, out, weigh) -> torch.Tensor:
        ref = None
        values = []
        for cand in out:
            if ref is None:
                ref = torch.tensor([self.box], dtype=cand.probs.dtype, device=cand.probs.device)
            if len(cand) == 0:
                values.append(cand.probs.sum() * 0)
                continue
            boxes = _least_size(cand.class_boxes(self.label).detach().float())
            iou = box_iou(boxes, _least_size(ref.float()))[:, 0].to(cand.probs.dtype)
            values.append((iou * weigh(cand)).max())
        return torch.stack(values)

    def score(self, out) -> torch.Tensor:
        if out and self.label >= out[0].probs.shape[1]:
            raise ExplainError(f"class index {self.label} is not one of the model's {out[0].probs.shape[1]}")
        return self._per_image(out, lambda c: c.probs[:, self.label])

    def similarity(self, out) -> torch.Tensor:
        """D-RISE: IoU x cosine(one-hot class, candidate's class vector) x objectness."""
        def weigh(c):
            cos = c.probs[:, self.label] / c.probs.norm(dim=1).clamp_min(1e-12)
            return cos * c.objectness
        return self._per_image(out, weigh)

    def region_xyxy(self):
        return self.box

    def describe(self) -> dict:
        return {**super().describe(), "box_xywh": [self.box[0], self.box[1], self.box[2] - self.box[0],
                                                   self.box[3] - self.box[1]], "source": self.source}


def detection(box_xywh, label: int, name: str = "") -> DetectionTarget:
    """A predicted box (x, y, w, h in image pixels): why did the model find this? (A degenerate
    predicted box is given the smallest size a box can have, so it still has an IoU.)"""
    x, y, w, h = (float(v) for v in box_xywh)
    return DetectionTarget(label, name, xywh_to_xyxy((x, y, max(w, 1e-2), max(h, 1e-2))), "prediction")


def label_box(box_xywh, label: int, name: str = "") -> DetectionTarget:
    """A labelled box: why did (or didn't) the model find this object?"""
    return DetectionTarget(label, name, xywh_to_xyxy(box_xywh), "label")


@dataclass
class RegionClassTarget(Target):
    """A semantic segmenter's class over a region (mask at the image's size; None = the whole image)."""
    mask: np.ndarray | None = None

    kind = SEMANTIC

    def _region(self, logits: torch.Tensor) -> torch.Tensor:
        h, w = logits.shape[-2:]
        if self.mask is None:
            return torch.ones((h, w), dtype=logits.dtype, device=logits.device)
        m = torch.from_numpy(np.asarray(self.mask, np.float32))[None, None].to(logits.device)
        m = F.interpolate(m, size=(h, w), mode="nearest")[0, 0].to(logits.dtype)
        if float(m.sum()) == 0:
            raise ExplainError("the target region is empty")
        return m

    def _mean(self, maps: torch.Tensor) -> torch.Tensor:
        region = self._region(maps)
        return (maps * region).sum((-2, -1)) / region.sum()

    def score(self, out) -> torch.Tensor:
        return self._mean(out[:, self.label])

    def probability(self, out) -> torch.Tensor:
        return self._mean(torch.softmax(out.float(), 1)[:, self.label])

    def region_xyxy(self):
        if self.mask is None:
            return None
        ys, xs = np.nonzero(self.mask)
        return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


@dataclass
class ClassTarget(Target):
    """A classifier's class: its logit (gradients) and softmax probability (curves)."""
    kind = CLASSIFIER

    def score(self, out) -> torch.Tensor:
        return out[:, self.label]

    def probability(self, out) -> torch.Tensor:
        return torch.softmax(out.float(), 1)[:, self.label]


def check_target(model, target: Target) -> None:
    if target.kind != model.kind:
        raise ExplainError(f"a {target.kind or 'bare'} target cannot explain a {model.kind} model")
    if model.categories and not 0 <= target.label < len(model.categories):
        raise ExplainError(f"class index {target.label} is out of range (the model has {len(model.categories)})")


def top_detection_target(model, image: np.ndarray, index: int = 0, class_name: str | None = None) -> DetectionTarget:
    """The index-th detection (by score) of the model on the image, optionally of one class only.

    Uses engine.predictor (the model's own thresholds); with no detection above them, the best
    candidate at any score."""
    from engine.predictor import Predictor
    if model.loaded is None:
        raise ExplainError("picking a detection needs a registry model (engine.weights.load_model)")
    classes = [class_name] if class_name else None
    pred = Predictor(model.loaded, classes=classes).predict_one(image)
    if len(pred) == 0:
        holders = [h for h in (getattr(model.model, "roi_heads", None), model.model) if hasattr(h, "score_thresh")]
        kept = [h.score_thresh for h in holders]
        try:  # the predictor lowers the model's own threshold: put it back for everyone else
            pred = Predictor(model.loaded, score_threshold=1e-6, classes=classes).predict_one(image)
        finally:
            for h, t in zip(holders, kept):
                h.score_thresh = t
    if index < 0 or index >= len(pred):
        raise ExplainError(f"target index {index}: the model made {len(pred)} detection(s) on this image"
                           + (f" of class {class_name!r}" if class_name else ""))
    name = pred.labels[index]
    return detection(pred.boxes[index], model.label_index(name), name)


def best_class_for_box(model, image: np.ndarray, box_xywh) -> DetectionTarget:
    """A label box without a class: the class whose best matching candidate scores highest."""
    box = xywh_to_xyxy(box_xywh)
    with torch.no_grad():
        (cand,) = model.forward(model.to_input(image))
    ref = torch.tensor([box], device=cand.probs.device)
    best, label = -1.0, 1
    for c in range(1, cand.probs.shape[1]):
        if model.categories and model.categories[c] in ("__background__", "N/A"):
            continue
        s = float((box_iou(cand.class_boxes(c).float(), ref)[:, 0] * cand.probs[:, c]).max())
        if s > best:
            best, label = s, c
    name = model.categories[label] if model.categories else str(label)
    return DetectionTarget(label, name, box, "label")


def semantic_target(model, image: np.ndarray, class_name: str | None = None) -> RegionClassTarget:
    """A segmenter's class over the pixels it predicts as that class (default: its largest class)."""
    with torch.no_grad():
        logits = model.forward(model.to_input(image))
    h, w = image.shape[:2]
    cls = F.interpolate(logits.float(), size=(h, w), mode="bilinear", align_corners=False)[0].argmax(0).cpu().numpy()
    if class_name is None:
        counts = np.bincount(cls.ravel(), minlength=len(model.categories))
        counts[0] = 0  # background
        label = int(counts.argmax())
        if counts[label] == 0:
            raise ExplainError("the model predicts only background on this image; name a class")
    else:
        label = model.label_index(class_name)
    mask = cls == label
    name = model.categories[label] if model.categories else str(label)
    return RegionClassTarget(label, name, mask if mask.any() else None)


def box_region(target: RegionClassTarget, box_xywh, shape) -> RegionClassTarget:
    """A segmenter's class over a box of the image instead of over its predicted pixels."""
    x0, y0, x1, y1 = (int(round(v)) for v in xywh_to_xyxy(box_xywh))
    mask = np.zeros(shape[:2], bool)
    mask[max(0, y0):y1, max(0, x0):x1] = True
    if not mask.any():
        raise ExplainError(f"target box {box_xywh} lies outside the {shape[1]}x{shape[0]} image")
    return RegionClassTarget(target.label, target.name, mask)
