"""What the registry knows of a model (ModelSpec) and the words for tasks and head layouts: shared by
the registry and the model modules of engine/models/, which declare their models with it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torchvision

from annotations.errors import SightlineError

DETECTION, INSTANCE, SEMANTIC = "detection", "instance", "semantic"
TASKS = (DETECTION, INSTANCE, SEMANTIC)
BACKGROUND = "__background__"
PLACEHOLDER = "N/A"  # COCO ids with no class; a model label with this name is never a result

# How the rows of a class-indexed output layer are laid out when each class has several rows:
# "class_major": rows c*k .. c*k+k-1 belong to class c (Faster R-CNN's box regressor);
# "anchor_major": row a*K + c is class c of anchor a (RetinaNet, FCOS, SSD classification heads).
CLASS_MAJOR, ANCHOR_MAJOR = "class_major", "anchor_major"


class NoPublishedWeights(SightlineError, LookupError):
    """A model with no published weights was asked for them."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} has no published weights: start it from random weights and train it "
                         "(Training tab or `main.py train`), or load a checkpoint of it.")
        self.name = name


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str  # DETECTION | INSTANCE | SEMANTIC
    categories: tuple[str, ...]  # index = label the model outputs
    min_size: int  # shorter side the model resizes its input to
    default_score: float  # score threshold shown to users by default
    max_size: int = 1333
    family: str = ""  # "fasterrcnn", "retinanet", ... (what heads look like)
    head_layout: str = CLASS_MAJOR
    default_nms_iou: float = 0.5
    description: str = ""
    builder: Callable[..., torch.nn.Module] | None = None  # None = torchvision's builder of that name

    @property
    def has_weights(self) -> bool:
        """Whether published weights exist ("default" source); compact models have none."""
        return self.builder is None

    @property
    def weights_enum(self):
        """torchvision's weights enum for this model (metadata only; nothing is downloaded)."""
        if not self.has_weights:
            raise NoPublishedWeights(self.name)
        return torchvision.models.get_model_weights(self.name)

    @property
    def default_weights(self):
        return self.weights_enum.DEFAULT

    @property
    def fixed_size(self) -> bool:
        """SSD models always resize to a fixed square; min_size/max_size do not apply."""
        return self.family in ("ssd", "ssdlite")
