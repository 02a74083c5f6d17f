"""A classifier whose answer is known by construction: the score of class c depends only on the
pixels of one region R_c (its last layer's weights are zero outside R_c), and class 0 ("red")
measures redness. The test image has a red square inside R_0 and green squares elsewhere."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

SIZE = 64
REGIONS = {0: (36, 8, 16, 16), 1: (6, 38, 16, 16), 2: (40, 40, 16, 16)}  # class -> x, y, w, h
CATEGORIES = ["red", "green", "blue"]


class RegionClassifier(nn.Module):
    def __init__(self, gain: float = 6.0, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.act2 = nn.ReLU()
        self.pool = nn.AvgPool2d(4)
        self.classifier = nn.Linear(4 * (SIZE // 4) ** 2, 3)
        with torch.no_grad():
            colour = torch.tensor([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0], [1 / 3, 1 / 3, 1 / 3]])
            self.conv1.weight.zero_()
            self.conv1.weight[:, :, 1, 1] = colour  # colour detectors, one per channel
            self.conv1.bias.zero_()
            self.conv2.weight.copy_(torch.randn(self.conv2.weight.shape, generator=g) * 0.02)
            for c in range(4):
                self.conv2.weight[c, c, 1, 1] += 1.0
            self.conv2.bias.zero_()
            w = torch.zeros(3, 4, SIZE // 4, SIZE // 4)
            for c, (x, y, bw, bh) in REGIONS.items():
                w[c, c, y // 4:(y + bh) // 4, x // 4:(x + bw) // 4] = gain / ((bw // 4) * (bh // 4))
            self.classifier.weight.copy_(w.flatten(1))
            self.classifier.bias.copy_(torch.tensor([-1.0, -1.0, -1.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.pool(self.act2(self.conv2(self.act1(self.conv1(x)))))
        return self.classifier(f.flatten(1))


def region_image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(128, 20, (SIZE, SIZE, 3)), 0, 255)
    x, y, w, h = REGIONS[0]
    img[y + 3:y + h - 3, x + 3:x + w - 3] = (230, 30, 30)  # the red object, inside class 0's region
    img[4:16, 4:16] = (30, 230, 30)  # green objects elsewhere (one inside class 1's region)
    img[44:56, 10:22] = (30, 230, 30)
    return img.astype(np.uint8)


def inside(point, box, margin: int = 0) -> bool:
    px, py = point
    x, y, w, h = box
    return x - margin <= px < x + w + margin and y - margin <= py < y + h + margin
