"""Occlusion sensitivity (Zeiler and Fergus): slide a window over the image, replace it by a baseline,
and record how much the target's probability drops; each pixel gets the mean drop of the windows that
cover it. Batched; its cost (one forward pass per window position) is known before it starts."""
from __future__ import annotations

import torch

from ..baselines import baseline
from ..errors import ExplainError
from .base import BATCH, Context, Cost, Method, register


def window_and_stride(ctx: Context, h: int, w: int) -> tuple[int, int]:
    window = ctx.param("window", 0) or max(8, min(h, w) // 8)
    stride = ctx.param("stride", 0) or max(1, int(window) // 2)
    window, stride = int(window), int(stride)
    if window < 1 or stride < 1:
        raise ExplainError(f"occlusion window and stride must be >= 1 (got {window}, {stride})")
    return min(window, h, w), stride


def positions(h: int, w: int, window: int, stride: int) -> list[tuple[int, int]]:
    def starts(n):
        s = list(range(0, max(1, n - window + 1), stride))
        if s[-1] + window < n:
            s.append(n - window)  # the last window reaches the border
        return s
    return [(y, x) for y in starts(h) for x in starts(w)]


@register
class Occlusion(Method):
    name, title, group = "occlusion", "Occlusion sensitivity", "perturbation"
    defaults = {"window": 0, "stride": 0, "baseline": "mean", "batch_size": 16}  # 0 = from the image size
    limits = {"window": (int, 0, 100_000), "stride": (int, 0, 100_000), "batch_size": BATCH}

    def passes(self, ctx: Context) -> Cost:
        h, w = ctx.x.shape[-2:]
        win, stride = window_and_stride(ctx, h, w)
        return Cost(1 + len(positions(h, w, win, stride)), 0, int(ctx.param("batch_size", 16)))

    def run(self, ctx: Context) -> torch.Tensor:
        h, w = ctx.x.shape[-2:]
        win, stride = window_and_stride(ctx, h, w)
        bs = ctx.batch(16)
        fill = baseline(ctx.x, ctx.param("baseline", "mean"))
        base = ctx.scores(ctx.x, 1)[0]
        drop = torch.zeros((h, w), device=ctx.x.device)
        count = torch.zeros((h, w), device=ctx.x.device)
        spots = positions(h, w, win, stride)
        for start in range(0, len(spots), bs):
            chunk = spots[start:start + bs]
            xb = ctx.x.repeat(len(chunk), 1, 1, 1)
            for i, (y, x) in enumerate(chunk):
                xb[i, :, y:y + win, x:x + win] = fill[0, :, y:y + win, x:x + win]
            s = ctx.scores(xb, bs)
            for i, (y, x) in enumerate(chunk):
                drop[y:y + win, x:x + win] += base - s[i]
                count[y:y + win, x:x + win] += 1
        return torch.relu(drop / count.clamp_min(1))
