"""A project's labels and one run's predictions, as the COCO dicts the evaluators read.

`ground_truth` is the one builder of COCO ground truth from the store: the Evaluation dock, `main.py
evaluate --project` and training-time validation all call it, so they score the same labels the
same way. Labels (status "label") are ground truth; ids, boxes and areas are the store's (as the
COCO exporter writes them, so a project evaluates like its exported files), never renumbered or
recomputed. Predictions of the chosen run are detections; `dt_ids[i]` is the store id of detection i
(pycocotools renumbers results, so the list is the way back).

Which images: by default those the run covers (see covered_image_ids), within the chosen subset.
Scoring a run that saw one image against all of them would count every other image's labels as
missed; the text of ProjectData.image_set says which set was used and how it was known.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from annotations.errors import Cancelled
from annotations.wording import counted
from annotations import geometry
from annotations.model import LABEL, PREDICTION, ImageRecord
from annotations.store import Store

from .columns import Columns, known_columns
from .inputs import EvaluationError

IMAGE_SETS = ("covered", "all")


@dataclass
class ProjectData:
    gt: dict
    dt: list[dict]
    dt_ids: list[int]
    image_ids: list[int]
    difficult_ids: set[int] = field(default_factory=set)
    image_set: str = ""  # which images, in words
    image_set_short: str = ""  # the same in a few words, for a status line
    columns: Columns | None = None  # gt's and dt's columns (columns.known_columns)


def ground_truth(store: Store, images: list[ImageRecord], with_masks: bool, category_ids=None,
                 progress: Callable[[int, int], bool | None] | None = None) -> tuple[dict, set[int]]:
    """(COCO ground-truth dict of the labels on `images`, ids of the difficult ones).

    with_masks: add each label's RLE segmentation. category_ids: only these categories (default
    all the project's). progress(done, total) may return False to cancel."""
    sizes = {im.id: (im.height, im.width) for im in images}
    cats = store.categories()
    if category_ids is not None:
        wanted_cats = set(category_ids)
        cats = [c for c in cats if c.id in wanted_cats]
    cat_set = {c.id for c in cats}
    if with_masks:  # the records: their outlines make the masks
        labels = [a for a in store.annotations(status=LABEL, image_ids=list(sizes))
                  if a.image_id in sizes and a.category_id in cat_set]
        rows = [(a.id, a.image_id, a.category_id, a.bbox, a.area, a.iscrowd, a.extra) for a in labels]
    else:
        rows = [(r[0], r[1], r[2], r[3:7], r[7], r[8], r[10] or {}) for r in store.box_rows(LABEL, image_ids=sizes)
                if r[2] in cat_set]
    anns, difficult = [], set()
    for i, (ann_id, image_id, category_id, bbox, area, iscrowd, extra) in enumerate(rows):
        if progress is not None and i % 500 == 0 and progress(i, len(rows)) is False:
            raise Cancelled("evaluation cancelled")
        entry = {"id": ann_id, "image_id": image_id, "category_id": category_id, "bbox": list(bbox),
                 "area": float(area), "iscrowd": int(iscrowd)}
        if with_masks:
            entry["segmentation"] = geometry.annotation_rle(labels[i], *sizes[image_id])
        if extra.get("difficult"):
            difficult.add(ann_id)
        anns.append(entry)
    gt = {"images": [{"id": im.id, "width": im.width, "height": im.height, "file_name": im.file_name}
                     for im in images],
          "annotations": anns,
          "categories": [{"id": c.id, "name": c.name, "supercategory": c.supercategory} for c in cats]}
    return gt, difficult


def _images(n: int) -> str:
    return counted(n, "image")


def covered_image_ids(store: Store, run_id: int, predicted: set[int] | None = None,
                      n_images: int | None = None) -> tuple[set[int] | None, str]:
    """(the images run `run_id` covers, or None for every image; how that is known).

    In this order: the list the run recorded (params["image_ids"]); for an interactive run (the
    window's "predict this image", params["interactive"]) or a batch run that counted fewer images
    than the project holds (params["images"] < n_images), the images it has predictions on; else,
    for a run that records nothing (imports of results files, older runs), every image."""
    run = store.run(run_id)
    params = run.params if run is not None else {}
    recorded = params.get("image_ids")
    if isinstance(recorded, list) and recorded:
        return {int(i) for i in recorded}, "as it recorded them"
    if predicted is None:
        predicted = {a.image_id for a in store.annotations(status=PREDICTION, run_id=run_id)}
    if params.get("interactive"):
        return set(predicted), "the images it predicted on, one by one"
    count = params.get("images")
    if isinstance(count, int) and n_images is not None and count < n_images:
        return set(predicted), f"it predicted {count} images without recording which: those with predictions"
    return None, f"run #{run_id} does not record which images it saw"


def project_to_coco(store: Store, run_id: int, iou_type: str = "bbox", image_ids=None,
                    progress: Callable[[int, int], bool | None] | None = None, images: str = "covered",
                    scope: str | None = None) -> ProjectData:
    """images: "covered" (default) or "all" (every chosen image; see the module text). scope: how
    to name the chosen subset in the image-set text (default "the project" or "the chosen images")."""
    if images not in IMAGE_SETS:
        raise EvaluationError(f"images must be one of {', '.join(IMAGE_SETS)}, not {images!r}")
    run = store.run(run_id)
    if run is None:
        known = ", ".join(str(r.id) for r in store.runs()) or "none"
        raise EvaluationError(f"project {store.root}: no model run {run_id} (runs: {known})")
    chosen = store.images(ids=image_ids) if image_ids is not None else store.images()
    if image_ids is not None:
        missing = sorted(set(image_ids) - {im.id for im in chosen})
        if missing:
            raise EvaluationError(f"project {store.root}: images {missing[:5]} are not in the project")
    if not chosen:
        raise EvaluationError(f"project {store.root}: no images to evaluate")
    scope = scope or ("the project" if image_ids is None else "the chosen images")
    # (id, image, category, score, box or the record): boxes are read without their outlines, masks
    # are made from the records.
    if iou_type == "segm":
        all_preds = [(a.id, a.image_id, a.category_id, a.score, a)
                     for a in store.annotations(status=PREDICTION, run_id=run_id)]
    else:
        all_preds = [(r[0], r[1], r[2], r[9], r[3:7]) for r in store.box_rows(PREDICTION, run_id=run_id)]
    chosen_ids = {im.id for im in chosen}
    covered, how = covered_image_ids(store, run_id, {p[1] for p in all_preds}, len(store.image_ids()))
    unknown = covered is None
    covered = chosen_ids if unknown else covered & chosen_ids
    if not covered:
        raise EvaluationError(f"project {store.root}: run {run_id} ({run.model}) has no predictions "
                              f"on the {len(chosen)} chosen images")
    short = f"all {_images(len(chosen))}"
    if images == "covered":
        kept = [im for im in chosen if im.id in covered]
        if len(kept) < len(chosen):
            short = f"{len(kept)} of {_images(len(chosen))}, those run #{run_id} covers"
        if unknown:
            text = f"all {_images(len(chosen))} of {scope} ({how})"
        elif len(kept) == len(chosen):
            text = f"all {_images(len(chosen))} of {scope}, all covered by run #{run_id} ({how})"
        else:
            text = (f"the {_images(len(kept))} run #{run_id} covers ({how}), of {len(chosen)} in {scope}; "
                    f"the other {len(chosen) - len(kept)} are left out")
    else:
        kept = chosen
        text = f"all {_images(len(chosen))} of {scope}"
        if len(covered) < len(chosen):
            text += (f", {len(chosen) - len(covered)} of them not covered by run #{run_id} "
                     "(their labels count as missed)")
            short += f", {len(chosen) - len(covered)} not covered by run #{run_id}"
    sizes = {im.id: (im.height, im.width) for im in kept}
    preds = [p for p in all_preds if p[1] in sizes]
    if not preds:
        raise EvaluationError(f"project {store.root}: run {run_id} ({run.model}) has no predictions "
                              f"on the {len(kept)} chosen images")
    gt, difficult = ground_truth(store, kept, iou_type == "segm", progress=progress)
    dt, dt_ids = [], []
    for i, (ann_id, image_id, category_id, score, shape) in enumerate(preds):
        if progress is not None and i % 500 == 0 and progress(i, len(preds)) is False:
            raise Cancelled("evaluation cancelled")
        entry = {"image_id": image_id, "category_id": category_id, "score": float(score if score is not None else 1.0)}
        if iou_type == "segm":
            # No bbox: pycocotools' loadRes would then take the box area for the area ranges.
            entry["segmentation"] = geometry.annotation_rle(shape, *sizes[image_id])
        else:
            entry["bbox"] = list(shape)
        dt.append(entry)
        dt_ids.append(ann_id)
    if not gt["categories"]:
        raise EvaluationError(f"project {store.root}: no categories")
    return ProjectData(gt, dt, dt_ids, [im.id for im in kept], difficult, text, short,
                       known_columns(gt, dt, iou_type))
