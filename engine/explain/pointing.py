"""The pointing game over a project split (Zhang et al.): for every labelled box, does the map's
maximum fall inside it? Per class and per image, with the mean deletion/insertion AUCs; images with
misses come first -- that is where a model may be right for the wrong reason.

Each label is explained as a label-box target (targets.label_box: the model's best matching box of the
label's class), so missed objects are explained too. Semantic models: each label's class over its box.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annotations.errors import CancelToken
from annotations.imageio import ImageReadError, read_rgb
from annotations.model import LABEL

from .explain import explain
from .maps import peak
from .model import DETECTOR, Explainable
from .progress import Progress, Steps
from .targets import RegionClassTarget, label_box


def hit(heat: np.ndarray, box_xywh, tolerance: int = 0) -> bool:
    """Whether the map's peak lies in the box (grown by `tolerance` pixels on each side)."""
    px, py = peak(heat)
    x, y, w, h = box_xywh
    return x - tolerance <= px < x + w + tolerance and y - tolerance <= py < y + h + tolerance


@dataclass
class PointingReport:
    method: str
    layer: str | None
    split: str | None
    images: list[dict] = field(default_factory=list)  # misses first
    per_class: dict[str, dict] = field(default_factory=dict)  # name -> hits, total, accuracy
    skipped: list[str] = field(default_factory=list)

    @property
    def hits(self) -> int:
        return sum(c["hits"] for c in self.per_class.values())

    @property
    def total(self) -> int:
        return sum(c["total"] for c in self.per_class.values())

    @property
    def accuracy(self) -> float | None:
        return self.hits / self.total if self.total else None

    def _mean(self, key: str) -> float | None:
        vals = [t[key] for im in self.images for t in im["targets"] if t.get(key) is not None]
        return float(np.mean(vals)) if vals else None

    def to_dict(self) -> dict:
        return {"method": self.method, "layer": self.layer, "split": self.split, "accuracy": self.accuracy,
                "hits": self.hits, "total": self.total, "mean_deletion_auc": self._mean("deletion_auc"),
                "mean_insertion_auc": self._mean("insertion_auc"), "per_class": self.per_class,
                "images": self.images, "skipped": self.skipped}


def _target(model: Explainable, ann, name: str, shape):
    label = model.label_index(name)
    if model.kind == DETECTOR:
        return label_box(ann.bbox, label, name)
    x, y, w, h = (int(round(v)) for v in ann.bbox)
    mask = np.zeros(shape[:2], bool)
    mask[max(0, y):y + h, max(0, x):x + w] = True
    return RegionClassTarget(label, name, mask)


def pointing_game(model: Explainable, store, image_ids: list[int], method: str, layer: str | None = None,
                  params: dict | None = None, faithfulness: bool = True, auc_steps: int = 16, tolerance: int = 0,
                  split: str | None = None, progress: Progress = None,
                  cancel: CancelToken | None = None) -> PointingReport:
    """Explain every label of the images; progress counts images."""
    report = PointingReport(method, layer, split)
    names = {c.id: c.name for c in store.categories()}
    records = {r.id: r for r in store.images(ids=image_ids)}
    steps = Steps(len(image_ids), progress, cancel)
    for image_id in image_ids:
        steps.check()
        rec = records.get(image_id)
        anns = [a for a in store.annotations(image_id=image_id, status=LABEL) if a.bbox[2] > 0 and a.bbox[3] > 0]
        if rec is None or not anns:
            steps.step()
            continue
        try:
            rgb = read_rgb(store.image_path(rec))
        except ImageReadError as e:
            report.skipped.append(f"{e}")
            steps.step()
            continue
        rows = []
        for a in anns:
            name = names.get(a.category_id, "?")
            if name not in model.categories:
                report.skipped.append(f"{rec.file_name}: label {a.id} of class {name!r}, which the model lacks")
                continue
            e = explain(model, rgb, _target(model, a, name, rgb.shape), method, layer, params, faithfulness,
                        auc_steps, cancel=cancel)
            report.layer = e.layer
            ok = hit(e.heatmap, a.bbox, tolerance)
            rows.append({"annotation_id": a.id, "class": name, "box_xywh": [float(v) for v in a.bbox], "hit": ok,
                         "peak_xy": list(peak(e.heatmap)), "probability": e.probability,
                         "deletion_auc": e.deletion_auc, "insertion_auc": e.insertion_auc})
            c = report.per_class.setdefault(name, {"hits": 0, "total": 0, "accuracy": None})
            c["hits"] += int(ok)
            c["total"] += 1
            c["accuracy"] = c["hits"] / c["total"]
        if rows:
            hits = sum(r["hit"] for r in rows)
            report.images.append({"image_id": image_id, "file_name": rec.file_name, "hits": hits,
                                  "total": len(rows), "targets": rows})
        steps.step()
    report.images.sort(key=lambda im: (im["hits"] / im["total"], im["image_id"]))
    return report
