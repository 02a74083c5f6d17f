"""Which device and precision a model runs on, said plainly (never a silent CPU fallback)."""
from __future__ import annotations

import contextlib
import ctypes
import gc

import torch
from annotations.errors import SightlineError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(SightlineError):
    """The device or precision asked for cannot be used here; the message says why."""


def resolve_device(choice: str | torch.device = "auto", local_rank: int | None = None) -> torch.device:
    """"auto" = CUDA when present, else the CPU. Asking for CUDA without it is an error.

    local_rank: in a distributed run, plain "cuda" (or "auto" on CUDA) means this process's own GPU.
    """
    if isinstance(choice, torch.device):
        choice = str(choice)
    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailable(f"Device {choice!r} was asked for, but CUDA is not available "
                                    f"(torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'}). "
                                    "Choose 'cpu' or 'auto'.")
        dev = torch.device(choice)
        if dev.index is None and local_rank is not None:
            dev = torch.device("cuda", local_rank)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"{choice}: only {torch.cuda.device_count()} CUDA device(s) present.")
        return dev
    raise DeviceUnavailable(f"Unknown device {choice!r}; choose one of {', '.join(DEVICE_CHOICES)}.")


def fp16_usable(device: torch.device, wanted: bool) -> bool:
    """Whether inference runs in fp16 autocast: asked for, and on CUDA (the only place it exists here)."""
    return bool(wanted) and device.type == "cuda"


def check_precision(device: torch.device, fp16: bool) -> str:
    """The precision label in use; fp16 autocast exists only on CUDA here."""
    if fp16 and not fp16_usable(device, fp16):
        raise DeviceUnavailable("fp16 needs a CUDA device; this model runs on the CPU in fp32.")
    return "fp16 autocast" if fp16 else "fp32"


def cpu_bf16_supported() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX), which oneDNN uses."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def mixed_precision(wanted: bool, device: torch.device) -> tuple[torch.dtype | None, str]:
    """Training's precision: (autocast dtype or None for fp32, a note for people when the wish cannot be met).

    fp16 with a gradient scaler on CUDA; bfloat16 on CPUs with native support, where it roughly
    halves a convolutional step (and needs no scaler: bfloat16 has fp32's range). Elsewhere fp32."""
    if not wanted:
        return None, ""
    if device.type == "cuda":
        return torch.float16, ""
    if device.type == "cpu" and cpu_bf16_supported():
        return torch.bfloat16, ""
    return None, f"Mixed precision needs CUDA or a CPU with bfloat16 arithmetic; training on {device} in fp32."


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


def autocast(device: torch.device, fp16: bool):
    """Inference's autocast: fp16 where fp16_usable, else none (fp32)."""
    if fp16_usable(device, fp16):
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def free_memory() -> None:
    """Return freed tensors' memory: Python garbage first, then CUDA's cache, then glibc's heap
    (freed weights otherwise stay in the process's RSS after a model switch)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    _malloc_trim()


def _malloc_trim() -> None:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):  # not glibc: nothing to trim
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc = None
