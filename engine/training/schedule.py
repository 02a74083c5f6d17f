"""Learning-rate schedules as a factor of the base rate per iteration: linear warmup, then cosine,
step or constant. A LambdaLR over this factor keeps the scheduler's state a plain counter."""
from __future__ import annotations

import math
from typing import Callable


def lr_factor(schedule: str, total_iters: int, warmup_iters: int, iters_per_epoch: int,
              step_epochs=(), gamma: float = 0.1, warmup_start: float = 0.001) -> Callable[[int], float]:
    if schedule not in ("cosine", "step", "constant"):
        raise ValueError(f"unknown schedule {schedule!r} (cosine, step or constant)")
    total = max(1, total_iters)
    warm = max(0, min(warmup_iters, total - 1))
    steps = sorted(int(e) * max(1, iters_per_epoch) for e in step_epochs)

    def factor(it: int) -> float:
        if it < warm:
            a = it / warm
            w = warmup_start * (1 - a) + a
        else:
            w = 1.0
        if schedule == "cosine":
            span = max(1, total - warm)
            p = min(1.0, max(0.0, (it - warm) / span))
            return w * 0.5 * (1 + math.cos(math.pi * p))
        if schedule == "step":
            return w * gamma ** sum(1 for s in steps if it >= s)
        return w

    return factor
