"""The models this app runs, by name and task: those the modules of engine/models/ declare
(torchvision's detectors and segmenters, and the compact ones), built and looked up here."""
from __future__ import annotations

from functools import lru_cache

import torch
import torchvision

from annotations.errors import SightlineError

from . import models, weight_cache
from .model_spec import (ANCHOR_MAJOR, BACKGROUND, CLASS_MAJOR, DETECTION, INSTANCE, PLACEHOLDER, SEMANTIC,  # noqa: F401
                         TASKS, ModelSpec, NoPublishedWeights)


class UnknownModel(SightlineError, KeyError):
    """A model name the registry does not know (a KeyError too, for lookups that expect one)."""

    def __str__(self) -> str:  # KeyError's own would quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


def _specs() -> dict[str, ModelSpec]:
    specs: dict[str, ModelSpec] = {}
    for spec in models.declared():
        if spec.name in specs:
            raise ValueError(f"two models are named {spec.name!r} in engine/models/")
        specs[spec.name] = spec
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
