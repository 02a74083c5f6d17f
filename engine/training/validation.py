"""Validation during training: the model on the validation images, scored against their labels.

Detection and instance models get COCO mAP from engine.evaluation, on ground truth built by the
evaluation's own builder; semantic models get pixel accuracy and mIoU.
"""
from __future__ import annotations

import numpy as np
import torch

from annotations import geometry
from annotations.errors import CancelToken
from annotations.imageio import read_rgb
from annotations.store import Store
from engine.device import autocast
from engine.evaluation.coco import evaluate_coco
from engine.evaluation.project_data import ground_truth

from .data import IGNORE, SampleRecord, semantic_target

STAT_NAMES = ("map", "map50", "map75", "map_small", "map_medium", "map_large",
              "mar1", "mar10", "mar100", "mar_small", "mar_medium", "mar_large")


def coco_ground_truth(store: Store, image_ids: list[int], category_ids: list[int]) -> dict:
    """COCO GT dict of the labels on these images, for these categories, with masks: the same
    builder as the Evaluation dock's (store ids, boxes and areas as stored), so validation mAP
    during training equals the dock's on the same split."""
    return ground_truth(store, store.images(ids=image_ids), with_masks=True, category_ids=category_ids)[0]


def coco_stats(gt: dict, dt: list[dict], iou_type: str) -> list[float]:
    """The 12 COCO summary numbers (-1 where undefined)."""
    if not dt:
        return [0.0] * 12
    return [float(v) for v in evaluate_coco(gt, dt, iou_type=iou_type).stats]


@torch.no_grad()
def predict_for_coco(model, samples: list[SampleRecord], category_of_label: dict[int, int], device,
                     batch_size: int = 4, with_masks: bool = False, amp: bool = False,
                     cancel: CancelToken | None = None) -> list[dict]:
    """COCO results (bbox, score, category_id, and segmentation when asked) for every sample."""
    model.eval()
    out = []
    for k in range(0, len(samples), batch_size):
        if cancel is not None and cancel.cancelled:
            break
        chunk = samples[k:k + batch_size]
        images = [torch.from_numpy(read_rgb(s.path)).permute(2, 0, 1).to(device, torch.float32) / 255 for s in chunk]
        with autocast(device, amp):
            preds = model(images)
        for s, p in zip(chunk, preds):
            boxes = p["boxes"].float().cpu().numpy()
            scores = p["scores"].float().cpu().numpy()
            labels = p["labels"].cpu().numpy()
            masks = (p["masks"][:, 0] > 0.5).cpu().numpy() if with_masks and "masks" in p else None
            for i in range(len(boxes)):
                cat = category_of_label.get(int(labels[i]))
                if cat is None:
                    continue
                x0, y0, x1, y1 = boxes[i].tolist()
                d = {"image_id": s.image_id, "category_id": cat, "bbox": [x0, y0, x1 - x0, y1 - y0],
                     "score": float(scores[i])}
                if masks is not None:
                    d["segmentation"] = geometry.encode_mask(masks[i])
                out.append(d)
    return out


def detection_metrics(model, store_gt: dict, samples, category_of_label, device, task: str,
                      amp: bool = False, cancel=None) -> dict[str, float]:
    with_masks = task == "instance"
    dt = predict_for_coco(model, samples, category_of_label, device, with_masks=with_masks, amp=amp, cancel=cancel)
    metrics = dict(zip(STAT_NAMES, coco_stats(store_gt, [{k: v for k, v in d.items() if k != "segmentation"}
                                                          for d in dt], "bbox")))
    if with_masks:
        segm = coco_stats(store_gt, dt, "segm")
        metrics.update({f"segm_{k}": v for k, v in zip(STAT_NAMES, segm)})
    metrics["detections"] = len(dt)
    return metrics


@torch.no_grad()
def semantic_metrics(model, samples: list[SampleRecord], num_classes: int, device, amp: bool = False,
                     cancel=None, image_size: int | None = None) -> dict[str, float]:
    """Pixel accuracy and mIoU over the classes present in the labels or the predictions. The
    model sees each image at the training size (longest side image_size); its scores are scaled
    back to the labels' size."""
    import torch.nn.functional as F
    model.eval()
    conf = np.zeros((num_classes, num_classes), np.int64)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(3, 1, 1)
    for s in samples:
        if cancel is not None and cancel.cancelled:
            break
        img = torch.from_numpy(read_rgb(s.path)).permute(2, 0, 1).to(device, torch.float32) / 255
        x = ((img - mean) / std)[None]
        if image_size and max(x.shape[-2:]) != image_size:
            scale = image_size / max(x.shape[-2:])
            x = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False, antialias=scale < 1)
        with autocast(device, amp):
            logits = model(x)["out"].float()
        logits = F.interpolate(logits, size=(s.height, s.width), mode="bilinear", align_corners=False)
        pred = logits.argmax(1)[0].cpu().numpy()
        gt = semantic_target(s, s.height, s.width)
        keep = gt != IGNORE
        conf += np.bincount(gt[keep].astype(np.int64) * num_classes + pred[keep],
                            minlength=num_classes ** 2).reshape(num_classes, num_classes)
    inter = np.diag(conf).astype(float)
    union = conf.sum(0) + conf.sum(1) - inter
    present = union > 0
    iou = np.where(present, inter / np.maximum(union, 1), 0.0)
    return {"pixel_accuracy": float(inter.sum() / max(conf.sum(), 1)),
            "miou": float(iou[present].mean()) if present.any() else 0.0}
