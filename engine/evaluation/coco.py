"""COCO evaluation (boxes and masks) with every figure read from the evaluator's own arrays.

pycocotools' summarize() looks up maxDets=100 for the first stat and indexes maxDets[2] for the
others, so a custom maxDets list breaks it. Here the stats are computed from eval["precision"] and
eval["recall"] with the same arithmetic, for whatever maxDets list was asked: the AP stats use the
largest maxDets, then one AR per maxDets entry, then AR by area at the largest. With the default
(1, 10, 100) this is exactly pycocotools' 12 stats.

"-1" means undefined, as in pycocotools (no ground truth for that class, area or subset).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from . import backends
from .columns import Columns, columns_of, read_columns
from .inputs import IOU_TYPES, EvaluationError, check_detections, check_ground_truth, check_image_ids
from .pairs import segm_rles

DEFAULT_MAX_DETS = (1, 10, 100)
AREAS = ("all", "small", "medium", "large")
# hotcoco matches pycocotools on every oracle and edge-case test (tests/engine/evaluation) and is
# about 15 times faster than faster-coco-eval (tests/benchmarks/bench_eval_backends.py), so it is the
# default (requirements/runtime.txt pins it); pycocotools stays the oracle, any backend can be asked for.
DEFAULT_BACKEND = "hotcoco"


def default_backend() -> str:
    return DEFAULT_BACKEND


def _mean_defined(s: np.ndarray) -> float:
    """pycocotools' reduction: the mean of the entries > -1, or -1 when there are none."""
    d = s[s > -1]
    return float(np.mean(d)) if len(d) else -1.0


@dataclass
class ClassMetrics:
    category_id: int
    name: str
    ap: float
    ap50: float
    ap75: float
    ar: float
    ap_small: float
    ap_medium: float
    ap_large: float
    num_gt: int
    num_dt: int


@dataclass
class PRCurve:
    """Precision at COCO's recall thresholds; `scores[i]` is the confidence at which point i is
    reached (NaN for the averaged curve over classes, which has no single threshold)."""
    label: str
    iou: float
    recall: np.ndarray
    precision: np.ndarray
    scores: np.ndarray
    ap: float

    def reached(self) -> "PRCurve":
        """Only the points the detector actually reaches (pycocotools pads the rest with 0)."""
        keep = self.precision > 0
        if keep.any():
            last = int(np.nonzero(keep)[0][-1]) + 1
            keep = np.arange(len(self.recall)) < last
        return PRCurve(self.label, self.iou, self.recall[keep], self.precision[keep], self.scores[keep], self.ap)


@dataclass
class CocoResult:
    iou_type: str
    stats: np.ndarray
    stat_names: list[str]
    stat_lines: list[str]
    precision: np.ndarray  # TxRxKxAxM, as pycocotools' eval["precision"]
    recall: np.ndarray  # TxKxAxM
    scores: np.ndarray  # TxRxKxAxM
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    cat_ids: list[int]
    cat_names: list[str]
    image_ids: list[int]
    max_dets: list[int]
    per_class: list[ClassMetrics]
    backend: str
    seconds: float
    extra: dict = field(default_factory=dict)

    def iou_index(self, iou: float) -> int:
        hits = np.nonzero(np.isclose(self.iou_thrs, iou))[0]
        if not len(hits):
            raise EvaluationError(f"IoU {iou} is not one of the evaluated thresholds "
                                  f"{', '.join(f'{t:.2f}' for t in self.iou_thrs)}")
        return int(hits[0])

    def class_index(self, category_id: int) -> int:
        try:
            return self.cat_ids.index(category_id)
        except ValueError:
            raise EvaluationError(f"category {category_id} was not evaluated") from None

    def pr_curve(self, category_id: int | None = None, iou: float = 0.5, area: str = "all") -> PRCurve:
        """One class's curve, or with category_id None the mean over classes that have ground truth."""
        t, a = self.iou_index(iou), AREAS.index(area)
        if category_id is None:
            p = self.precision[t, :, :, a, -1]  # R x K
            defined = p > -1
            with np.errstate(invalid="ignore"):
                prec = np.where(defined.any(1), np.where(defined, p, 0).sum(1) / defined.sum(1), -1.0)
            return PRCurve("all classes", float(self.iou_thrs[t]), self.rec_thrs.copy(), prec,
                           np.full(len(self.rec_thrs), np.nan), _mean_defined(p))
        k = self.class_index(category_id)
        prec = self.precision[t, :, k, a, -1]
        return PRCurve(self.cat_names[k], float(self.iou_thrs[t]), self.rec_thrs.copy(), prec.copy(),
                       self.scores[t, :, k, a, -1].copy(), _mean_defined(prec))

    def pr_curves(self, iou: float = 0.5, area: str = "all") -> dict[int, PRCurve]:
        return {c: self.pr_curve(c, iou, area) for c in self.cat_ids}

    def to_dict(self) -> dict:
        return {
            "iou_type": self.iou_type, "backend": self.backend, "max_dets": self.max_dets,
            "images": len(self.image_ids),
            "stats": dict(zip(self.stat_names, map(float, self.stats))),
            "per_class": [vars(c) for c in self.per_class],
        }


def _stat_plan(max_dets: list[int]) -> list[tuple[int, float | None, str, int]]:
    """(ap?, iou, area, maxDets) for each stat, in pycocotools' order."""
    top = max_dets[-1]
    plan = [(1, None, "all", top), (1, 0.5, "all", top), (1, 0.75, "all", top),
            (1, None, "small", top), (1, None, "medium", top), (1, None, "large", top)]
    plan += [(0, None, "all", m) for m in max_dets]
    plan += [(0, None, "small", top), (0, None, "medium", top), (0, None, "large", top)]
    return plan


def _summary(acc: backends.Accumulated) -> tuple[np.ndarray, list[str], list[str]]:
    stats, names, lines = [], [], []
    line = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"
    for ap, iou, area, md in _stat_plan(acc.max_dets):
        a = acc.area_labels.index(area)
        m = acc.max_dets.index(md)
        s = acc.precision if ap else acc.recall
        if iou is not None:
            s = s[np.nonzero(np.isclose(acc.iou_thrs, iou))[0]]
        s = s[:, :, :, a, m] if ap else s[:, :, a, m]
        v = _mean_defined(s)
        iou_s = f"{acc.iou_thrs[0]:0.2f}:{acc.iou_thrs[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
        stats.append(v)
        names.append(f"{'AP' if ap else 'AR'}{'' if iou is None else int(round(iou * 100))}"
                     f"{'' if area == 'all' else '_' + area}@{md}")
        lines.append(line.format("Average Precision" if ap else "Average Recall", "(AP)" if ap else "(AR)",
                                 iou_s, area, md, v))
    return np.asarray(stats), names, lines


def _per_class(acc: backends.Accumulated, gt: dict, cols: Columns, image_ids) -> list[ClassMetrics]:
    names = {c["id"]: c.get("name", str(c["id"])) for c in gt["categories"]}
    a_img, a_cat, d_img, d_cat = cols.g_image, cols.g_cat, cols.d_image, cols.d_cat
    a_keep = ~cols.g_crowd
    d_keep = np.ones(len(d_img), bool)
    if image_ids is not None:
        keep = np.fromiter(image_ids, np.int64)
        a_keep &= np.isin(a_img, keep)
        d_keep &= np.isin(d_img, keep)
    cats = np.asarray(acc.cat_ids, np.int64)
    n_gt = dict(zip(*np.unique(a_cat[a_keep], return_counts=True)))
    n_dt = dict(zip(*np.unique(d_cat[d_keep], return_counts=True)))
    n_gt = {int(c): int(n_gt.get(c, 0)) for c in cats}
    n_dt = {int(c): int(n_dt.get(c, 0)) for c in cats}
    t50 = np.nonzero(np.isclose(acc.iou_thrs, 0.5))[0]
    t75 = np.nonzero(np.isclose(acc.iou_thrs, 0.75))[0]
    out = []
    for k, c in enumerate(acc.cat_ids):
        p = acc.precision[:, :, k, :, -1]  # T x R x A
        out.append(ClassMetrics(
            c, names.get(c, str(c)),
            ap=_mean_defined(p[:, :, 0]),
            ap50=_mean_defined(p[t50, :, 0]) if len(t50) else -1.0,
            ap75=_mean_defined(p[t75, :, 0]) if len(t75) else -1.0,
            ar=_mean_defined(acc.recall[:, k, 0, -1]),
            ap_small=_mean_defined(p[:, :, 1]), ap_medium=_mean_defined(p[:, :, 2]),
            ap_large=_mean_defined(p[:, :, 3]),
            num_gt=n_gt.get(c, 0), num_dt=n_dt.get(c, 0)))
    return out


def evaluate_coco(gt: dict, dt: list[dict], iou_type: str = "bbox", image_ids=None,
                  max_dets=DEFAULT_MAX_DETS, backend: str | None = None, columns: Columns | None = None) -> CocoResult:
    """COCO evaluation of results `dt` (COCO results format) against the COCO dict `gt`.

    image_ids: evaluate on this subset only (a split, a filter). max_dets: any ascending list.
    backend: one of backends.BACKENDS (default: default_backend()). columns: where the input was read
    by reader.read_coco_files, the columns it checked. Raises EvaluationError on bad input.
    """
    return start_coco(gt, dt, iou_type, image_ids, max_dets, backend, background=False, columns=columns).result()


class PendingCoco:
    """A COCO evaluation whose input is checked and read (`columns`, `image_ids`: the images it
    scores, rising, `max_dets`) and whose evaluator may still be running on a worker thread."""

    def __init__(self, gt: dict, dt: list[dict], iou_type: str, image_ids, max_dets, backend: str | None,
                 background: bool, columns: Columns | None = None):
        self._start = time.perf_counter()
        self.gt, self.iou_type = gt, iou_type
        cols = None
        if iou_type in IOU_TYPES:  # else check_ground_truth names the IoU type
            cols = columns if columns is not None else read_columns(gt, dt, iou_type)
        if cols is None:
            check_ground_truth(gt, iou_type)
            check_detections(dt, gt, iou_type)
            cols = columns_of(gt, dt)
        self.columns = cols
        self.subset = None if image_ids is None else check_image_ids(image_ids, gt)
        max_dets = sorted(int(m) for m in max_dets)
        if not max_dets or max_dets[0] < 1:
            raise EvaluationError(f"max_dets must be positive integers, got {max_dets}")
        self.max_dets = max_dets
        # Every backend scores the subset, or all images of the ground truth, in rising id order.
        self.image_ids = self.subset if self.subset is not None else sorted(set(cols.image_ids.tolist()))
        self.backend = backend or default_backend()
        # For a report, hotcoco reads the masks as RLEs computed once here for the IoUs of the
        # per-object passes too; for the stats alone it rasterises the polygons itself (cheaper).
        shared = background and iou_type == "segm" and self.backend == "hotcoco"
        self.rles = segm_rles(gt, dt, cols) if shared else None
        job = (self.backend, gt, dt, iou_type, self.subset, max_dets, cols, self.rles)
        self._pool = self._future = self._acc = None
        if background and self.backend == "hotcoco":
            # hotcoco's Rust lets go of the interpreter lock: the per-object passes run meanwhile.
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="coco-eval")
            self._future = self._pool.submit(backends.run, *job)
        else:
            self._acc = backends.run(*job)

    def result(self) -> CocoResult:
        if self._future is not None:
            try:
                self._acc = self._future.result()
            finally:
                self._pool.shutdown()
                self._pool = self._future = None
        acc, gt, cols = self._acc, self.gt, self.columns
        stats, names, lines = _summary(acc)
        cat_names = {c["id"]: c.get("name", str(c["id"])) for c in gt["categories"]}
        return CocoResult(
            iou_type=self.iou_type, stats=stats, stat_names=names, stat_lines=lines,
            precision=acc.precision, recall=acc.recall, scores=acc.scores, iou_thrs=acc.iou_thrs,
            rec_thrs=acc.rec_thrs, cat_ids=acc.cat_ids, cat_names=[cat_names.get(c, str(c)) for c in acc.cat_ids],
            image_ids=acc.image_ids, max_dets=acc.max_dets, per_class=_per_class(acc, gt, cols, self.subset),
            backend=acc.backend, seconds=time.perf_counter() - self._start,
            extra={"columns": cols, "rles": self.rles})


def start_coco(gt: dict, dt: list[dict], iou_type: str = "bbox", image_ids=None, max_dets=DEFAULT_MAX_DETS,
               backend: str | None = None, background: bool = True, columns: Columns | None = None) -> PendingCoco:
    """evaluate_coco in two steps: the input is checked (EvaluationError) before this returns;
    with background (for a report: the per-object passes follow), a thread-friendly evaluator
    (hotcoco) runs on a worker thread until `.result()` is asked for, and for segm reads the masks'
    RLEs that the passes then reuse (`.rles`). columns: as evaluate_coco's."""
    return PendingCoco(gt, dt, iou_type, image_ids, max_dets, backend, background, columns)


def evaluate_project(store, run_id: int, iou_type: str = "bbox", image_ids=None,
                     max_dets=DEFAULT_MAX_DETS, backend: str | None = None, progress=None,
                     images: str = "covered", scope: str | None = None) -> CocoResult:
    """COCO evaluation of run `run_id`'s predictions against the project's labels, on the images
    the run covers (images="covered", default) or on all of image_ids (images="all").

    The returned result carries the COCO dicts in `extra["data"]` (a ProjectData, with the
    image-set text) so that per-object matching can reuse them without reading the store again.
    """
    from .project_data import project_to_coco

    data = project_to_coco(store, run_id, iou_type, image_ids, progress, images, scope)
    result = evaluate_coco(data.gt, data.dt, iou_type, data.image_ids, max_dets, backend, data.columns)
    result.extra["data"] = data
    return result
