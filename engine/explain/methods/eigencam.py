"""EigenCAM: the layer's maps projected on their first principal component (no gradient, no target;
the forward pass stops at the layer). The sign is chosen so the map agrees with the mean activation."""
from __future__ import annotations

import torch

from .base import Context, Cost, Method, register
from ._cam import combine


def principal_map(a: torch.Tensor) -> torch.Tensor:
    c, h, w = a.shape[1:]
    flat = a[0].reshape(c, h * w).T.float()  # positions x channels
    centred = flat - flat.mean(0, keepdim=True)
    _, vecs = torch.linalg.eigh(centred.T @ centred)  # C x C: cheap whatever the image size
    proj = centred @ vecs[:, -1]
    if torch.dot(proj, flat.mean(1) - flat.mean()) < 0:
        proj = -proj
    return torch.relu(proj).reshape(h, w)


@register
class EigenCAM(Method):
    name, title, group, uses_layer, needs_target = "eigencam", "EigenCAM", "cam", True, False
    defaults: dict = {}

    def passes(self, ctx: Context) -> Cost:
        return Cost(1, 0)

    def run(self, ctx: Context) -> torch.Tensor:
        with torch.no_grad():
            acts = ctx.model.activations(ctx.x, ctx.layer)
        ctx.steps.step()
        return combine([principal_map(a) for a in acts], tuple(ctx.x.shape[-2:]))
