"""Models to train: built from the registry with heads sized for the project's categories, started
from random weights, torchvision's weights or a checkpoint; and backbone freezing."""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..registry import build_model
from ..weights import load_model
from . import checkpoints
from .options import task_of
from annotations.errors import SightlineError

BACKGROUND = "__background__"


class ModelSourceError(SightlineError):
    """The starting weights cannot be had (message says which and what else to do)."""


def _build(name: str, num_classes: int) -> nn.Module:
    try:
        return build_model(name, num_classes=num_classes, weights=None, weights_backbone=None)
    except KeyError as e:
        raise ModelSourceError(e.args[0]) from e


def _torchvision_state(name: str) -> dict:
    try:
        return load_model(name, source="default", device="cpu").model.state_dict()
    except SightlineError as e:  # WeightsUnavailable, NoPublishedWeights: a readable message
        raise ModelSourceError(str(e)) from e


@dataclass
class StartingPoint:
    model: nn.Module
    categories: list[str]  # index = model label; "__background__" at 0
    description: str  # what the weights came from, for people
    checkpoint: dict | None = None  # the full checkpoint dict when started from one
    exact: bool = False  # checkpoint of the same model and categories: every weight was loaded


def _load_matching(model: nn.Module, state: dict) -> tuple[int, int]:
    """Load what fits (same name and shape); heads sized for other classes stay fresh."""
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(fitting, strict=False)
    return len(fitting), len(own)


def build_for_training(name: str, project_categories: list[str], source: str = "random",
                       image_size: int | None = None, roi_batch_size: int = 0) -> StartingPoint:
    categories = [BACKGROUND, *project_categories]
    model = _build(name, len(categories))
    if image_size and hasattr(model, "transform") and getattr(model.transform, "fixed_size", None) is None:
        model.transform.min_size = (int(image_size),)
        model.transform.max_size = int(image_size)
    if roi_batch_size and hasattr(model, "roi_heads"):
        model.roi_heads.fg_bg_sampler.batch_size_per_image = int(roi_batch_size)
    if source in ("random", "", None):
        return StartingPoint(model, categories, f"{name}, random weights")
    if source == "default":
        loaded, total = _load_matching(model, _torchvision_state(name))
        return StartingPoint(model, categories, f"{name}, torchvision weights ({loaded}/{total} tensors; new heads)")
    try:
        ckpt = checkpoints.load(source)
    except FileNotFoundError as e:
        raise ModelSourceError(f"Checkpoint {source} not found.") from e
    except Exception as e:
        raise ModelSourceError(f"Checkpoint {source} could not be read: {e}") from e
    if ckpt.get("model_name") not in (None, name):
        raise ModelSourceError(f"Checkpoint {source} holds a {ckpt['model_name']}, not a {name}.")
    exact = list(ckpt.get("categories") or []) == categories
    loaded, total = _load_matching(model, ckpt["model"])
    how = "all weights" if exact and loaded == total else f"{loaded}/{total} tensors; heads for new categories"
    return StartingPoint(model, categories, f"{name} from {source} ({how})", ckpt, exact and loaded == total)


def quicken_batchnorm_statistics(model: nn.Module, momentum: float = 0.1) -> int:
    """Give trainable BatchNorm layers a running-statistics momentum of at least `momentum`.

    MobileNetV3 ships with 0.01, tuned for long ImageNet runs. From random weights the features
    change fast, and with 0.01 the running statistics that evaluation uses lag hundreds of
    iterations behind: the training loss falls while validation sees almost nothing. The state
    dict is the same, so checkpoints are unaffected. Returns how many layers changed."""
    changed = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.momentum is not None and m.momentum < momentum:
            m.momentum = momentum
            changed += 1
    return changed


def backbone_blocks(model: nn.Module) -> list[list[nn.Parameter]]:
    """The backbone's blocks from input to output, each a list of its parameters."""
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        return []
    body = backbone
    for attr in ("body", "features"):
        if getattr(backbone, attr, None) is not None:
            body = getattr(backbone, attr)
            break
    blocks: list[list[nn.Parameter]] = []
    for child in body.children():
        params = list(child.parameters())
        if not params:
            continue
        if blocks and isinstance(child, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            blocks[-1] += params  # a stem's norm belongs with its convolution
        else:
            blocks.append(params)
    return blocks


def set_backbone_trainable(model: nn.Module, frozen: bool, trainable_layers: int = -1) -> int:
    """Freeze the whole backbone, or all but its last `trainable_layers` blocks (-1 = none frozen).
    Returns how many blocks train."""
    blocks = backbone_blocks(model)
    if not blocks:
        return 0
    k = 0 if frozen else (len(blocks) if trainable_layers < 0 else min(trainable_layers, len(blocks)))
    for i, params in enumerate(blocks):
        for p in params:
            p.requires_grad_(i >= len(blocks) - k)
    return k


def model_task(name: str) -> str:
    return task_of(name)
