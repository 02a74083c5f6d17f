"""Reading image files: sizes from headers (cheap), pixels as RGB numpy arrays."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image
from .errors import SightlineError

Image.MAX_IMAGE_PIXELS = None  # users open huge images on purpose (tiled display handles them)


class ImageReadError(SightlineError):
    """A file that is missing or cannot be decoded; the message names it."""


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except FileNotFoundError as e:
        raise ImageReadError(f"{path}: file not found") from e
    except Exception as e:  # PIL raises many types for bad files
        raise ImageReadError(f"{path}: not a readable image ({e.__class__.__name__}: {e})") from e


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """HxWx3 uint8 RGB. Raises ImageReadError with the file name on any failure."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: file not found")
    data = np.fromfile(p, dtype=np.uint8)  # works with unicode paths, unlike cv2.imread
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        try:  # formats OpenCV lacks
            with Image.open(p) as im:
                return np.asarray(im.convert("RGB"))
        except Exception as e:
            raise ImageReadError(f"{p}: the image could not be decoded ({e})") from e
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_rgb(path: str | os.PathLike, rgb: np.ndarray, quality: int = 92) -> None:
    """Write atomically (temporary file, then rename): never a half-written image."""
    import cv2

    p = Path(path)
    ext = p.suffix.lower() or ".png"
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ImageReadError(f"{p}: could not encode as {ext}")
    atomic_write_bytes(p, buf.tobytes())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
