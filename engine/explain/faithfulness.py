"""Is the map meaningful? Deletion/insertion AUC (Petsiuk et al., RISE) and the model-randomisation
sanity check (Adebayo et al.).

Deletion: remove pixels in the map's order (most important first) into a baseline (zero) and follow
the target's probability; a faithful map makes it fall fast (low AUC). Insertion: start from a blurred
image and put the pixels back in that order; it should rise fast (high AUC). The curves have `steps`
equal steps; the AUC is the trapezoid area over the fraction of pixels in [0, 1]. For a detection the
probability is that of the best matching box (targets.DetectionTarget).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .baselines import baseline
from .maps import rank_correlation
from .progress import Steps


@dataclass
class Curves:
    deletion_auc: float
    insertion_auc: float
    deletion: list[float] = field(default_factory=list)  # probability after removing i/steps of the pixels
    insertion: list[float] = field(default_factory=list)


def auc(values: list[float]) -> float:
    v = np.asarray(values, np.float64)
    return float(((v[1:] + v[:-1]) / 2).mean()) if len(v) > 1 else float(v.mean())


def _input_order(heat: np.ndarray, h: int, w: int, device) -> torch.Tensor:
    m = torch.from_numpy(np.ascontiguousarray(heat, np.float32))[None, None].to(device)
    if tuple(m.shape[-2:]) != (h, w):
        m = F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
    return m.flatten().argsort(descending=True, stable=True)


def deletion_insertion(model, x: torch.Tensor, target, heat: np.ndarray, steps: int = 32, batch_size: int = 16,
                       progress=None, cancel=None) -> Curves:
    """Both curves for a map (any size; resized to the input) of target on input x (1 x 3 x h x w)."""
    h, w = x.shape[-2:]
    order = _input_order(heat, h, w, x.device)
    counts = [round(i * h * w / steps) for i in range(steps + 1)]
    blurred, zero = baseline(x, "blur"), baseline(x, "zero")
    tracker = Steps(2 * (steps + 1), progress, cancel)
    curves = []
    for start_from, put in ((x, zero), (blurred, x)):
        values = []
        for begin in range(0, steps + 1, batch_size):
            tracker.check()
            chunk = counts[begin:begin + batch_size]
            keep = torch.zeros((len(chunk), h * w), device=x.device)
            for i, k in enumerate(chunk):
                keep[i, order[:k]] = 1
            keep = keep.view(-1, 1, h, w)
            xb = start_from * (1 - keep) + put * keep
            with torch.no_grad():
                values += target.probability(model.forward(xb)).float().cpu().tolist()
            tracker.step(len(chunk))
        curves.append(values)
    return Curves(auc(curves[0]), auc(curves[1]), curves[0], curves[1])


@dataclass
class RandomisationStep:
    layers: list[str]  # modules re-initialised so far (from the output side)
    rank_correlation: float


def parameter_modules(model: torch.nn.Module) -> list[str]:
    """Modules that own parameters directly, from the output side back to the input."""
    names = [n for n, m in model.named_modules() if n and any(True for _ in m.parameters(recurse=False))]
    return names[::-1]


def _reinitialise(module: torch.nn.Module, gen: torch.Generator) -> None:
    """He-normal weights for kernels, N(1, 0.1) scales and N(0, 0.1) shifts for the rest."""
    with torch.no_grad():
        for name, p in module.named_parameters(recurse=False):
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / p[0].numel()) ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1 + (1.0 if name == "weight" else 0.0))
        for name, b in module.named_buffers(recurse=False):
            if name == "running_mean":
                b.zero_()
            elif name == "running_var":
                b.fill_(1.0)


def randomisation_check(model, x: torch.Tensor, target, reference: np.ndarray, explain_fn, stages: int = 4,
                        seed: int = 0, progress=None, cancel=None) -> list[RandomisationStep]:
    """Cascading randomisation: re-initialise the model's parameter modules from the top in `stages`
    groups (the last stage = every layer) and compare each stage's map with `reference` (rank
    correlation). explain_fn(model_copy) -> map. The model itself is not changed (a copy is)."""
    other = model.copy()
    names = parameter_modules(other.model)
    modules = dict(other.model.named_modules())
    stages = max(1, min(stages, len(names)))
    bounds = [round(len(names) * (i + 1) / stages) for i in range(stages)]
    gen = torch.Generator().manual_seed(seed)
    tracker = Steps(stages, progress, cancel)
    out, done = [], 0
    for b in bounds:
        tracker.check()
        for n in names[done:b]:
            _reinitialise(modules[n], gen)
        done = b
        out.append(RandomisationStep(names[:b], rank_correlation(reference, explain_fn(other))))
        tracker.step()
    return out
