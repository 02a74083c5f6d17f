"""Guided backpropagation (Springenberg et al.): the input gradient where every ReLU passes back only
positive gradients at positive inputs. Every ReLU is guided, modules and functional calls alike
(torch.relu, F.relu, nn.ReLU), by a torch function mode active during the pass."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .base import Context, register
from .saliency import Saliency


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad.clamp(min=0) * (x > 0).to(grad.dtype)


_RELUS = {torch.relu, torch.relu_, F.relu, F.relu_, torch.Tensor.relu, torch.Tensor.relu_}


class GuidedReLUs(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _RELUS:
            return _GuidedReLU.apply(args[0])
        return func(*args, **(kwargs or {}))


@register
class GuidedBackprop(Saliency):
    """Saliency's pass with every ReLU guided."""
    name, title, group = "guided_backprop", "Guided backpropagation", "gradient"

    def run(self, ctx: Context):
        with GuidedReLUs():
            return super().run(ctx)
