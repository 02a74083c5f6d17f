"""Plain dataclasses for what a project holds. No behaviour beyond small conveniences."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

SPLITS = ("train", "val", "test", "")  # "" = not assigned

# Annotation kinds. A box has only a bbox; a polygon has rings (COCO style: parts are
# unioned) and optional holes; a mask is a COCO RLE.
BOX, POLYGON, MASK = "box", "polygon", "mask"
KINDS = (BOX, POLYGON, MASK)

# Status: a label is ground truth; a prediction is what a model proposed and is not a label
# until accepted.
LABEL, PREDICTION = "label", "prediction"

HAND = "hand"  # source of an annotation drawn or imported by a person


@dataclass
class Category:
    id: int | None
    name: str
    supercategory: str = ""
    color: str = ""  # "#rrggbb", empty = automatic
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImageRecord:
    id: int | None
    file_name: str  # relative to the project folder, "/" separated (or absolute if outside)
    width: int
    height: int
    split: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # other COCO image fields, kept on export


@dataclass
class Annotation:
    id: int | None
    image_id: int
    category_id: int
    kind: str = BOX
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x, y, w, h in pixels
    polygons: list[list[float]] | None = None  # [[x0, y0, x1, y1, ...], ...]
    holes: list[list[float]] | None = None
    rle: dict | None = None  # {"size": [h, w], "counts": str} (compressed)
    area: float | None = None  # None = computed from the geometry
    iscrowd: int = 0
    score: float | None = None
    status: str = LABEL
    source: str = HAND  # "hand" or the model name that proposed it
    run_id: int | None = None  # the model run a prediction came from
    created_by: str = ""
    created_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)  # other COCO fields, kept on export

    @property
    def is_prediction(self) -> bool:
        return self.status == PREDICTION


@dataclass
class ModelRun:
    """One batch of predictions (or a training run) recorded in the project."""
    id: int | None
    model: str
    weights: str = ""
    kind: str = "predict"  # "predict" | "train" | "import"
    params: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
