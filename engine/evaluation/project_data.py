"""A project's labels and one run's predictions, as the COCO dicts the evaluators read.

Labels (status "label") are ground truth, predictions of the chosen run are detections. Store ids
are kept: COCO annotation ids are the store's annotation ids, and `dt_ids[i]` is the store id of
detection i (pycocotools renumbers results, so the list is the way back).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from annotations import geometry
from annotations.model import LABEL, PREDICTION
from annotations.store import Store

from .inputs import EvaluationError


@dataclass
class ProjectData:
    gt: dict
    dt: list[dict]
    dt_ids: list[int]
    image_ids: list[int]
    difficult_ids: set[int] = field(default_factory=set)


def _segmentation(ann, height: int, width: int) -> dict:
    return geometry.annotation_rle(ann, height, width)


def project_to_coco(store: Store, run_id: int, iou_type: str = "bbox", image_ids=None,
                    progress: Callable[[int, int], bool | None] | None = None) -> ProjectData:
    run = store.run(run_id)
    if run is None:
        known = ", ".join(str(r.id) for r in store.runs()) or "none"
        raise EvaluationError(f"project {store.root}: no model run {run_id} (runs: {known})")
    images = store.images(ids=image_ids) if image_ids is not None else store.images()
    if image_ids is not None:
        missing = sorted(set(image_ids) - {im.id for im in images})
        if missing:
            raise EvaluationError(f"project {store.root}: images {missing[:5]} are not in the project")
    if not images:
        raise EvaluationError(f"project {store.root}: no images to evaluate")
    sizes = {im.id: (im.height, im.width) for im in images}
    wanted = set(sizes)
    labels = [a for a in store.annotations(status=LABEL) if a.image_id in wanted]
    preds = [a for a in store.annotations(status=PREDICTION, run_id=run_id) if a.image_id in wanted]
    if not preds:
        raise EvaluationError(f"project {store.root}: run {run_id} ({run.model}) has no predictions "
                              f"on the {len(images)} chosen images")
    total = len(labels) + len(preds)
    gt_anns, dt, dt_ids, difficult = [], [], [], set()
    for i, a in enumerate(labels):
        if progress is not None and i % 500 == 0 and progress(i, total) is False:
            raise InterruptedError("cancelled")
        entry = {"id": a.id, "image_id": a.image_id, "category_id": a.category_id, "bbox": list(a.bbox),
                 "area": float(a.area), "iscrowd": int(a.iscrowd)}
        if iou_type == "segm":
            entry["segmentation"] = _segmentation(a, *sizes[a.image_id])
        if a.extra.get("difficult"):
            difficult.add(a.id)
        gt_anns.append(entry)
    for i, a in enumerate(preds):
        if progress is not None and i % 500 == 0 and progress(len(labels) + i, total) is False:
            raise InterruptedError("cancelled")
        entry = {"image_id": a.image_id, "category_id": a.category_id,
                 "score": float(a.score if a.score is not None else 1.0)}
        if iou_type == "segm":
            # No bbox: pycocotools' loadRes would then take the box area for the area ranges.
            entry["segmentation"] = _segmentation(a, *sizes[a.image_id])
        else:
            entry["bbox"] = list(a.bbox)
        dt.append(entry)
        dt_ids.append(a.id)
    gt = {
        "images": [{"id": im.id, "width": im.width, "height": im.height, "file_name": im.file_name}
                   for im in images],
        "annotations": gt_anns,
        "categories": [{"id": c.id, "name": c.name, "supercategory": c.supercategory}
                       for c in store.categories()],
    }
    if not gt["categories"]:
        raise EvaluationError(f"project {store.root}: no categories")
    return ProjectData(gt, dt, dt_ids, [im.id for im in images], difficult)
