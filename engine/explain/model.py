"""What the explanation methods see of a model: its input space, one batched forward pass that
returns what targets score, and its layers by name.

    Explainable.from_loaded(loaded)      a registry model from engine.weights.load_model
    Explainable(module, kind="classifier", categories=[...])   any classifier (logits B x K)

Inputs are the tensors the model takes, made by engine.predictor's own preprocessing: for detectors
the RGB image in [0, 1] at its own size (the model resizes and normalises inside, differentiably), for
semantic segmenters the normalised image at the model's input size, for classifiers the image in
[0, 1] unless a `preprocess` is given. Maps are computed in that input space and resized to the image.
"""
from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from .candidates import DETECTOR_FAMILIES, detector_candidates, family_of
from .errors import ExplainError, unknown

DETECTOR, SEMANTIC, CLASSIFIER = "detector", "semantic", "classifier"


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the layer asked for has run."""


def flat_tensors(value) -> list[torch.Tensor]:
    """The 4-D tensors of a layer's output (a tensor, a dict of FPN levels, a list or tuple)."""
    if isinstance(value, torch.Tensor):
        return [value] if value.dim() == 4 else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in flat_tensors(v)]
    return []


def _replace_tensors(value, fn):
    if isinstance(value, torch.Tensor):
        return fn(value) if value.dim() == 4 else value
    if isinstance(value, dict):
        return type(value)((k, _replace_tensors(v, fn)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_replace_tensors(v, fn) for v in value)
    return value


class Explainable:
    def __init__(self, model: nn.Module, kind: str = CLASSIFIER, categories: list[str] | None = None,
                 family: str = "", device: torch.device | str | None = None,
                 preprocess: Callable[[np.ndarray], torch.Tensor] | None = None, name: str = "") -> None:
        if kind not in (DETECTOR, SEMANTIC, CLASSIFIER):
            raise ExplainError(f"Unknown model kind {kind!r} (detector, semantic or classifier)")
        self.model = model.eval()
        self.kind = kind
        self.family = family_of(model, family) if kind == DETECTOR else family
        if kind == DETECTOR and not self.family:
            raise ExplainError(f"{type(model).__name__}: no detection target code for this model "
                               f"(families: {', '.join(DETECTOR_FAMILIES)})")
        self.categories = list(categories or [])
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self._preprocess = preprocess
        self.name = name or type(model).__name__
        self.loaded = None
        self._pace: dict[tuple, tuple[float, float]] = {}  # input shape -> seconds per image alone, in a pair

    @classmethod
    def from_loaded(cls, loaded) -> "Explainable":
        """From engine.weights.LoadedModel; preprocessing is engine.predictor's."""
        from engine.predictor import Predictor
        from engine.registry import SEMANTIC as REGISTRY_SEMANTIC
        if loaded.model is None:
            raise ExplainError("This model was released; load it again.")
        kind = SEMANTIC if loaded.spec.task == REGISTRY_SEMANTIC else DETECTOR
        predictor = Predictor(loaded)
        prep = predictor.model_input
        self = cls(loaded.model, kind, loaded.categories, loaded.spec.family, loaded.device, prep, loaded.name)
        self.loaded = loaded
        return self

    # ---- input and forward -------------------------------------------------------------------
    def to_input(self, image: np.ndarray) -> torch.Tensor:
        """(1, 3, h, w) float tensor on the device for an HxWx3 uint8 RGB image."""
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise ExplainError("expected an HxWx3 uint8 RGB image")
        if self._preprocess is not None:
            x = self._preprocess(image)
        else:
            x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255.0)
        return x.to(self.device)[None] if x.dim() == 3 else x.to(self.device)

    def unit_to_input(self, unit: torch.Tensor) -> torch.Tensor:
        """An image tensor in [0, 1] (B, 3, h, w) into input space (for images made by gradient ascent)."""
        if self.kind != SEMANTIC:
            return unit
        from engine.predictor import IMAGENET_MEAN, IMAGENET_STD
        mean = torch.tensor(IMAGENET_MEAN, device=unit.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=unit.device).view(1, 3, 1, 1)
        return (unit - mean) / std

    def forward(self, x: torch.Tensor):
        """What targets score: list of Candidates (detectors), logits B x C x h x w (semantic) or B x K."""
        if self.kind == DETECTOR:
            return detector_candidates(self.model, self.family, x)
        out = self.model(x)
        if self.kind == SEMANTIC and isinstance(out, dict):
            out = out["out"]
        return out

    def pace(self, x: torch.Tensor) -> tuple[float, float]:
        """(seconds per image alone, per image in a pair) of a forward pass on inputs like x (1 x 3 x h x w),
        measured once per input size after a warm-up pass (4 images in all). A GPU runs a pair quicker
        per image; a CPU with a detector's 800-pixel activations runs it slower (fasterrcnn_resnet50_fpn
        on 2 cores: 1.9 s alone, 2.6 s per image in 4s, 3.3 s in 16s)."""
        key = (tuple(x.shape[1:]), str(x.device))
        if key not in self._pace:
            with torch.no_grad():
                self.forward(x)
                t0 = time.perf_counter()
                self.forward(x)
                alone = time.perf_counter() - t0
                t0 = time.perf_counter()
                self.forward(x.expand(2, -1, -1, -1))
                self._pace[key] = (alone, (time.perf_counter() - t0) / 2)
        return self._pace[key]

    def batch_size(self, x: torch.Tensor, wanted: int) -> int:
        """The batch size to run `wanted` at: 1 where a pair runs slower per image than one alone."""
        wanted = max(1, int(wanted))
        if wanted == 1:
            return 1
        alone, paired = self.pace(x)
        return 1 if paired >= alone else wanted

    # ---- layers ------------------------------------------------------------------------------
    def layer_names(self) -> list[str]:
        return [n for n, _ in self.model.named_modules() if n]

    def module(self, name: str) -> nn.Module:
        modules = dict(self.model.named_modules())
        if not name or name not in modules:
            raise unknown("layer", name, self.layer_names())
        return modules[name]

    def default_layer(self) -> str:
        """Per family: RetinaNet and FCOS the classification tower (the class evidence at every pyramid
        level, just before the class logits), R-CNNs the FPN outputs, SSD and segmenters the feature
        extractor, anything else its last convolution."""
        names = set(self.layer_names())
        if self.kind == DETECTOR:
            tower = "head.classification_head.conv"
            for family, layer in (("retinanet", tower), ("fcos", tower), ("fasterrcnn", "backbone.fpn"),
                                  ("maskrcnn", "backbone.fpn"), ("ssd", "backbone"), ("ssdlite", "backbone")):
                if self.family == family and layer in names:
                    return layer
        if self.kind == SEMANTIC and "backbone" in names:
            return "backbone"
        convs = [n for n, m in self.model.named_modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ExplainError(f"{self.name} has no convolution layer to default to; name a layer")
        return convs[-1]

    @contextmanager
    def capture(self, layer: str, stop: bool = False, strict: bool = True) -> Iterator[list]:
        """Record the layer's output maps during a forward pass (stop=True ends the pass at its first run)."""
        seen: list = []

        def hook(_module, _inputs, output):
            maps = flat_tensors(output)
            if not maps and strict:
                raise ExplainError(f"layer {layer!r} does not output image-shaped (B x C x H x W) maps")
            seen.extend(maps)  # a shared head runs once per pyramid level: every level is kept
            if stop:
                raise _Stop

        handle = self.module(layer).register_forward_hook(hook)
        try:
            yield seen
        finally:
            handle.remove()

    def activations(self, x: torch.Tensor, layer: str, stop: bool = False) -> list[torch.Tensor]:
        """The layer's output maps for x (stop=True: only its first run, and the model runs no further)."""
        with self.capture(layer, stop=stop) as seen:
            try:
                self.forward(x)
            except _Stop:
                pass
        if not seen:
            raise ExplainError(f"layer {layer!r} is not run by this model's forward pass")
        return list(seen)

    @contextmanager
    def edit_layer(self, layer: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
        """Replace the layer's output maps by fn(maps) during forward passes."""
        handle = self.module(layer).register_forward_hook(lambda m, i, o: _replace_tensors(o, fn))
        try:
            yield
        finally:
            handle.remove()

    def copy(self) -> "Explainable":
        """A deep copy of the model behind the same input and targets (for the randomisation check)."""
        other = copy.copy(self)
        other.model = copy.deepcopy(self.model)
        return other

    def label_index(self, name: str) -> int:
        if name not in self.categories:
            raise unknown("class", name, [c for c in self.categories if c not in ("__background__", "N/A")],
                          plural="classes")
        return self.categories.index(name)
