"""Compact detectors for training from random weights on a CPU.

torchvision's detectors are built around ImageNet backbones (ResNet-50, MobileNetV3). Without their
pretrained weights -- offline, or for imagery unlike ImageNet -- those backbones learn slowly on a
CPU: most of their compute goes into capacity a small labelled set cannot use. The models here
keep torchvision's detection heads, losses and post-processing (FCOS: anchor free, focal loss,
GIoU, centre-ness; GroupNorm in the head, so small batches are fine) on a small residual backbone
and a three-level FPN (strides 8, 16, 32), sized to reach a useful accuracy in minutes.

They have no published weights: start them from random weights or from a checkpoint.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection import FCOS
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import FeaturePyramidNetwork

from ..model_spec import ANCHOR_MAJOR, BACKGROUND, DETECTION, ModelSpec


class _Residual(nn.Module):
    """Two 3x3 convolutions with BatchNorm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: deep from-scratch training stays stable
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def _stage(c_in: int, c_out: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(_Residual(c_in, c_out, 2), *(_Residual(c_out, c_out) for _ in range(blocks - 1)))


class CompactResNet(nn.Sequential):
    """stem (stride 2) and four residual stages (strides 4, 8, 16, 32)."""

    def __init__(self, widths=(24, 32, 64, 128, 192), blocks=(1, 2, 2, 1)) -> None:
        w0, w1, w2, w3, w4 = widths
        super().__init__(OrderedDict([
            ("stem", nn.Sequential(nn.Conv2d(3, w0, 3, 2, 1, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True))),
            ("layer1", _stage(w0, w1, blocks[0])),
            ("layer2", _stage(w1, w2, blocks[1])),
            ("layer3", _stage(w2, w3, blocks[2])),
            ("layer4", _stage(w3, w4, blocks[3])),
        ]))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class CompactFPNBackbone(nn.Module):
    """CompactResNet's stages 2-4 through an FPN: three maps of `out_channels` (strides 8, 16, 32)."""

    def __init__(self, out_channels: int = 64, widths=(24, 32, 64, 128, 192), blocks=(1, 2, 2, 1)) -> None:
        super().__init__()
        self.body = CompactResNet(widths, blocks)
        self.fpn = FeaturePyramidNetwork(list(widths[2:]), out_channels)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        maps = OrderedDict()
        for name, stage in self.body.named_children():
            x = stage(x)
            if name in ("layer2", "layer3", "layer4"):
                maps[str(len(maps))] = x
        return self.fpn(maps)


def fcos_compact_fpn(*, weights=None, weights_backbone=None, num_classes: int | None = None,
                     min_size: int = 320, max_size: int = 512, **kwargs) -> FCOS:
    """FCOS on CompactFPNBackbone. Keywords as torchvision's builders; there are no weights to load."""
    if weights is not None or weights_backbone is not None:
        raise ValueError("fcos_compact_fpn has no published weights; start it from random weights or a checkpoint")
    anchors = AnchorGenerator(((8,), (16,), (32,)), ((1.0,),) * 3)  # one point per location, size = stride
    return FCOS(CompactFPNBackbone(), 91 if num_classes is None else num_classes, min_size=min_size,
                max_size=max_size, anchor_generator=anchors, **kwargs)


MODELS = (ModelSpec("fcos_compact_fpn", DETECTION, (BACKGROUND, "object"), 320, 0.4, 512, "fcos", ANCHOR_MAJOR, 0.5,
                    "FCOS, compact FPN (no published weights: trains from scratch on a CPU in minutes)",
                    builder=fcos_compact_fpn),)
