"""What the CAM methods share: a layer's maps and the target's gradient on them, and the
combination of per-level maps (FPN levels, SSD feature maps) into one map at the input's size."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Context


def layer_and_gradients(ctx: Context) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The layer's maps A (each 1 x C x h x w) and d score / d A, from one forward and backward pass."""
    x = ctx.x.detach().clone().requires_grad_(True)  # so layer maps are part of the graph
    with torch.enable_grad(), ctx.model.capture(ctx.layer) as seen:
        score = ctx.target.score(ctx.model.forward(x)).sum()
    acts = list(seen)
    grads = torch.autograd.grad(score, acts, allow_unused=True)
    grads = [torch.zeros_like(a) if g is None else g for a, g in zip(acts, grads)]
    ctx.steps.step()
    return [a.detach() for a in acts], [g.detach() for g in grads]


def combine(maps: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Sum per-level maps (each h x w) upsampled to `size`."""
    total = torch.zeros(size, device=maps[0].device)
    for m in maps:
        total += F.interpolate(m[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]
    return total


def weighted(acts: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """ReLU(sum_k w_k A_k) for one image (acts 1 x C x h x w, weights C)."""
    return torch.relu((weights.view(1, -1, 1, 1) * acts).sum(1)[0])
