"""A checksum of a state dict, stored in the app's checkpoints so a damaged file is refused.

torch.load reads a file whose tensor bytes were overwritten without a word; the checksum (SHA-256
over every tensor's name, dtype, shape and bytes, in name order) is computed when a checkpoint is
written and compared when it is read."""
from __future__ import annotations

import hashlib

import torch

KEY = "checksum"
ALGORITHM = "sha256-state-v1"


def state_checksum(state: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name]
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    return f"{ALGORITHM}:{h.hexdigest()}"


def add_checksum(checkpoint: dict) -> dict:
    checkpoint[KEY] = state_checksum(checkpoint["model"])
    return checkpoint


def checksum_problem(checkpoint: dict) -> str | None:
    """None when the stored checksum matches the weights (or the file predates checksums),
    else why not."""
    stored = checkpoint.get(KEY)
    if stored is None:
        return None
    if not isinstance(stored, str) or not stored.startswith(ALGORITHM + ":"):
        return f"its checksum {str(stored)[:40]!r} is not one this app writes"
    if state_checksum(checkpoint["model"]) != stored:
        return "its weights do not match the checksum stored with them (the file was damaged or altered)"
    return None
