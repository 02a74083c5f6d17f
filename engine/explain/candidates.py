"""Every candidate box a detector scores, before thresholds, top-k and NMS, kept differentiable.

A detection target (one box of one class) is scored against these candidates, so a gradient flows
from "this box" back to the pixels and a perturbed image is scored by its best matching box even when
the model's own post-processing would have dropped it. Each family has its own code, following
torchvision's forward passes and post-processing:

- Faster / Mask R-CNN: RPN proposals through the box head; per-class boxes (N, K, 4), softmax scores;
  objectness = 1 - p(background).
- RetinaNet: sigmoid class scores per anchor; objectness = the highest class score.
- FCOS (torchvision's and the compact one): sqrt(sigmoid(class) * sigmoid(centre-ness)) as torchvision
  scores them; objectness = centre-ness.
- SSD / SSDlite: softmax scores per default box; objectness = 1 - p(background).
Boxes are xyxy in the pixels of the input the caller gave (the model's resize undone).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torchvision.models.detection.transform import resize_boxes
from torchvision.ops import boxes as box_ops

from .errors import ExplainError

RCNN_FAMILIES = ("fasterrcnn", "maskrcnn")
DENSE_FAMILIES = ("retinanet", "fcos")
SSD_FAMILIES = ("ssd", "ssdlite")
DETECTOR_FAMILIES = RCNN_FAMILIES + DENSE_FAMILIES + SSD_FAMILIES


@dataclass
class Candidates:
    boxes: torch.Tensor  # (N, 4) or (N, K, 4) per class (R-CNN), xyxy input pixels
    probs: torch.Tensor  # (N, K) score per class; column = model label
    objectness: torch.Tensor  # (N,)

    def class_boxes(self, label: int) -> torch.Tensor:
        return self.boxes if self.boxes.dim() == 2 else self.boxes[:, label]

    def __len__(self) -> int:
        return int(self.probs.shape[0])


def family_of(model: torch.nn.Module, family: str = "") -> str:
    """The registry family, or one recognised from torchvision's classes for a bare model."""
    if family in DETECTOR_FAMILIES:
        return family
    from torchvision.models import detection as d
    from torchvision.models.detection.ssd import SSD  # not exported by torchvision.models.detection
    for cls, name in ((d.MaskRCNN, "maskrcnn"), (d.FasterRCNN, "fasterrcnn"), (d.RetinaNet, "retinanet"),
                      (d.FCOS, "fcos"), (SSD, "ssd")):
        if isinstance(model, cls):
            return name
    return ""


def _features(model, tensors: torch.Tensor) -> list[torch.Tensor]:
    feats = model.backbone(tensors)
    if isinstance(feats, torch.Tensor):
        feats = OrderedDict([("0", feats)])
    return feats


def _rescale(boxes: torch.Tensor, size: tuple[int, int], resized: tuple[int, int], original: tuple[int, int]):
    boxes = box_ops.clip_boxes_to_image(boxes.reshape(-1, 4), size)
    return resize_boxes(boxes, list(resized), list(original))


def detector_candidates(model: torch.nn.Module, family: str, x: torch.Tensor) -> list[Candidates]:
    """Candidates of each image of x (B, 3, H, W; what the model's own transform takes)."""
    if family not in DETECTOR_FAMILIES:
        raise ExplainError(f"No detection target code for model family {family!r}")
    images = list(x.unbind(0))
    original = [tuple(im.shape[-2:]) for im in images]
    il, _ = model.transform(images)
    if family in RCNN_FAMILIES:
        return _rcnn(model, il, original)
    feats = list(_features(model, il.tensors).values())
    head = model.head(feats)
    anchors = model.anchor_generator(il, feats)
    out = []
    for i, (size, orig) in enumerate(zip(il.image_sizes, original)):
        reg, logits = head["bbox_regression"][i], head["cls_logits"][i]
        if family == "fcos":
            ctr = torch.sigmoid(head["bbox_ctrness"][i])  # (N, 1)
            probs = torch.sqrt(torch.sigmoid(logits) * ctr)
            obj = ctr[:, 0]
            boxes = model.box_coder.decode(reg, anchors[i])
        elif family == "retinanet":
            probs = torch.sigmoid(logits)
            obj = probs.max(1).values
            boxes = model.box_coder.decode_single(reg, anchors[i])
        else:  # ssd
            probs = torch.softmax(logits, -1)
            obj = 1 - probs[:, 0]
            boxes = model.box_coder.decode_single(reg, anchors[i])
        out.append(Candidates(_rescale(boxes, size, size, orig), probs, obj))
    return out


def _rcnn(model, il, original) -> list[Candidates]:
    feats = _features(model, il.tensors)
    proposals, _ = model.rpn(il, feats)
    rh = model.roi_heads
    pooled = rh.box_head(rh.box_roi_pool(feats, proposals, il.image_sizes))
    logits, reg = rh.box_predictor(pooled)
    boxes = rh.box_coder.decode(reg, proposals)  # (sum N, K, 4)
    probs = torch.softmax(logits, -1)
    out, start = [], 0
    for props, size, orig in zip(proposals, il.image_sizes, original):
        n = props.shape[0]
        b, p = boxes[start:start + n], probs[start:start + n]
        start += n
        k = b.shape[1]
        out.append(Candidates(_rescale(b, size, size, orig).reshape(n, k, 4), p, 1 - p[:, 0]))
    return out
