"""Gradients of the target with respect to the input, for batches of inputs."""
from __future__ import annotations

import torch

from .base import Context


def input_gradients(ctx: Context, xb: torch.Tensor, batch_size: int) -> torch.Tensor:
    """d score / d input for each image of xb (batched; steps progress per image)."""
    out = []
    for start in range(0, xb.shape[0], batch_size):
        ctx.steps.check()
        chunk = xb[start:start + batch_size].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            score = ctx.target.score(ctx.model.forward(chunk)).sum()
        (g,) = torch.autograd.grad(score, chunk)
        out.append(g.detach())
        ctx.steps.step(chunk.shape[0])
    return torch.cat(out)


def channel_max(g: torch.Tensor) -> torch.Tensor:
    """|gradient| as a map: the largest absolute value over colour channels (Simonyan et al.)."""
    return g.abs().amax(0)
