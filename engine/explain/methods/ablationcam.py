"""AblationCAM: each channel's weight is the target score's relative drop when that channel is zeroed
(Desai and Ramaswamy); map = ReLU(sum_k w_k A_k). Slow (one forward pass per channel), so only the
`channel_ratio` most active channels are ablated (the others weigh 0); ablations run in batches, one
channel per batch image. For FPN layers channel k is zeroed on every level at once."""
from __future__ import annotations

import math

import torch

from .base import BATCH, Context, Cost, Method, register
from ._cam import combine, weighted


def _channels(ctx: Context) -> int:
    return int(ctx.model.activations(ctx.x, ctx.layer)[0].shape[1])


@register
class AblationCAM(Method):
    name, title, group, uses_layer = "ablationcam", "AblationCAM", "cam", True
    defaults = {"channel_ratio": 0.25, "batch_size": 16}
    limits = {"channel_ratio": (float, 1e-6, 1.0), "batch_size": BATCH}

    def passes(self, ctx: Context) -> Cost:
        with torch.no_grad():
            n = _channels(ctx)
        k = max(1, math.ceil(n * float(ctx.param("channel_ratio", 0.25))))
        return Cost(1 + k, 0, int(ctx.param("batch_size", 16)))

    def run(self, ctx: Context) -> torch.Tensor:
        ratio, bs = float(ctx.param("channel_ratio", 0.25)), ctx.batch(16)
        with torch.no_grad(), ctx.model.capture(ctx.layer) as seen:
            base = ctx.target.score(ctx.model.forward(ctx.x)).float()[0]
        acts = [a.detach() for a in seen]
        ctx.steps.step()
        n = acts[0].shape[1]
        mean = sum(a.mean((0, 2, 3)) for a in acts)
        chosen = mean.argsort(descending=True)[:max(1, math.ceil(n * ratio))]
        weights = torch.zeros(n, device=acts[0].device)
        for start in range(0, len(chosen), bs):
            ctx.steps.check()
            batch = chosen[start:start + bs]
            rows = torch.arange(len(batch), device=batch.device)

            def ablate(t, rows=rows, batch=batch):
                t = t.clone()
                t[rows, batch] = 0
                return t

            with torch.no_grad(), ctx.model.edit_layer(ctx.layer, ablate):
                s = ctx.target.score(ctx.model.forward(ctx.x.expand(len(batch), -1, -1, -1))).float()
            weights[batch] = (base - s) / base.abs().clamp_min(1e-7)
            ctx.steps.step(len(batch))
        return combine([weighted(a, weights) for a in acts], tuple(ctx.x.shape[-2:]))
