"""The gradient CAM family, in plain torch (each a few lines on the layer's maps and gradients):

Grad-CAM      alpha_k = mean over positions of dS/dA_k;        map = ReLU(sum_k alpha_k A_k)
Grad-CAM++    alpha weighted by second/third-order terms (Chattopadhay et al., exp(S) form)
HiResCAM      map = ReLU(sum_k dS/dA_k * A_k), element-wise (faithful to the score for linear heads)
LayerCAM      map = ReLU(sum_k ReLU(dS/dA_k) * A_k), element-wise
"""
from __future__ import annotations

import torch

from .base import Context, Cost, Method, register
from ._cam import combine, layer_and_gradients, weighted


class _GradientCAM(Method):
    group = "cam"
    uses_layer = True
    defaults: dict = {}

    def passes(self, ctx: Context) -> Cost:
        return Cost(1, 1)

    def level(self, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def run(self, ctx: Context) -> torch.Tensor:
        acts, grads = layer_and_gradients(ctx)
        return combine([self.level(a, g) for a, g in zip(acts, grads)], tuple(ctx.x.shape[-2:]))


@register
class GradCAM(_GradientCAM):
    name, title = "gradcam", "Grad-CAM"

    def level(self, a, g):
        return weighted(a, g.mean((-2, -1))[0])


@register
class GradCAMPlusPlus(_GradientCAM):
    name, title = "gradcam++", "Grad-CAM++"

    def level(self, a, g):
        g2, g3 = g.pow(2), g.pow(3)
        denom = 2 * g2 + a.sum((-2, -1), keepdim=True) * g3
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        return weighted(a, (alpha * torch.relu(g)).sum((-2, -1))[0])


@register
class HiResCAM(_GradientCAM):
    name, title = "hirescam", "HiResCAM"

    def level(self, a, g):
        return torch.relu((g * a).sum(1)[0])


@register
class LayerCAM(_GradientCAM):
    name, title = "layercam", "LayerCAM"

    def level(self, a, g):
        return torch.relu((torch.relu(g) * a).sum(1)[0])
