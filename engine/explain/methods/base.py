"""The method contract and registry.

A method turns a Context (model, input, target, layer, parameters, progress) into a non-negative map
in input space (h x w of the input tensor, or coarser: the caller resizes). `passes(ctx)` says, before
it runs, how many single-image forward passes (and backward passes) it costs, so the cost of slow
methods can be shown -- and checked against the time it really takes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from annotations.ranges import BIG, problem

from ..baselines import BASELINES
from ..errors import ExplainError, unknown
from ..model import Explainable
from ..progress import Steps
from ..targets import Target


@dataclass
class Context:
    model: Explainable
    x: torch.Tensor  # (1, 3, h, w) input tensor
    target: Target | None
    layer: str | None
    params: dict[str, Any]
    steps: Steps = field(default_factory=lambda: Steps(1))

    def param(self, name: str, default):
        return self.params.get(name, default)

    def batch(self, default: int = 16) -> int:
        """The batch size to run at: the `batch_size` parameter, or 1 where batches are slower here
        (Explainable.batch_size)."""
        return self.model.batch_size(self.x, int(self.param("batch_size", default)))

    def scores(self, xb: torch.Tensor, batch_size: int, kind: str = "probability") -> torch.Tensor:
        """The target's value for each image of xb, in batches (no gradient), stepping progress."""
        out = []
        with torch.no_grad():
            for start in range(0, xb.shape[0], batch_size):
                self.steps.check()
                chunk = xb[start:start + batch_size]
                out.append(getattr(self.target, kind)(self.model.forward(chunk)).float())
                self.steps.step(chunk.shape[0])
        return torch.cat(out) if out else torch.zeros(0)


@dataclass(frozen=True)
class Cost:
    forward: int  # single-image forward passes
    backward: int = 0  # single-image backward passes
    batch_size: int = 1


class Method:
    """Subclasses set name, title, uses_layer, group, defaults and implement run (and passes)."""
    name = ""
    title = ""
    group = ""  # "cam" | "gradient" | "perturbation"
    uses_layer = False
    needs_target = True  # False: class-agnostic (EigenCAM), runs with target=None (the live view)
    defaults: dict[str, Any] = {}
    limits: dict[str, tuple[type, float, float]] = {}  # number parameters: (int or float, lowest, highest)

    def check_params(self, params: dict) -> dict:
        bad = sorted(set(params) - set(self.defaults))
        if bad:
            known = ", ".join(self.defaults) or "none"
            raise ExplainError(f"{self.name} has no parameter {', '.join(bad)} (its parameters: {known})")
        full = {**self.defaults, **params}
        for name, (kind, lo, hi) in self.limits.items():
            full[name] = _checked(self.name, name, full[name], kind, lo, hi)
        if "baseline" in full:  # checked before any pass runs, like every other parameter
            if full["baseline"] not in BASELINES:
                raise ExplainError(f"Unknown baseline {full['baseline']!r} (one of: {', '.join(BASELINES)})")
        return full

    def passes(self, ctx: Context) -> Cost:
        return Cost(1, 1)

    def run(self, ctx: Context) -> torch.Tensor:
        raise NotImplementedError


BATCH = (int, 1, 4096)
SEED = (int, 0, BIG)


def _checked(method: str, name: str, value, kind: type, lo: float, hi: float):
    """value as `kind`, or ExplainError naming the parameter (a word, NaN, infinity, out of range)."""
    if problem(value, kind, lo, hi) is not None:
        what = "a whole number" if kind is int else "a number"
        raise ExplainError(f"{method} parameter {name}: expected {what} from {lo:g} to {hi:g}, got {value!r}")
    return kind(value)


METHODS: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    METHODS[cls.name] = cls()
    return cls


def method_names() -> list[str]:
    return list(METHODS)


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise unknown("method", name, method_names(), limit=len(METHODS))
    return METHODS[name]
