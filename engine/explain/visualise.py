"""Images made by gradient ascent in input space: what maximally excites a filter or a class neuron,
and DeepDream on the user's own image.

Each step moves the image along its normalised gradient, I <- I + lr * g / mean|g|, under the
regularisers that make readable pictures (Olah et al., "Feature Visualization"): random jitter, scaling
and rotation of the image before each forward pass, a blur every few steps or a total-variation
(frequency) penalty, and optionally a Fourier parameterisation (the image as a spectrum whose high
frequencies are damped, so the ascent prefers smooth patterns).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from .errors import ExplainError
from .model import Explainable
from .progress import Progress, Steps
from .targets import Target


def _transform(img: torch.Tensor, gen: torch.Generator, jitter: int, scale: float, rotate: float) -> torch.Tensor:
    """Random shift (pixels), scale (up to 1 +- scale) and rotation (up to +- rotate degrees)."""
    if jitter:
        dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
        img = torch.roll(img, (dy, dx), (-2, -1))
    if scale or rotate:
        s = 1 + (float(torch.rand((), generator=gen)) * 2 - 1) * scale
        a = math.radians((float(torch.rand((), generator=gen)) * 2 - 1) * rotate)
        theta = torch.tensor([[math.cos(a) / s, -math.sin(a) / s, 0.0], [math.sin(a) / s, math.cos(a) / s, 0.0]],
                             device=img.device, dtype=img.dtype)[None].expand(img.shape[0], -1, -1)
        grid = F.affine_grid(theta, list(img.shape), align_corners=False)
        img = F.grid_sample(img, grid, padding_mode="reflection", align_corners=False)
    return img


class _Image:
    """The image being optimised: pixels (through a sigmoid) or a damped Fourier spectrum."""

    def __init__(self, h: int, w: int, fourier: bool, gen: torch.Generator, device, start: torch.Tensor | None):
        self.h, self.w, self.fourier = h, w, fourier
        if fourier:
            fy = torch.fft.fftfreq(h)[:, None]
            fx = torch.fft.rfftfreq(w)[None, :]
            self.damp = (1.0 / torch.sqrt(fx * fx + fy * fy).clamp_min(1.0 / max(h, w))).to(device)
            self.damp = self.damp / self.damp.max()
            spec = torch.randn((1, 3, h, w // 2 + 1, 2), generator=gen) * 0.01
            self.param = spec.to(device).requires_grad_(True)
        else:
            init = start if start is not None else 0.5 + torch.randn((1, 3, h, w), generator=gen) * 0.01
            self.param = torch.logit(init.clamp(1e-3, 1 - 1e-3)).to(device).requires_grad_(True)

    def unit(self) -> torch.Tensor:
        if self.fourier:
            spec = torch.view_as_complex(self.param) * self.damp
            pixels = torch.fft.irfft2(spec, s=(self.h, self.w), norm="ortho")
            return torch.sigmoid(pixels * 4.0)
        return torch.sigmoid(self.param)


def _uint8(unit: torch.Tensor) -> np.ndarray:
    return (unit[0].detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)


def _tv(img: torch.Tensor) -> torch.Tensor:
    return (img[..., 1:, :] - img[..., :-1, :]).abs().mean() + (img[..., :, 1:] - img[..., :, :-1]).abs().mean()


def _ascend(model: Explainable, image: _Image, objective, steps: int, lr: float, jitter: int, scale: float,
            rotate: float, blur_every: int, blur_sigma: float, tv_weight: float, gen, tracker: Steps) -> None:
    for i in range(steps):
        tracker.check()
        with torch.enable_grad():
            unit = image.unit()
            value = objective(model.unit_to_input(_transform(unit, gen, jitter, scale, rotate)))
            loss = -value + tv_weight * _tv(unit)
        (g,) = torch.autograd.grad(loss, image.param)
        with torch.no_grad():
            image.param -= lr * g / g.abs().mean().clamp_min(1e-12)
            if blur_every and not image.fourier and (i + 1) % blur_every == 0:
                k = max(3, int(blur_sigma * 4) | 1)
                image.param.copy_(torch.logit(gaussian_blur(torch.sigmoid(image.param), [k, k], [blur_sigma] * 2)
                                              .clamp(1e-3, 1 - 1e-3)))
        tracker.step()


def _layer_objective(model: Explainable, layer: str, channel: int | None):
    def objective(x):
        maps = model.activations(x, layer, stop=True)
        if channel is not None and not 0 <= channel < maps[0].shape[1]:
            raise ExplainError(f"layer {layer!r} has {maps[0].shape[1]} channels; channel {channel} does not exist")
        if channel is None:
            return sum(m.pow(2).mean() for m in maps)
        return sum(m[:, channel].mean() for m in maps)
    return objective


def visualise_filter(model: Explainable, layer: str | None = None, channel: int | None = 0,
                     target: Target | None = None, size: tuple[int, int] = (128, 128), steps: int = 128,
                     lr: float = 0.05, jitter: int = 8, scale: float = 0.05, rotate: float = 5.0, blur_every: int = 4,
                     blur_sigma: float = 0.5, tv_weight: float = 0.0, fourier: bool = False, seed: int = 0,
                     progress: Progress = None, cancel=None) -> np.ndarray:
    """The image (uint8 H x W x 3) that maximises a layer's channel's mean activation, or, with a
    target (e.g. ClassTarget), the target's score: a class neuron."""
    if target is None and layer is None:
        raise ExplainError("name a layer (and channel) or give a class target")
    if layer is not None:
        model.module(layer)
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    img = _Image(h, w, fourier, gen, model.device, None)
    if target is not None:
        def objective(x):
            return target.score(model.forward(x)).sum()
    else:
        objective = _layer_objective(model, layer, channel)
    _ascend(model, img, objective, steps, lr, jitter, scale, rotate, blur_every if not fourier else 0, blur_sigma,
            tv_weight, gen, Steps(steps, progress, cancel))
    return _uint8(img.unit())


def deepdream(model: Explainable, image: np.ndarray, layer: str | None = None, channel: int | None = None,
              octaves: int = 3, octave_scale: float = 1.4, steps: int = 10, lr: float = 0.02, jitter: int = 16,
              noise: float = 0.0, seed: int = 0, progress: Progress = None, cancel=None) -> np.ndarray:
    """DeepDream: amplify the layer's activations (their mean square, or one channel) on the image, from
    the smallest octave up, the details of each octave carried to the next."""
    layer = layer or model.default_layer()
    model.module(layer)
    gen = torch.Generator().manual_seed(seed)
    base = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255)[None].to(model.device)
    h, w = base.shape[-2:]
    sizes = [(max(8, round(h / octave_scale ** k)), max(8, round(w / octave_scale ** k))) for k in range(octaves)][::-1]
    tracker = Steps(steps * len(sizes), progress, cancel)
    detail = torch.zeros_like(F.interpolate(base, size=sizes[0], mode="bilinear", align_corners=False))
    objective = _layer_objective(model, layer, channel)
    result = base
    for size in sizes:
        scaled = F.interpolate(base, size=size, mode="bilinear", align_corners=False)
        detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        start = (scaled + detail).clamp(0, 1)
        if noise:
            start = (start + torch.randn(start.shape, generator=gen).to(start.device) * noise).clamp(0, 1)
        img = _Image(size[0], size[1], False, gen, model.device, start)
        _ascend(model, img, objective, steps, lr, jitter, 0.0, 0.0, 0, 0.5, 0.0, gen, tracker)
        result = img.unit().detach()
        detail = result - scaled
    return _uint8(result)
