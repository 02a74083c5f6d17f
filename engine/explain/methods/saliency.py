"""Vanilla gradient saliency (Simonyan et al.): |d score / d pixel|, largest over colour channels."""
from __future__ import annotations

from ._grad import channel_max, input_gradients
from .base import Context, Method, register


@register
class Saliency(Method):
    name, title, group = "saliency", "Gradient saliency", "gradient"
    defaults: dict = {}  # one forward and one backward pass (Method.passes)

    def run(self, ctx: Context):
        return channel_max(input_gradients(ctx, ctx.x, 1)[0])
