"""Integrated gradients (Sundararajan et al.): (x - baseline) x the mean gradient along the straight
path from the baseline to x (midpoint Riemann sum over `steps`), summed |.| over colour channels."""
from __future__ import annotations

import torch

from ..baselines import baseline
from ._grad import input_gradients
from .base import BATCH, Context, Cost, Method, register


@register
class IntegratedGradients(Method):
    name, title, group = "integrated_gradients", "Integrated gradients", "gradient"
    defaults = {"steps": 32, "baseline": "zero", "batch_size": 8}
    limits = {"steps": (int, 1, 10_000), "batch_size": BATCH}

    def passes(self, ctx: Context) -> Cost:
        n = int(ctx.param("steps", 32))
        return Cost(n, n, int(ctx.param("batch_size", 8)))

    def run(self, ctx: Context):
        n = max(1, int(ctx.param("steps", 32)))
        base = baseline(ctx.x, ctx.param("baseline", "zero"))
        alphas = ((torch.arange(n, device=ctx.x.device, dtype=ctx.x.dtype) + 0.5) / n).view(-1, 1, 1, 1)
        path = base + alphas * (ctx.x - base)
        grads = input_gradients(ctx, path, ctx.batch(8))
        return ((ctx.x - base)[0] * grads.mean(0)).abs().sum(0)
