"""torchvision's published weights on this machine: where they are cached, and fetching them once.

A leaf module (it knows nothing of the registry): functions take a model spec, anything with
`name` and `weights_enum`. The cache is looked at first, so offline work with cached weights never
touches the network; a download that fails or times out (short socket timeout) raises
WeightsUnavailable, whose message says which file to put where and what else to choose.
"""
from __future__ import annotations

import hashlib
import os
import re
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import torch

from annotations.errors import SightlineError

OFFLINE_ENV = "SIGHTLINE_OFFLINE"  # set to 1: never try to download weights
DOWNLOAD_TIMEOUT_S = 10.0
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")  # torchvision file names carry a sha256 prefix


class WeightsUnavailable(SightlineError):
    """torchvision's pretrained weights are neither cached nor downloadable right now."""

    def __init__(self, model_name: str, file_name: str, directory: Path, url: str, reason: str = ""):
        self.model_name, self.file_name, self.directory, self.url = model_name, file_name, directory, url
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Pretrained weights for {model_name} are not on this machine and could not be downloaded{why}. "
            f"torchvision expects the file {file_name} in {directory} (it is downloaded from {url}). "
            "Copy that file there, or choose a checkpoint file, or use random weights (train from scratch).")


def weights_url(spec, weights="DEFAULT") -> str:
    """The URL of torchvision's weights for `spec` ("DEFAULT" or another member of its enum)."""
    return spec.weights_enum.verify(weights).url


def weights_path(spec, weights="DEFAULT") -> Path:
    """Where torchvision looks for those weights (whether or not the file is there)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights_url(spec, weights)).path)


def _download(url: str, dst: Path, timeout: float, progress: Callable[[int, int], bool | None] | None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part{os.getpid()}")
    sha = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
            total, done = int(r.headers.get("Content-Length") or 0), 0
            while chunk := r.read(1 << 20):
                f.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if progress is not None and progress(done, total) is False:
                    raise OSError("download cancelled")
        m = _HASH_IN_NAME.search(dst.name)
        if m and not sha.hexdigest().startswith(m.group(1)):
            raise OSError("downloaded file does not match its checksum")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_cached(spec, allow_download: bool = True, timeout: float = DOWNLOAD_TIMEOUT_S,
                  progress: Callable[[int, int], bool | None] | None = None, weights="DEFAULT") -> Path:
    """The cached weights file of `spec`, downloading it once when online."""
    name = spec.name
    url = weights_url(spec, weights)
    path = weights_path(spec, weights)
    if path.is_file():
        return path
    unavailable = WeightsUnavailable(name, path.name, path.parent, url)
    if not allow_download or os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise unavailable
    try:
        _download(url, path, timeout, progress)
    except Exception as e:  # any network or disk failure means the same thing to the user
        raise WeightsUnavailable(name, path.name, path.parent, url, reason=f"{e.__class__.__name__}: {e}") from e
    return path
