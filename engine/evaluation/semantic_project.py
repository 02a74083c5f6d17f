"""Semantic-segmentation metrics of one run against a project's labels.

Class maps are painted per image: index 0 is "background" (no label there), index k+1 is the
project's k-th category (by id). Labels are painted in id order (a later label wins where two
overlap); crowd labels paint IGNORE (255), so those pixels count for nothing. Predictions are
painted in rising score order, so where masks overlap the most confident one decides. Boxes and
polygons count by the pixels pycocotools rasterises for them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from annotations.errors import Cancelled
from annotations import geometry
from annotations.model import LABEL, PREDICTION

from .inputs import EvaluationError
from .semantic import IGNORE, SemanticConfusion, SemanticMetrics

BACKGROUND = "background"


def _paint(anns, h: int, w: int, index_of: dict[int, int], crowd_ignored: bool) -> np.ndarray:
    out = np.zeros((h, w), np.int32)
    for a in anns:
        mask = geometry.decode_rle(geometry.annotation_rle(a, h, w)).astype(bool)
        out[mask] = IGNORE if (crowd_ignored and a.iscrowd) else index_of[a.category_id]
    return out


def evaluate_project_semantic(store, run_id: int, image_ids=None,
                              progress: Callable[[int, int], bool | None] | None = None) -> SemanticMetrics:
    run = store.run(run_id)
    if run is None:
        known = ", ".join(str(r.id) for r in store.runs()) or "none"
        raise EvaluationError(f"project {store.root}: no model run {run_id} (runs: {known})")
    cats = store.categories()
    if len(cats) + 1 >= IGNORE:
        raise EvaluationError(f"project {store.root}: {len(cats)} categories; semantic maps hold at most 253")
    index_of = {c.id: k + 1 for k, c in enumerate(cats)}
    images = store.images(ids=image_ids) if image_ids is not None else store.images()
    if not images:
        raise EvaluationError(f"project {store.root}: no images to evaluate")
    wanted = {im.id for im in images}
    labels: dict[int, list] = {}
    for a in store.annotations(status=LABEL):
        if a.image_id in wanted:
            labels.setdefault(a.image_id, []).append(a)
    preds: dict[int, list] = {}
    n_preds = 0
    for a in store.annotations(status=PREDICTION, run_id=run_id):
        if a.image_id in wanted:
            preds.setdefault(a.image_id, []).append(a)
            n_preds += 1
    if not n_preds:
        raise EvaluationError(f"project {store.root}: run {run_id} ({run.model}) has no predictions "
                              f"on the {len(images)} chosen images")
    conf = SemanticConfusion(len(cats) + 1)
    for i, im in enumerate(images):
        if progress is not None and progress(i, len(images)) is False:
            raise Cancelled("evaluation cancelled")
        gt = _paint(labels.get(im.id, []), im.height, im.width, index_of, True)
        ordered = sorted(preds.get(im.id, []), key=lambda a: a.score if a.score is not None else 1.0)
        pred = _paint(ordered, im.height, im.width, index_of, False)
        conf.update(gt, pred, name=im.file_name)
    return conf.metrics([BACKGROUND] + [c.name for c in cats])


def format_semantic(m: SemanticMetrics) -> str:
    def f(v):
        return "    -" if np.isnan(v) else f"{v:5.3f}"
    lines = [f"pixel accuracy       {f(m.pixel_accuracy)}",
             f"mean pixel accuracy  {f(m.mean_pixel_accuracy)}",
             f"mIoU                 {f(m.miou)}",
             f"mean Dice            {f(m.mean_dice)}",
             "",
             f"{'class':<20} {'IoU':>5} {'Dice':>5} {'acc':>5} {'pixels':>9}"]
    gt_px = m.confusion.sum(1)
    for k, name in enumerate(m.class_names):
        lines.append(f"{name[:20]:<20} {f(m.iou[k])} {f(m.dice[k])} {f(m.class_accuracy[k])} {int(gt_px[k]):>9}")
    lines.append("(classes absent from both labels and predictions: '-' and left out of the means)")
    return "\n".join(lines)
