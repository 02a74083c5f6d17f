"""Training options: one dataclass, defaults that suit each model family, JSON round trip."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from annotations.errors import SightlineError
from annotations.ranges import BIG, problem


class OptionsError(SightlineError):
    """A training option of the wrong type or out of its range (from the command line, the form or
    a run folder's options.json)."""


# name -> (type, lowest, highest); None = no bound. Floats must be finite.
_RANGES: dict[str, tuple[type, float | None, float | None]] = {
    "image_size": (int, 32, 8192), "epochs": (int, 1, 1_000_000), "batch_size": (int, 1, 4096),
    "lr": (float, 1e-12, 1e6), "momentum": (float, 0.0, 1.0), "weight_decay": (float, 0.0, 10.0),
    "warmup_iters": (int, 0, 10_000_000), "gamma": (float, 1e-12, 1.0), "freeze_backbone_epochs": (int, 0, 1_000_000),
    "trainable_layers": (int, -1, 1000), "roi_batch_size": (int, 0, 100_000), "grad_clip": (float, 0.0, 1e12),
    "early_stopping": (int, 0, 1_000_000), "val_every": (int, 1, 1_000_000), "seed": (int, 0, BIG),
    "workers": (int, 0, 256), "log_every": (int, 1, 10_000_000), "checkpoint_every": (int, 0, 10_000_000_000),
    "max_iterations": (int, 0, 10_000_000_000), "max_minutes": (float, 0.0, 1e9),
}
_CHOICES = {"optimizer": ("sgd", "adamw"), "schedule": ("cosine", "step", "constant")}


@dataclass
class TrainOptions:
    model: str = "fasterrcnn_mobilenet_v3_large_320_fpn"
    source: str = "random"  # "random" | "default" (torchvision weights) | checkpoint path
    train_split: str = "train"  # "" = every image (with labels) not in the validation split
    val_split: str = "val"  # "" = no validation
    train_image_ids: list[int] | None = None  # an explicit filter; overrides train_split
    val_image_ids: list[int] | None = None
    negatives: bool = False  # images without labels train as background only when asked
    image_size: int = 320  # longest side the model sees
    epochs: int = 20
    batch_size: int = 4
    optimizer: str = "sgd"  # "sgd" | "adamw"
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_iters: int = 100
    schedule: str = "cosine"  # "cosine" | "step" | "constant"
    step_epochs: list[int] = field(default_factory=list)  # step decay: epochs where lr *= gamma
    gamma: float = 0.1
    freeze_backbone_epochs: int = 0  # backbone frozen for these first epochs, then trained
    trainable_layers: int = -1  # last K backbone blocks train (-1 = all)
    roi_batch_size: int = 0  # R-CNN box head: sampled regions per image (0 = model default, 512)
    augment: bool = True
    amp: bool = False  # mixed precision: fp16 on CUDA, bfloat16 on CPUs with native support, else fp32
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    monitor: str = "map"  # validation metric that picks the best checkpoint: map, map50, miou...
    early_stopping: int = 0  # stop after this many validations without improvement; 0 = off
    val_every: int = 1  # epochs between validations
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    log_every: int = 10  # iterations between progress lines
    checkpoint_every: int = 0  # iterations between "last" checkpoints inside an epoch; 0 = epoch ends only
    max_iterations: int = 0  # stop (saving a resumable checkpoint) after this many; 0 = run all epochs
    max_minutes: float = 0.0  # the same after this much training time (this process); 0 = no limit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self) -> None:
        """OptionsError naming the first option of the wrong type or out of range (NaN, infinity, -3 epochs)."""
        for name, (kind, lo, hi) in _RANGES.items():
            v = getattr(self, name)
            wrong = problem(v, kind, lo, hi)
            if wrong == "type":
                raise OptionsError(f"training option {name}: expected {'an integer' if kind is int else 'a number'}, "
                                   f"got {v!r}")
            if wrong == "finite":
                raise OptionsError(f"training option {name}: {v!r} is not a finite number")
            if wrong == "range":
                bounds = f"{lo}..{hi}" if kind is int else f"{lo:g}..{hi:g}"
                raise OptionsError(f"training option {name}: {v!r} is outside {bounds}")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise OptionsError(f"training option {name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        for name in ("negatives", "augment", "amp"):
            if not isinstance(getattr(self, name), bool):
                raise OptionsError(f"training option {name}: expected true or false, got {getattr(self, name)!r}")
        for name in ("model", "source", "train_split", "val_split", "monitor", "device"):
            if not isinstance(getattr(self, name), str):
                raise OptionsError(f"training option {name}: expected text, got {getattr(self, name)!r}")
        for name in ("step_epochs", "train_image_ids", "val_image_ids"):
            v = getattr(self, name)
            if v is None and name != "step_epochs":
                continue
            whole = isinstance(v, (list, tuple)) and all(problem(i, int, 0, BIG) is None for i in v)
            if not whole:
                raise OptionsError(f"training option {name}: expected a list of whole numbers of 0 or more")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainOptions":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def task_of(model_name: str) -> str:
    """"detection" | "instance" | "semantic": the registry's word; a name it does not know raises
    UnknownModel (a SightlineError). Imports the registry, so torch: the window passes the task it has
    from the engine thread to family_defaults instead."""
    from engine.registry import get_spec
    return get_spec(model_name).task


def family_defaults(model_name: str, pretrained: bool, task: str | None = None) -> dict[str, Any]:
    """Options that work for a family of models on a small data set (overridable one by one).

    Training from random weights wants AdamW and more epochs; fine-tuning wants SGD with a small
    learning rate and, for the first epochs, a frozen backbone so new heads do not wreck it. `task`
    when the caller knows it (the window does, from the engine's answer: no registry import there).
    """
    task = task or task_of(model_name)
    d: dict[str, Any] = {}
    compact = "_compact" in model_name  # engine/models/compact.py: built for CPUs and random starts
    small = compact or "320" in model_name or model_name.startswith("ssdlite")
    d["image_size"] = 320 if small else (512 if task == "semantic" else 640)
    d["batch_size"] = 8 if small else 4
    if pretrained:
        d.update(optimizer="sgd", lr=0.01 if task != "semantic" else 0.005, weight_decay=1e-4,
                 epochs=12, warmup_iters=50, freeze_backbone_epochs=2)
    else:
        d.update(optimizer="adamw", lr=1e-3 if task != "semantic" else 5e-4, weight_decay=1e-4,
                 epochs=40, warmup_iters=100, freeze_backbone_epochs=0)
    if "rcnn" in model_name:
        # Few objects per image: 64 sampled regions carry the same signal as 512 at an eighth of
        # the box-head cost, which dominates a small R-CNN's step on a CPU.
        d["roi_batch_size"] = 64
    if compact:
        # Built for CPUs: bfloat16 (where the CPU has it) about halves a step at no cost in accuracy.
        d["amp"] = True
        if not pretrained:
            # From random weights the validation mAP climbs slowly for ~50 epochs, then fast as the
            # cosine rate falls (on the demo project: 0.45 at epoch 47, 0.88 at epoch 87 of 102).
            d["epochs"] = 100
    if model_name.startswith("ssd"):
        d["weight_decay"] = 4e-5
    return d


def default_options(model_name: str, source: str = "random", **overrides) -> TrainOptions:
    opts = TrainOptions(model=model_name, source=source)
    for k, v in {**family_defaults(model_name, source != "random"), **overrides}.items():
        setattr(opts, k, v)
    return opts
