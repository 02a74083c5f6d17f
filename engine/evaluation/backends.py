"""The COCO evaluators behind evaluate_coco: pycocotools (the oracle), hotcoco (a Rust port, the
fast path) and faster-coco-eval.

All return the same thing: the accumulated arrays ("precision" TxRxKxAxM, "recall" TxKxAxM,
"scores" TxRxKxAxM) and the parameters they were computed with. Neither prints.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np

from .reader import Record, as_dicts

BACKENDS = ("hotcoco", "pycocotools", "faster", "ultrafast")


@dataclass
class Accumulated:
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    cat_ids: list[int]
    image_ids: list[int]
    area_labels: list[str]
    max_dets: list[int]
    backend: str


def _copies(dt: list[dict]) -> list[dict]:
    # loadRes writes id/area (and for boxes a polygon) into each result: keep the caller's intact.
    return [d.as_dict() if isinstance(d, Record) else dict(d) for d in dt]


def _plain(gt: dict) -> dict:
    """The ground truth with plain dicts for labels (reader.read_coco_files gives records), for an
    evaluator that walks or writes into them."""
    anns = gt["annotations"]
    return gt if not anns or isinstance(anns[0], dict) else {**gt, "annotations": as_dicts(anns)}


def _evaluated(ev, image_ids, max_dets, library: str) -> Accumulated:
    """Run a pycocotools-style COCOeval (pycocotools, ultrafast, faster-coco-eval, hotcoco) over
    image_ids (None: all) with max_dets, and read its accumulated arrays."""
    if image_ids is not None:
        ev.params.imgIds = list(image_ids)
    ev.params.maxDets = list(max_dets)
    ev.evaluate()
    ev.accumulate()
    p, e = ev.params, ev.eval
    return Accumulated(np.asarray(e["precision"]), np.asarray(e["recall"]), np.asarray(e["scores"]),
                       np.asarray(p.iouThrs), np.asarray(p.recThrs), [int(c) for c in p.catIds],
                       [int(i) for i in p.imgIds], list(p.areaRngLbl), [int(m) for m in p.maxDets], library)


def run_pycocotools(gt: dict, dt: list[dict], iou_type: str, image_ids, max_dets,
                    library: str = "pycocotools") -> Accumulated:
    if library == "ultrafast":  # ultrafast-pycocotools: pycocotools' classes, evaluated in Rust
        from ultrafast_pycocotools import COCO, COCOeval
    else:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = _plain(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(_copies(dt))
        return _evaluated(COCOeval(coco_gt, coco_dt, iou_type), image_ids, max_dets, library)


def run_faster(gt: dict, dt: list[dict], iou_type: str, image_ids, max_dets) -> Accumulated:
    from faster_coco_eval import COCO, COCOeval_faster

    quiet = lambda *a, **k: None  # noqa: E731
    coco_gt = COCO(_plain(gt), print_function=quiet)
    coco_dt = coco_gt.loadRes(_copies(dt))
    return _evaluated(COCOeval_faster(coco_gt, coco_dt, iou_type, print_function=quiet), image_ids, max_dets,
                      "faster")


def run_hotcoco(gt: dict, dt: list[dict], iou_type: str, image_ids, max_dets, columns=None,
                rles=None) -> Accumulated:
    import hotcoco

    c = columns
    if iou_type == "bbox" and c is not None and c.g_box is not None and c.d_box is not None:
        # From the columns already read: 2-3x cheaper than hotcoco walking the dicts, same figures.
        coco_gt = hotcoco.COCO.from_arrays(gt["images"], gt["categories"], c.g_image, c.g_cat, c.g_box, ids=c.g_id,
                                           area=c.g_area, iscrowd=c.g_crowd.astype(np.int64))
        coco_dt = coco_gt.loadRes(np.column_stack([c.d_image.astype(np.float64), c.d_box, c.d_score,
                                                   c.d_cat.astype(np.float64)]))
    elif iou_type == "segm" and c is not None and rles is not None:
        # Masks as the RLEs already computed for the IoUs (pairs.segm_rles): hotcoco neither walks
        # the dicts nor rasterises the polygons again. Boxes play no part in segm matching; a
        # result's area is its mask's, as in loadRes.
        from pycocotools import mask as mask_utils

        g_rle, d_rle = rles
        g_box = c.g_box if c.g_box is not None else np.asarray(mask_utils.toBbox(g_rle)).reshape(-1, 4)
        d_box = c.d_box if c.d_box is not None else np.asarray(mask_utils.toBbox(d_rle)).reshape(-1, 4)
        coco_gt = hotcoco.COCO.from_arrays(gt["images"], gt["categories"], c.g_image, c.g_cat, g_box, ids=c.g_id,
                                           area=c.g_area, iscrowd=c.g_crowd.astype(np.int64), segmentation=g_rle)
        coco_dt = coco_gt.loadRes(np.column_stack([c.d_image.astype(np.float64), d_box, c.d_score,
                                                   c.d_cat.astype(np.float64)]), segmentation=d_rle)
        # loadRes numbers the results 1..N in order; from an array it takes the box's area, where
        # pycocotools' loadRes takes the mask's (counted by hotcoco: pycocotools' mask.area of a list
        # of more than 255 masks overflows under numpy 2).
        coco_dt.update_anns(ids=np.arange(1, len(d_rle) + 1), area=hotcoco.mask.area(d_rle).astype(np.float64))
    else:
        # hotcoco copies what it is given (its loadRes writes nothing back into the caller's results).
        coco_gt = hotcoco.COCO(_plain(gt))
        coco_dt = coco_gt.loadRes(as_dicts(dt))
    return _evaluated(hotcoco.COCOeval(coco_gt, coco_dt, iou_type), image_ids, max_dets, "hotcoco")


def run(backend: str, gt: dict, dt: list[dict], iou_type: str, image_ids, max_dets, columns=None,
        rles=None) -> Accumulated:
    """columns: the input's Columns (hotcoco then reads boxes from arrays); rles: for segm, the
    masks as pairs.segm_rles gives them (hotcoco then reads those)."""
    if backend in ("pycocotools", "ultrafast"):
        return run_pycocotools(gt, dt, iou_type, image_ids, max_dets, backend)
    if backend == "hotcoco":
        return run_hotcoco(gt, dt, iou_type, image_ids, max_dets, columns, rles)
    if backend == "faster":
        return run_faster(gt, dt, iou_type, image_ids, max_dets)
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
