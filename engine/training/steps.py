"""One optimisation step for each kind of model, returning its losses as plain floats."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IGNORE
from annotations.errors import SightlineError

_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class StepFailed(SightlineError):
    def __init__(self, cause: BaseException, out_of_memory: bool):
        super().__init__(str(cause))
        self.cause = cause
        self.out_of_memory = out_of_memory


def normalize_semantic(x: torch.Tensor) -> torch.Tensor:
    """Segmentation models expect ImageNet-normalised input (detectors normalise inside)."""
    return (x - _MEAN.to(x.device)) / _STD.to(x.device)


def _is_oom(e: BaseException) -> bool:
    if isinstance(e, torch.OutOfMemoryError):
        return True
    text = str(e).lower()
    return "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text


def compute_losses(model, batch, task: str, device) -> dict[str, torch.Tensor]:
    if task == "semantic":
        x, y = batch
        out = model(normalize_semantic(x.to(device, non_blocking=True)))
        y = y.to(device, non_blocking=True)
        losses = {"loss_seg": F.cross_entropy(out["out"], y, ignore_index=IGNORE)}
        if "aux" in out:
            losses["loss_aux"] = 0.5 * F.cross_entropy(out["aux"], y, ignore_index=IGNORE)
        return losses
    images, targets = batch
    images = [i.to(device, non_blocking=True) for i in images]
    targets = [{k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
                for k, v in t.items() if k != "image_id"} for t in targets]
    return model(images, targets)


def train_step(model, batch, task: str, optimizer, scaler, device, amp_dtype: torch.dtype | None, grad_clip: float):
    """Forward, backward, step. Returns ({"loss": total, name: value...}, images in the batch).

    amp_dtype: autocast to that type (see mixed_precision), None = fp32. A non-finite loss skips
    the update (the caller stops the run), so the weights stay good."""
    try:
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            losses = compute_losses(model, batch, task, device)
            total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        finite = bool(torch.isfinite(total).item())
        # Under DDP every process must run backward (its all-reduce waits for all); the run stops
        # right after this step anyway and nothing from it is saved.
        if finite or hasattr(model, "module"):
            scaler.scale(total).backward()
        if finite:
            if grad_clip and grad_clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
    except (RuntimeError, torch.OutOfMemoryError) as e:
        if _is_oom(e):
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            raise StepFailed(e, True) from e
        raise StepFailed(e, False) from e
    values = {k: float(v.detach()) for k, v in losses.items()}
    values["loss"] = float(total.detach())
    n = len(batch[0])
    return values, n
