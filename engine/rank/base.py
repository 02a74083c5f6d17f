"""What every ranking strategy shares: its options, its input, its declaration, and aggregation.

A strategy turns a run's stored predictions (and the labels, or a second run) into one ImageScore
per candidate image, each with per-object scores. Candidates are the unlabelled images for the
strategies that choose what to label next, the labelled ones for those that look for wrong labels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from annotations.errors import SightlineError
from annotations.model import Annotation, ImageRecord
from annotations.scores import ImageScore, ObjectScore

UNLABELLED, LABELLED = "unlabelled", "labelled"
AGGREGATES = ("max", "mean")


class RankError(SightlineError):
    """A ranking that cannot be made as asked; the message says why and what to do."""


@dataclass
class RankOptions:
    aggregate: str = "max"  # per-image score from per-object ones: "max" or "mean"
    threshold: float = 0.5  # the decision threshold "near the threshold" refers to
    band: float = 0.1  # an object is near the threshold when |confidence - threshold| <= band
    group_iou: float = 0.7  # predictions of different classes overlapping this much are one object
    iou: float = 0.5  # matching IoU (disagreement, mistakenness), as FiftyOne Brain's 0.5
    # mistakenness: a detection is confident (a possibly missing label, or a possibly wrong class) above
    # this; None: relative to the run (strategies/mistakenness.py says how, and why not 0.95)
    missing_confidence: float | None = None

    def check(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise RankError(f"aggregate must be one of {', '.join(AGGREGATES)}, not {self.aggregate!r}")
        for name in ("threshold", "band", "group_iou", "iou", "missing_confidence"):
            v = getattr(self, name)
            if v is None and name == "missing_confidence":
                continue
            if not 0.0 <= v <= 1.0:
                raise RankError(f"{name} must be between 0 and 1, not {v}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RankInput:
    """Everything a strategy reads, from the store, grouped per candidate image."""
    images: list[ImageRecord]  # the candidates, by id
    predictions: dict[int, list[Annotation]]  # run's predictions per image id
    predictions2: dict[int, list[Annotation]] | None = None  # the second run's (disagreement)
    labels: dict[int, list[Annotation]] = field(default_factory=dict)
    category_ids: list[int] = field(default_factory=list)  # the project's categories


Score = Callable[[RankInput, RankOptions], list[ImageScore]]


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    candidates: str  # UNLABELLED | LABELLED
    score: Score
    needs_run2: bool = False


def aggregate(objects: list[ObjectScore], how: str) -> float:
    """The image's score from its objects' (0 for an image without any)."""
    if not objects:
        return 0.0
    values = np.fromiter((o.score for o in objects), float, len(objects))
    return float(values.max() if how == "max" else values.mean())


def image_score(image_id: int, objects: list[ObjectScore], how: str, **extra) -> ImageScore:
    """An ImageScore with its objects sorted best first (ties keep their order)."""
    ordered = sorted(objects, key=lambda o: -o.score)
    return ImageScore(image_id, aggregate(ordered, how), ordered, dict(extra))
