"""Where a model's weights come from: a checkpoint file, torchvision's cache/download, or random.

Checkpoint file (this app's format) = torch.save of a dict:
  {"format": "sightline-checkpoint", "version": 1, "model_name": str,
   "categories": [names, "__background__" first for detection], "model": state_dict,
   optional "optimizer", "scheduler", "scaler", "epoch", "options", "metrics"}.
A bare torchvision state dict (or a torchvision references checkpoint {"model": ...}) is read too;
its categories are then the registry's.
"""
from __future__ import annotations

import argparse
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from . import weight_cache
from .category_mapping import SUPPRESS, CategoryMapping, CategoryMismatch, remap_state_dict
from .checksum import add_checksum, checksum_problem
from .device import check_precision, describe_device, free_memory, resolve_device
from .registry import (BACKGROUND, SEMANTIC, ModelSpec, UnknownModel, build_model, class_indexed_parameters,
                       get_spec)
from .weight_cache import OFFLINE_ENV, WeightsUnavailable  # noqa: F401 - part of this module's API
from annotations.errors import SightlineError
from annotations.ranges import problem as problem_of

CHECKPOINT_FORMAT = "sightline-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(SightlineError):
    """A checkpoint file that cannot be used; the message names the file and the reason."""


@dataclass
class LoadedModel:
    model: torch.nn.Module | None  # eval mode, on `device`; None once released
    spec: ModelSpec
    categories: list[str]  # index = model label
    device: torch.device
    source: str  # human readable: "random weights", "torchvision DEFAULT (file)", "checkpoint PATH"
    precision: str = "fp32"  # "fp32" | "fp16 autocast"
    mapping: CategoryMapping | None = None  # how checkpoint classes were mapped onto the project's
    build_kwargs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def fp16(self) -> bool:
        return self.precision.startswith("fp16")

    def describe(self) -> str:
        text = f"{self.spec.name} · {self.source} · {describe_device(self.device)} · {self.precision}"
        if self.mapping is not None and not self.mapping.identity:
            text += f" · {self.mapping.summary()}"
        return text

    def info(self) -> dict:
        """Plain data for the GUI (what a model_loaded signal carries)."""
        return {"name": self.spec.name, "task": self.spec.task, "categories": list(self.categories),
                "device": str(self.device), "device_name": describe_device(self.device),
                "precision": self.precision, "source": self.source, "description": self.describe(),
                "default_score": self.spec.default_score,
                "mapping": None if self.mapping is None else self.mapping.summary()}


def release_model(loaded: LoadedModel | None) -> None:
    """Free a model's memory (CPU RAM, and GPU memory back to the driver's pool)."""
    if loaded is None:
        return
    loaded.model = None
    free_memory()


# ---- torchvision's own weights -------------------------------------------------------------------
def default_weights_path(name: str, weights="DEFAULT") -> Path:
    """Where torchvision looks for the weights of registry model `name` (whether or not the file is there)."""
    return weight_cache.weights_path(get_spec(name), weights)


def ensure_default_weights(name: str, allow_download: bool = True, timeout: float = weight_cache.DOWNLOAD_TIMEOUT_S,
                           progress: Callable[[int, int], bool | None] | None = None, weights="DEFAULT") -> Path:
    """The cached weights file of registry model `name`, downloading it once when online."""
    return weight_cache.ensure_cached(get_spec(name), allow_download, timeout, progress, weights)


# ---- checkpoint files ---------------------------------------------------------------------------
def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)  # DistributedDataParallel / DataParallel


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, model_name: str, categories: list[str],
                    **extra) -> Path:
    """Write a checkpoint atomically (temporary file, fsync, rename)."""
    get_spec(model_name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in _unwrap(model).state_dict().items()}
    obj = add_checksum({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model_name": model_name,
                        "categories": list(categories), "model": state, **extra})
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _is_state_dict(obj) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _strip_prefix(sd: dict) -> dict:
    if all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint on the CPU without running any pickled code.

    Returns the app's dict; a bare state dict comes back as {"format": "state_dict",
    "model_name": None, "categories": None, "model": state_dict}.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: file not found")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            # torch warns on stderr about a file of another pickle protocol before it refuses it
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        if isinstance(e, pickle.UnpicklingError):
            why = "not a PyTorch weights file, or it holds Python objects that are not loaded for safety"
        elif isinstance(e, EOFError):
            why = "the file is empty or cut short"
        else:
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            why = f"{e.__class__.__name__}: {first[:200]}"
        raise CheckpointError(f"{p}: not a readable checkpoint ({why})") from e
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        version = obj.get("version", 0)
        if problem_of(version, int, 0) is not None:
            raise CheckpointError(f"{p}: its checkpoint version is not a whole number ({str(version)[:40]!r})")
        if version > CHECKPOINT_VERSION:
            raise CheckpointError(f"{p}: written by a newer version of this app (checkpoint version {version})")
        for key in ("model_name", "categories", "model"):
            if key not in obj:
                raise CheckpointError(f"{p}: checkpoint has no {key!r} entry")
        cats = obj["categories"]
        if not (isinstance(obj["model_name"], str) or obj["model_name"] is None) \
                or not (isinstance(cats, list) and all(isinstance(c, str) for c in cats)):
            raise CheckpointError(f"{p}: its model name or class names are not text")
        if not _is_state_dict(obj["model"]):
            raise CheckpointError(f"{p}: the 'model' entry is not a state dict")
        problem = checksum_problem(obj)
        if problem:
            raise CheckpointError(f"{p}: refused: {problem}")
        obj["model"] = _strip_prefix(obj["model"])
        return obj
    if _is_state_dict(obj):
        return {"format": "state_dict", "model_name": None, "categories": None, "model": _strip_prefix(obj)}
    if isinstance(obj, dict) and _is_state_dict(obj.get("model")):  # torchvision references' checkpoints
        return {"format": "state_dict", "model_name": None, "categories": None, "model": _strip_prefix(obj["model"])}
    raise CheckpointError(f"{p}: holds no model weights (expected a state dict or this app's checkpoint)")


def _load_state(model: torch.nn.Module, sd: dict, where: str) -> None:
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        raise CheckpointError(f"{where}: weights do not fit the model ({' '.join(lines[1:3])[:300]})") from e


def _check_bare_class_count(name: str, sd: dict, expected: int, where: str) -> None:
    """A bare state dict carries no class names: it must have the registry's classes."""
    for key, k in class_indexed_parameters(name, any(k.startswith("aux_classifier.") for k in sd)).items():
        if key in sd and sd[key].shape[0] != k * expected:
            n = sd[key].shape[0] // k
            raise CheckpointError(
                f"{where}: a bare state dict for {n} classes, but {name}'s registry classes are {expected}, and "
                "a bare state dict does not say which classes it has. Use a checkpoint saved by this app "
                "(it records the class names).")


def _checkpoint_build_kwargs(ckpt: dict) -> dict:
    opts = ckpt.get("options")
    if not isinstance(opts, dict):
        return {}
    return {k: int(opts[k]) for k in ("min_size", "max_size") if isinstance(opts.get(k), int)}


# ---- loading a model ----------------------------------------------------------------------------
def load_model(name: str | None, source: str = "random", device: str | torch.device = "auto",
               project_categories: list[str] | None = None, fp16: bool = False, allow_download: bool = True,
               progress: Callable[[int, int], bool | None] | None = None, **build_kw) -> LoadedModel:
    """Build a registry model with weights from `source` ("random", "default" or a checkpoint path).

    project_categories (names, no background): re-index the classifier so model label i is the
    project's category i-1 (by name), or refuse with the reason; None or empty keeps the model's
    own classes. name may be None for a checkpoint of this app (its model name is used).
    Raises KeyError (unknown model), DeviceUnavailable, WeightsUnavailable, CheckpointError.
    """
    kind = (source or "random").strip()
    ckpt = None
    if kind.lower() not in ("random", "default"):
        ckpt = load_checkpoint(kind)
        ckpt_name = ckpt.get("model_name")
        if name is None:
            if not ckpt_name:
                raise CheckpointError(f"{kind}: a bare state dict; say which model it is for")
            name = ckpt_name
        elif ckpt_name and ckpt_name != name:
            raise CheckpointError(f"{kind}: a checkpoint of {ckpt_name}, not of {name}")
    if name is None:
        raise UnknownModel("No model name given")
    spec = get_spec(name)
    dev = resolve_device(device)
    precision = check_precision(dev, fp16)
    target = [BACKGROUND, *project_categories] if project_categories else None

    if kind.lower() == "random":
        categories = target or list(spec.categories)
        model = build_model(name, num_classes=len(categories), **build_kw)
        return _finish(model, spec, categories, dev, "random weights", precision, None, build_kw)

    if kind.lower() == "default":
        path = ensure_default_weights(name, allow_download=allow_download, progress=progress)
        model = build_model(name, weights="DEFAULT", **build_kw)
        categories, described, where = list(spec.categories), f"torchvision DEFAULT ({path.name})", str(path)
    else:
        build_kw = {**_checkpoint_build_kwargs(ckpt), **build_kw}
        categories = list(ckpt["categories"] or spec.categories)
        sd = ckpt["model"]
        if spec.task == SEMANTIC:
            build_kw.setdefault("aux_loss", any(k.startswith("aux_classifier.") for k in sd))
        if not ckpt["categories"]:
            _check_bare_class_count(name, sd, len(categories), kind)
        model = build_model(name, num_classes=len(categories), **build_kw)
        described, where = f"checkpoint {kind}", kind
        _load_state(model, sd, where)
    if target is None or target == categories:
        return _finish(model, spec, categories, dev, described, precision, None, build_kw)

    try:
        sd, mapping = remap_state_dict(model.state_dict(), name, categories, target, fill=SUPPRESS)
    except CategoryMismatch as e:
        raise CheckpointError(f"{where}: {e}") from e
    del model
    if spec.task == SEMANTIC:
        build_kw.setdefault("aux_loss", any(k.startswith("aux_classifier.") for k in sd))
    model = build_model(name, num_classes=len(target), **build_kw)
    _load_state(model, sd, where)
    return _finish(model, spec, target, dev, described, precision, mapping, build_kw)


def _finish(model, spec, categories, dev, source, precision, mapping, build_kw) -> LoadedModel:
    model.eval().to(dev)
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedModel(model, spec, list(categories), dev, source, precision, mapping, dict(build_kw))
