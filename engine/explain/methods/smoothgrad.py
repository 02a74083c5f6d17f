"""SmoothGrad (Smilkov et al.): the gradient averaged over copies of the input with Gaussian noise
(sigma = `noise` x the input's value range), then |.| largest over colour channels."""
from __future__ import annotations

import torch

from ._grad import channel_max, input_gradients
from .base import BATCH, Context, Cost, Method, SEED, register


@register
class SmoothGrad(Method):
    name, title, group = "smoothgrad", "SmoothGrad", "gradient"
    defaults = {"samples": 25, "noise": 0.15, "batch_size": 8, "seed": 0}
    limits = {"samples": (int, 1, 10_000), "noise": (float, 0.0, 10.0), "batch_size": BATCH, "seed": SEED}

    def passes(self, ctx: Context) -> Cost:
        n = int(ctx.param("samples", 25))
        return Cost(n, n, int(ctx.param("batch_size", 8)))

    def run(self, ctx: Context):
        n, noise = int(ctx.param("samples", 25)), float(ctx.param("noise", 0.15))
        gen = torch.Generator().manual_seed(int(ctx.param("seed", 0)))
        sigma = noise * float(ctx.x.max() - ctx.x.min())
        eps = torch.randn((n, *ctx.x.shape[1:]), generator=gen).to(ctx.x.device) * sigma
        grads = input_gradients(ctx, ctx.x + eps, ctx.batch(8))
        return channel_max(grads.mean(0))
