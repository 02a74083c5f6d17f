"""What "removed" pixels become, in input space: zero (black for detectors, the mean colour for
normalised inputs), the image's mean colour, or a heavy blur of the image (RISE's insertion start)."""
from __future__ import annotations

import torch
from torchvision.transforms.functional import gaussian_blur

from .errors import ExplainError

BASELINES = ("zero", "mean", "blur")


def baseline(x: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "mean":
        return x.mean((-2, -1), keepdim=True).expand_as(x).clone()
    if kind == "blur":
        k = max(3, (min(x.shape[-2:]) // 8) | 1)
        return gaussian_blur(x, [k, k], [k / 3.0, k / 3.0])
    raise ExplainError(f"Unknown baseline {kind!r} (one of: {', '.join(BASELINES)})")
