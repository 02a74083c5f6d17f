"""D-RISE (Petsiuk et al. 2021): a black-box map for any detector. Random low-resolution binary masks,
upsampled with a random shift, keep parts of the image; each masked image's detections are compared to
the target -- IoU x cosine(class vectors) x objectness, best candidate -- and the map is the masks'
sum weighted by that similarity, less what the mean similarity gives every pixel (centred). For
classifiers and segmenters the weight is the target probability (RISE)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..baselines import baseline
from .base import BATCH, Context, Cost, Method, SEED, register


def mask_draws(n: int, grid: int, p: float, h: int, w: int, generator: torch.Generator):
    """The random numbers of n masks, drawn at once: the same masks whatever batches they are built in."""
    cell_h, cell_w = -(-h // grid), -(-w // grid)
    small = (torch.rand((n, 1, grid, grid), generator=generator) < p).float()
    dy = torch.randint(0, cell_h, (n,), generator=generator)
    dx = torch.randint(0, cell_w, (n,), generator=generator)
    return small, dy, dx


def random_masks(n: int, grid: int, p: float, h: int, w: int, generator: torch.Generator, device,
                 draws=None) -> torch.Tensor:
    """n masks (n x 1 x h x w): a grid of cells kept with probability p, upsampled and shifted by
    less than a cell; `draws` (mask_draws' numbers for these n) instead of drawing from `generator`."""
    small, dy, dx = draws if draws is not None else mask_draws(n, grid, p, h, w, generator)
    cell_h, cell_w = -(-h // grid), -(-w // grid)
    up = F.interpolate(small, size=((grid + 1) * cell_h, (grid + 1) * cell_w), mode="bilinear", align_corners=False)
    out = torch.stack([up[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    return out.to(device)


@register
class DRISE(Method):
    name, title, group = "drise", "D-RISE", "perturbation"
    defaults = {"masks": 500, "grid": 16, "p": 0.5, "batch_size": 16, "baseline": "zero", "seed": 0}
    limits = {"masks": (int, 1, 100_000), "grid": (int, 1, 256), "p": (float, 1e-6, 1.0), "batch_size": BATCH,
              "seed": SEED}

    def passes(self, ctx: Context) -> Cost:
        return Cost(int(ctx.param("masks", 500)), 0, int(ctx.param("batch_size", 16)))

    def run(self, ctx: Context) -> torch.Tensor:
        n, grid, p = int(ctx.param("masks", 500)), int(ctx.param("grid", 16)), float(ctx.param("p", 0.5))
        bs = ctx.batch(16)
        h, w = ctx.x.shape[-2:]
        gen = torch.Generator().manual_seed(int(ctx.param("seed", 0)))
        small, dy, dx = mask_draws(n, grid, p, h, w, gen)
        fill = baseline(ctx.x, ctx.param("baseline", "zero"))
        weighted = torch.zeros((h, w), device=ctx.x.device)
        kept = torch.zeros((h, w), device=ctx.x.device)
        weight_sum = 0.0
        for start in range(0, n, bs):
            ctx.steps.check()
            end = min(n, start + bs)
            m = random_masks(end - start, grid, p, h, w, gen, ctx.x.device,
                             (small[start:end], dy[start:end], dx[start:end]))
            xb = ctx.x * m + fill * (1 - m)
            with torch.no_grad():
                weight = ctx.target.similarity(ctx.model.forward(xb)).float()
            weighted += (weight.view(-1, 1, 1) * m[:, 0]).sum(0)
            kept += m[:, 0].sum(0)
            weight_sum += float(weight.sum())
            ctx.steps.step(m.shape[0])
        # Centred: the mean weight times how often a pixel was kept is what any pixel would get by
        # chance; what is left is where keeping the pixel raised the similarity.
        return torch.relu((weighted - kept * (weight_sum / n)) / (n * p))
