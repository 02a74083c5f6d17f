"""The models this app runs: torchvision detectors and segmenters, by name and task.

Category names come from torchvision's weights metadata (read without downloading anything):
COCO for the detectors, with "__background__" at 0 and "N/A" placeholders where COCO has no
class, so a model's label index is COCO's category id; VOC for the semantic segmenters.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch
import torchvision
from torchvision.models import detection as tv_detection
from torchvision.models import segmentation as tv_segmentation

from annotations.errors import SightlineError

from . import weight_cache

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


class UnknownModel(SightlineError, KeyError):
    """A model name the registry does not know (a KeyError too, for lookups that expect one)."""

    def __str__(self) -> str:  # KeyError's own would quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


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


def _coco() -> tuple[str, ...]:
    return tuple(tv_detection.FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"])


def _voc() -> tuple[str, ...]:
    return tuple(tv_segmentation.FCN_ResNet50_Weights.DEFAULT.meta["categories"])


def _specs() -> dict[str, ModelSpec]:
    coco, voc = _coco(), _voc()
    rows = [
        # name, task, categories, min_size, max_size, default score, family, layout, description
        ("fasterrcnn_resnet50_fpn", DETECTION, coco, 800, 1333, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN, ResNet-50 FPN"),
        ("fasterrcnn_resnet50_fpn_v2", DETECTION, coco, 800, 1333, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN v2, ResNet-50 FPN (more accurate, slower)"),
        ("fasterrcnn_mobilenet_v3_large_fpn", DETECTION, coco, 800, 1333, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN, MobileNetV3-Large FPN"),
        ("fasterrcnn_mobilenet_v3_large_320_fpn", DETECTION, coco, 320, 640, 0.5, "fasterrcnn", CLASS_MAJOR,
         "Faster R-CNN, MobileNetV3-Large FPN at 320 px (fast, for live video on a CPU)"),
        ("retinanet_resnet50_fpn", DETECTION, coco, 800, 1333, 0.4, "retinanet", ANCHOR_MAJOR,
         "RetinaNet, ResNet-50 FPN"),
        ("retinanet_resnet50_fpn_v2", DETECTION, coco, 800, 1333, 0.4, "retinanet", ANCHOR_MAJOR,
         "RetinaNet v2, ResNet-50 FPN"),
        ("fcos_resnet50_fpn", DETECTION, coco, 800, 1333, 0.4, "fcos", ANCHOR_MAJOR,
         "FCOS, ResNet-50 FPN (anchor free)"),
        ("ssd300_vgg16", DETECTION, coco, 300, 300, 0.4, "ssd", ANCHOR_MAJOR,
         "SSD 300, VGG-16"),
        ("ssdlite320_mobilenet_v3_large", DETECTION, coco, 320, 320, 0.4, "ssdlite", ANCHOR_MAJOR,
         "SSDlite 320, MobileNetV3-Large (fastest)"),
        ("maskrcnn_resnet50_fpn", INSTANCE, coco, 800, 1333, 0.5, "maskrcnn", CLASS_MAJOR,
         "Mask R-CNN, ResNet-50 FPN"),
        ("maskrcnn_resnet50_fpn_v2", INSTANCE, coco, 800, 1333, 0.5, "maskrcnn", CLASS_MAJOR,
         "Mask R-CNN v2, ResNet-50 FPN"),
        ("fcn_resnet50", SEMANTIC, voc, 520, 520, 0.0, "fcn", CLASS_MAJOR, "FCN, ResNet-50"),
        ("fcn_resnet101", SEMANTIC, voc, 520, 520, 0.0, "fcn", CLASS_MAJOR, "FCN, ResNet-101"),
        ("deeplabv3_resnet50", SEMANTIC, voc, 520, 520, 0.0, "deeplabv3", CLASS_MAJOR,
         "DeepLabV3, ResNet-50"),
        ("deeplabv3_resnet101", SEMANTIC, voc, 520, 520, 0.0, "deeplabv3", CLASS_MAJOR,
         "DeepLabV3, ResNet-101"),
        ("deeplabv3_mobilenet_v3_large", SEMANTIC, voc, 520, 520, 0.0, "deeplabv3", CLASS_MAJOR,
         "DeepLabV3, MobileNetV3-Large"),
        ("lraspp_mobilenet_v3_large", SEMANTIC, voc, 520, 520, 0.0, "lraspp", CLASS_MAJOR,
         "LR-ASPP, MobileNetV3-Large (fast)"),
    ]
    specs = {name: ModelSpec(name, task, cats, mn, score, mx, family, layout, 0.5, desc)
             for name, task, cats, mn, mx, score, family, layout, desc in rows}
    from .compact import fcos_compact_fpn
    specs["fcos_compact_fpn"] = ModelSpec(
        "fcos_compact_fpn", DETECTION, (BACKGROUND, "object"), 320, 0.4, 512, "fcos", ANCHOR_MAJOR, 0.5,
        "FCOS, compact FPN (no published weights: trains from scratch on a CPU in minutes)",
        builder=fcos_compact_fpn)
    return specs


SPECS: dict[str, ModelSpec] = _specs()


def model_names(task: str | None = None) -> list[str]:
    return [n for n, s in SPECS.items() if task is None or s.task == task]


def get_spec(name: str) -> ModelSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownModel(f"Unknown model {name!r}. Known models: {', '.join(SPECS)}") from None


def _builder(name: str):
    spec = SPECS.get(name)
    if spec is not None and spec.builder is not None:
        return spec.builder
    return torchvision.models.get_model_builder(name)


def _build_raw(spec: ModelSpec, num_classes: int, weights, weights_backbone, kw: dict) -> torch.nn.Module:
    kw = dict(kw)
    if spec.fixed_size:
        kw.pop("min_size", None)
        kw.pop("max_size", None)
    return _builder(spec.name)(weights=weights, weights_backbone=weights_backbone, num_classes=num_classes, **kw)


def build_model(name: str, num_classes: int | None = None, weights=None, weights_backbone=None,
                **kw) -> torch.nn.Module:
    """Build a registry model (train mode, on the CPU).

    num_classes: heads sized for that many classes (background included for detection); None =
    the spec's categories. weights: None = random heads, "DEFAULT" (or a weights enum member) asks
    torchvision for its weights: read from its cache, downloaded once when online (short timeout),
    else engine.weight_cache.WeightsUnavailable says what to do. With pretrained weights and a
    different num_classes, every layer but the class-indexed ones is loaded.
    Extra keywords go to torchvision's builder (min_size, max_size, aux_loss, ...); min_size and
    max_size are ignored for the fixed-size SSD models.
    """
    spec = get_spec(name)
    n_spec = len(spec.categories)
    n = n_spec if num_classes is None else int(num_classes)
    if weights is not None:  # fail fast offline instead of a download that hangs
        weight_cache.ensure_cached(spec, weights=weights)
    if n < 2 and spec.task != SEMANTIC:
        raise ValueError(f"{name} needs at least 2 classes (background and one category), got {n}")
    if weights is None or n == n_spec:
        return _build_raw(spec, n, weights, weights_backbone if weights is None else None, kw)
    pretrained = _build_raw(spec, n_spec, weights, None, kw)
    model = _build_raw(spec, n, None, None, kw)
    target = model.state_dict()
    keep = {k: v for k, v in pretrained.state_dict().items() if k in target and target[k].shape == v.shape}
    model.load_state_dict(keep, strict=False)
    del pretrained
    return model


@lru_cache(maxsize=64)
def class_indexed_parameters(name: str, aux_loss: bool = False) -> dict[str, int]:
    """State-dict keys whose first dimension is indexed by class -> rows per class.

    Found by building the model twice on the meta device (no memory, no download) with different
    class counts and keeping the entries whose first dimension changes.
    """
    spec = get_spec(name)
    kw = {"aux_loss": True} if aux_loss and spec.task == SEMANTIC else {}
    with torch.device("meta"):
        a = _build_raw(spec, 3, None, None, kw).state_dict()
        b = _build_raw(spec, 4, None, None, kw).state_dict()
    return {k: int(b[k].shape[0] - a[k].shape[0]) for k in a
            if a[k].dim() > 0 and a[k].shape != b[k].shape}
