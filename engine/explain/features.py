"""What a layer holds: its feature maps as a grid (top-k channels by mean activation) and the
activation statistics the lecture points at -- spatial size, channels, sparsity -- layer by layer
(early layers: dense edges and textures; deeper ones: sparser and more abstract)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ExplainError
from .model import Explainable
from .progress import Progress, Steps


@dataclass
class LayerStats:
    layer: str
    channels: int
    height: int
    width: int
    sparsity: float  # fraction of activations that are exactly 0 (silenced by a ReLU)
    mean: float
    std: float
    max: float
    levels: int = 1  # maps the layer outputs (FPN levels); statistics are over all of them

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FeatureGrid:
    layer: str
    grid: np.ndarray  # float32 (rows * h + gaps) x (cols * w + gaps) in [0, 1]; each tile normalised alone
    channels: list[int]  # channel of each tile, row by row
    tile_means: list[float]
    stats: LayerStats


def _stats(layer: str, maps: list[torch.Tensor]) -> LayerStats:
    flat = torch.cat([m[0].float().flatten() for m in maps])
    first = maps[0]
    return LayerStats(layer, int(first.shape[1]), int(first.shape[2]), int(first.shape[3]),
                      float((flat == 0).float().mean()), float(flat.mean()), float(flat.std()), float(flat.max()),
                      len(maps))


def feature_maps(model: Explainable, image: np.ndarray, layer: str, top_k: int = 16, level: int = 0,
                 columns: int = 0, gap: int = 2) -> FeatureGrid:
    """The top_k channels of the layer (of pyramid level `level`) with the largest mean activation."""
    with torch.no_grad():
        maps = model.activations(model.to_input(image), layer)
    if not 0 <= level < len(maps):
        raise ExplainError(f"layer {layer!r} has {len(maps)} level(s); level {level} does not exist")
    a = maps[level][0].float()  # C x h x w
    means = a.mean((1, 2))
    order = means.argsort(descending=True)[:max(1, top_k)].tolist()
    cols = columns or int(np.ceil(np.sqrt(len(order))))
    rows = int(np.ceil(len(order) / cols))
    h, w = a.shape[1:]
    grid = np.zeros((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), np.float32)
    for i, c in enumerate(order):
        t = a[c]
        lo, hi = float(t.min()), float(t.max())
        tile = ((t - lo) / (hi - lo) if hi > lo else torch.zeros_like(t)).cpu().numpy()
        r, k = divmod(i, cols)
        grid[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = tile
    return FeatureGrid(layer, grid, order, [float(means[c]) for c in order], _stats(layer, maps))


def statistics_layers(model: Explainable) -> list[str]:
    """Default layers for the statistics: every convolution and activation module, in order."""
    kinds = (nn.Conv2d, nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.GELU)
    return [n for n, m in model.model.named_modules() if n and isinstance(m, kinds)]


def activation_statistics(model: Explainable, image: np.ndarray, layers: list[str] | None = None,
                          progress: Progress = None, cancel=None) -> list[LayerStats]:
    """Statistics of each layer's output on the image, from one forward pass (hooks on all layers)."""
    names = layers or statistics_layers(model)
    for n in names:
        model.module(n)
    steps = Steps(1, progress, cancel)
    steps.check()
    stacks = []
    try:
        for n in names:
            cm = model.capture(n, strict=False)
            stacks.append((n, cm, cm.__enter__()))
        with torch.no_grad():
            model.forward(model.to_input(image))
    finally:
        for _, cm, _ in reversed(stacks):
            cm.__exit__(None, None, None)
    steps.step()
    return [_stats(n, seen) for n, _, seen in stacks if seen]
