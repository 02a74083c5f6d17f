"""Heat maps as arrays: to the image's size and [0, 1], rank correlation, the overlay people look at."""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def to_image(raw: torch.Tensor, height: int, width: int) -> np.ndarray:
    """A non-negative map (h x w, any size) as float32 height x width in [0, 1] (all 0 when flat)."""
    m = raw.detach().float()
    if tuple(m.shape) != (height, width):
        m = F.interpolate(m[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]
    m = torch.nan_to_num(m.clamp_min(0), nan=0.0, posinf=0.0)
    top = float(m.max())
    out = (m / top) if top > 0 else torch.zeros_like(m)
    return out.clamp_(0, 1).cpu().numpy().astype(np.float32)


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks (0-based) with ties given their average rank."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2.0)[inverse.ravel()]


def rank_correlation(a: np.ndarray, b: np.ndarray, size: int = 64) -> float:
    """Spearman's rank correlation of two maps, compared at size x size (area-averaged)."""
    def small(m):
        return cv2.resize(np.asarray(m, np.float32), (size, size), interpolation=cv2.INTER_AREA).ravel()
    ra, rb = rankdata(small(a)), rankdata(small(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else 0.0


def peak(heat: np.ndarray) -> tuple[int, int]:
    """(x, y) of the map's maximum (the centre of a plateau of maxima)."""
    ys, xs = np.nonzero(heat >= heat.max())
    i = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
    return int(xs[i]), int(ys[i])


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5, box_xywh=None) -> np.ndarray:
    """The map in the jet colour map blended over the RGB image (uint8), with the target box drawn."""
    colour = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    out = cv2.addWeighted(image, 1 - alpha, colour, alpha, 0)
    if box_xywh is not None:
        x, y, w, h = (int(round(v)) for v in box_xywh)
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 255, 255), 2)
    return out
