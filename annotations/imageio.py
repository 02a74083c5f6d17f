"""Reading image files: sizes from headers (cheap), pixels as RGB numpy arrays.

Sizes and pixels are as displayed: a photo whose EXIF orientation says "rotate 90" is recorded
and decoded upright (as labelme, PIL's exif_transpose and OpenCV do), so shapes drawn on it, model
predictions and exports all share one coordinate frame.

A pixel limit guards every decode against decompression bombs (a 400 kB PNG can claim 20000x20000
pixels): images over it are refused with ImageTooLarge, which batch jobs report and skip. Raise it
with set_pixel_limit() or the environment variable SIGHTLINE_MAX_PIXELS."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import SightlineError

DEFAULT_MAX_PIXELS = 1 << 28  # 268 megapixels, e.g. 16384 x 16384 (about 800 MB as RGB)
PIXEL_LIMIT_ENV = "SIGHTLINE_MAX_PIXELS"
Image.MAX_IMAGE_PIXELS = None  # the limit below is ours (with its own message), not PIL's warning
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
_EXIF_ORIENTATION = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_CHUNKS = 1 << 20  # a hostile file of tiny chunks is walked for a second at most
_PNG_MAX_EXIF = 8 << 20  # an eXIf chunk claiming more is not read (a read allocates what it asks for)
_limit: list[int | None] = [None]


class ImageReadError(SightlineError):
    """A file that is missing or cannot be decoded; the message names it."""


class ImageTooLarge(ImageReadError):
    """An image over the pixel limit (see set_pixel_limit)."""


class WriteError(SightlineError, OSError):
    """A file could not be written (disk full, no permission); the message names it."""

    def __str__(self) -> str:  # the message, not OSError's "[Errno 28] None: 'file'"
        return str(self.args[0]) if self.args else ""


def pixel_limit() -> int:
    if _limit[0] is not None:
        return _limit[0]
    raw = os.environ.get(PIXEL_LIMIT_ENV, "").strip()
    try:
        return max(1, int(float(raw))) if raw else DEFAULT_MAX_PIXELS
    except ValueError:
        return DEFAULT_MAX_PIXELS


def set_pixel_limit(pixels: int | None) -> None:
    """Largest width*height decoded or accepted from a label file; None: back to the default/env."""
    _limit[0] = None if pixels is None else max(1, int(pixels))


def check_pixels(width: int, height: int, what: str) -> None:
    """ImageTooLarge naming `what` when width*height is over the pixel limit."""
    limit = pixel_limit()
    if width * height > limit:
        raise ImageTooLarge(f"{what}: {width}x{height} is {megapixels(width * height)} megapixels, over the limit "
                            f"of {megapixels(limit)} (a decompression bomb, or a very large image: raise the "
                            f"limit with --max-pixels or {PIXEL_LIMIT_ENV})")


def megapixels(pixels: int) -> str:
    """Whole megapixels, or two digits under one (a limit set low must not read as 0)."""
    return f"{pixels / 1e6:.0f}" if pixels >= 1e6 else f"{pixels / 1e6:.2g}"


def _displayed_size(im: Image.Image) -> tuple[int, int]:
    """The size OpenCV decodes the image at (read_rgb, and so the canvas, predictions and training),
    from the header alone: EXIF orientation only from the EXIF block itself (PIL also reads one from
    XMP or from a PNG's text chunks, which OpenCV ignores), a PNG's eXIf chunk also after the pixel
    data (PIL finds one there only by decoding the whole image), and TIFF as PIL gives it (its
    TIFF reader turns the size already)."""
    w, h = int(im.width), int(im.height)
    if im.format == "TIFF":
        return w, h
    try:
        raw = im.info.get("exif")
        if raw is None and im.format == "PNG":
            raw = _png_exif(im.fp)
        orientation = None
        if raw:
            exif = Image.Exif()
            exif.load(raw)
            orientation = exif.get(_EXIF_ORIENTATION)
    except Exception:  # noqa: BLE001 - a damaged EXIF block means no orientation
        orientation = None
    return (h, w) if orientation in _ROTATED else (w, h)


def _png_exif(fp) -> bytes | None:
    """A PNG's eXIf chunk wherever it lies, by walking the chunk headers from the start of the file
    (no pixel is decoded); None without one, or where the file ends early."""
    fp.seek(0)
    if fp.read(8) != _PNG_SIGNATURE:
        return None
    for _ in range(_PNG_MAX_CHUNKS):
        head = fp.read(8)
        if len(head) < 8 or head[4:] == b"IEND":
            return None
        length = int.from_bytes(head[:4], "big")
        if head[4:] == b"eXIf":
            if length > _PNG_MAX_EXIF:
                return None
            data = fp.read(length)
            return data if len(data) == length else None
        fp.seek(length + 4, os.SEEK_CUR)  # the chunk's data and its CRC
    return None


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as displayed, from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            size = _displayed_size(im)
    except FileNotFoundError as e:
        raise ImageReadError(f"{path}: file not found") from e
    except Exception as e:  # PIL raises many types for bad files
        raise ImageReadError(f"{path}: not a readable image ({e.__class__.__name__}: {e})") from e
    check_pixels(*size, str(path))
    return size


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """HxWx3 uint8 RGB, upright (EXIF orientation applied). Raises ImageReadError with the file
    name on any failure, ImageTooLarge over the pixel limit."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise ImageReadError(f"{p}: file not found")
    try:
        with Image.open(p) as im:  # header only: refuse bombs before any pixel is decoded
            check_pixels(int(im.width), int(im.height), str(p))
    except ImageReadError:
        raise
    except Exception:  # noqa: BLE001, S110 - formats PIL lacks: OpenCV may still read them
        pass
    data = np.fromfile(p, dtype=np.uint8)  # works with unicode paths, unlike cv2.imread
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # applies EXIF orientation
    if img is None:
        try:  # formats OpenCV lacks
            from PIL import ImageOps
            with Image.open(p) as im:
                return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        except Exception as e:
            raise ImageReadError(f"{p}: the image could not be decoded ({e})") from e
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def decode_bytes_size(data: bytes, what: str) -> tuple[int, int]:
    """(width, height) as displayed of an encoded image held in memory (labelme's imageData)."""
    import io
    try:
        with Image.open(io.BytesIO(data)) as im:
            size = _displayed_size(im)
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds
        raise ImageReadError(f"{what}: not a decodable image ({e.__class__.__name__}: {e})") from None
    check_pixels(*size, what)
    return size


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


def write_failure(path, e: OSError) -> WriteError:
    """One readable message for a failed write, naming the file (and saying "disk full" for ENOSPC)."""
    why = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
    err = WriteError(f"{path}: cannot be written: {why}")
    err.errno, err.filename = e.errno, str(path)
    return err


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Temporary file, fsync, rename: the file appears whole or not at all, and a failed write
    (a full disk) leaves no temporary file behind and raises WriteError naming `path`."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        if isinstance(e, WriteError):
            raise
        raise write_failure(p, e) from e
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
