"""One explanation: a method's heat map for a target, with its faithfulness numbers and its cost.

    model = Explainable.from_loaded(load_model(...))
    target = targets.detection(box_xywh, label) / targets.label_box(...) / ClassTarget(c) / ...
    est = estimate(model, image, target, "occlusion", params={"window": 32})   # before it starts
    result = explain(model, image, target, "gradcam", progress=cb, cancel=token)
    result.heatmap  -> H x W float32 in [0, 1];  result.deletion_auc, result.insertion_auc
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from engine.device import free_memory

from .faithfulness import Curves, RandomisationStep, deletion_insertion, randomisation_check
from .errors import ExplainError
from .maps import to_image
from .methods import Context, get_method
from .methods.base import Cost
from .model import Explainable
from .progress import Progress, Steps
from .targets import Target, check_target


@dataclass
class Explanation:
    heatmap: np.ndarray  # H x W float32 in [0, 1], image pixels
    method: str
    layer: str | None
    target: dict  # Target.describe()
    probability: float | None  # the target's probability on the unchanged image (with faithfulness)
    seconds: float  # the method alone (not the faithfulness curves)
    cost: Cost
    input_map: np.ndarray  # the map at the model input's size (equal to heatmap for detectors)
    curves: Curves | None = None

    @property
    def deletion_auc(self) -> float | None:
        return None if self.curves is None else self.curves.deletion_auc

    @property
    def insertion_auc(self) -> float | None:
        return None if self.curves is None else self.curves.insertion_auc

    def summary(self) -> dict:
        return {"method": self.method, "layer": self.layer, "target": self.target,
                "probability": None if self.probability is None else round(self.probability, 6),
                "seconds": round(self.seconds, 4),
                "deletion_auc": self.deletion_auc, "insertion_auc": self.insertion_auc,
                "forward_passes": self.cost.forward, "backward_passes": self.cost.backward}


@dataclass(frozen=True)
class Estimate:
    cost: Cost
    seconds: float  # of the method's passes, predicted on this machine
    per_pass: float  # seconds of one image's forward pass, in batches of batch_size
    batch_size: int  # the method runs at: its own, or 1 where batches are slower here

    def with_checks(self, auc_steps: int = 0, sanity_stages: int = 0) -> tuple[int, float]:
        """(forward passes, seconds) of the method with what `explain_task` runs beside it: the
        deletion/insertion curves (2 x (auc_steps + 1) passes) and a sanity check that makes the map
        again at each of its stages."""
        method = self.cost.forward + 2 * self.cost.backward
        passes = method * (1 + sanity_stages) + (2 * (auc_steps + 1) if auc_steps else 0)
        return passes, passes * self.per_pass


def prepare(model: Explainable, image: np.ndarray, target: Target | None, method: str, layer: str | None = None,
            params: dict | None = None, x: torch.Tensor | None = None) -> Context:
    """Check method, parameters, layer and target (ExplainError with the reason) and build the context."""
    m = get_method(method)
    full = m.check_params(dict(params or {}))
    if target is None:
        if m.needs_target:
            raise ExplainError(f"{method} explains a target: give a detection, label, region or class")
    else:
        check_target(model, target)
    if layer:
        model.module(layer)
    if m.uses_layer:
        layer = layer or model.default_layer()
    else:
        layer = None
    return Context(model, model.to_input(image) if x is None else x, target, layer, full)


def _timed_passes(ctx: Context, n: int) -> float:
    """Seconds per image of one forward pass on a batch of n copies of the input."""
    xb = ctx.x.expand(n, -1, -1, -1)
    t0 = time.perf_counter()
    with torch.no_grad():
        ctx.target.probability(ctx.model.forward(xb))
    return (time.perf_counter() - t0) / n


def estimate(model: Explainable, image: np.ndarray, target: Target, method: str, layer: str | None = None,
             params: dict | None = None, budget: float = 1.0, cancel=None) -> Estimate:
    """The method's cost before it runs: passes, and seconds from a few timed forward passes (a
    backward pass is counted as two forward passes) at the batch size the method will run at:
    Explainable.pace's pair, then a batch that fits `budget` seconds where batches pay. Timing two
    whole batches of 16 took as long as half of an AblationCAM of fasterrcnn on a CPU."""
    ctx = prepare(model, image, target, method, layer, params)
    cost = get_method(method).passes(ctx)
    alone, paired = ctx.model.pace(ctx.x)
    batch = ctx.model.batch_size(ctx.x, min(cost.batch_size, cost.forward))
    per_pass = alone if batch == 1 else paired
    n = min(batch, int(budget / max(paired, 1e-6)))
    if n > 2:
        if cancel is not None:
            cancel.check()
        per_pass = _timed_passes(ctx, n)
    return Estimate(cost, per_pass * (cost.forward + 2 * cost.backward), per_pass, batch)


def explain(model: Explainable, image: np.ndarray, target: Target | None, method: str, layer: str | None = None,
            params: dict | None = None, faithfulness: bool = True, auc_steps: int = 32,
            progress: Progress = None, cancel=None) -> Explanation:
    """The map of `method` for `target` on the HxWx3 uint8 RGB image. progress(done, total) counts the
    method's forward passes then the curves' (2 x (auc_steps + 1)); cancel: a CancelToken. Raises
    ExplainError (bad method, parameter, layer or target) or Cancelled. target=None only for methods
    that need none (EigenCAM); there are then no faithfulness numbers."""
    ctx = prepare(model, image, target, method, layer, params)
    m = get_method(method)
    cost = m.passes(ctx)
    curve_steps = 2 * (auc_steps + 1) if faithfulness else 0
    total = cost.forward + curve_steps
    ctx.steps = Steps(total, progress, cancel)
    ctx.steps.check()
    t0 = time.perf_counter()
    raw = m.run(ctx)
    seconds = time.perf_counter() - t0
    ctx.steps.done = cost.forward
    h, w = ctx.x.shape[-2:]
    input_map = to_image(raw, h, w)
    heat = input_map if (h, w) == image.shape[:2] else to_image(raw, *image.shape[:2])
    curves, prob = None, None
    if faithfulness and target is not None:
        def forward_progress(done, _total):
            return None if progress is None else progress(cost.forward + done, total)
        curves = deletion_insertion(model, ctx.x, target, input_map, auc_steps,  # in the method's batches
                                    batch_size=ctx.batch(16),
                                    progress=forward_progress, cancel=cancel)
        prob = curves.deletion[0]  # nothing deleted yet: the unchanged image
    if cost.forward > 1 or curves is not None:  # batched passes: give their memory back (CPU heap, CUDA cache)
        free_memory()
    described = {} if target is None else target.describe()
    return Explanation(heat, method, ctx.layer, described, prob, seconds, cost, input_map, curves)


def sanity_check(model: Explainable, image: np.ndarray, target: Target, method: str, layer: str | None = None,
                 params: dict | None = None, reference: np.ndarray | None = None, stages: int = 4, seed: int = 0,
                 progress: Progress = None, cancel=None) -> list[RandomisationStep]:
    """Model-randomisation check: rank correlation between the map of the trained model (`reference`,
    computed when not given) and the maps as the layers are re-initialised from the top, in `stages`
    steps (the last: every layer). A map that does not change is not explaining the model."""
    ctx = prepare(model, image, target, method, layer, params)
    m = get_method(method)
    if reference is None:
        reference = to_image(m.run(ctx), *ctx.x.shape[-2:])

    def explain_fn(other: Explainable) -> np.ndarray:
        sub = Context(other, ctx.x, target, ctx.layer, ctx.params, Steps(m.passes(ctx).forward, None, cancel))
        return to_image(m.run(sub), *ctx.x.shape[-2:])

    return randomisation_check(model, ctx.x, target, reference, explain_fn, stages, seed, progress, cancel)

