"""Image paths read from label files: kept inside the folders the person chose, and real images.

A COCO file_name, a VOC <filename>/<path>, a labelme imagePath or a line of a YOLO list is data
from someone else's file. `../../etc/passwd` or `/etc/passwd` must not become an "image" of the
project (an export would then hard-link it, and writing to the export would write the system file).
So a path is accepted only when it lies inside the project folder or a folder the person named
(the --images folder, the data-set folder), and, when the file exists, only when its header
decodes as an image (within the pixel limit)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..imageio import ImageReadError, image_size, write_failure
from .common import FormatError, StagedFolder


def _absolute(p: str | os.PathLike) -> str:
    """Absolute and normalised ('..' folded) without following links."""
    return os.path.normpath(os.path.abspath(os.fspath(p)))


def _inside(path: str, folder: str) -> bool:
    """Both absolute and normalised: `path` is `folder` or lies under it (compared as strings:
    a COCO file of thousands of images checks each one against every allowed folder)."""
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    return _inside(_absolute(path), _absolute(folder))


class ImagePaths:
    """Where one import may take images from: the project folder and the folders named for it."""

    def __init__(self, project: Path, *named: str | os.PathLike | None):
        self.roots = [_absolute(project)] + [_absolute(p) for p in named if p is not None]
        self.missing: list[tuple] = []  # (entry, path) whose image file does not exist (reported, not fatal)

    def resolve(self, base: str | os.PathLike, name: str, where: str) -> Path:
        """`name` (relative to `base`, or absolute) as a path inside the allowed folders, else FormatError."""
        return Path(self.resolve_str(base, name, where))

    def resolve_str(self, base: str | os.PathLike, name: str, where: str) -> str:
        """resolve() as a string (no Path object: a file of thousands of images asks for each)."""
        if not isinstance(name, str) or not name:
            raise FormatError(f"{where}: the image name is missing")
        if "\0" in name:
            raise FormatError(f"{where}: the image name {name!r} holds a NUL byte")
        p = _absolute(os.path.join(os.fspath(base), name.replace("\\", "/")))
        if not any(_inside(p, r) for r in self.roots):
            raise FormatError(f"{where}: the image path {name!r} leads outside the project and the named "
                              f"image folder ({', '.join(map(str, self.roots))}); refused")
        return p

    def size(self, path: str | Path, where: str, required: bool = True, why: str = "",
             exists: bool | None = None) -> tuple[int, int] | None:
        """(width, height) as displayed. A missing file is FormatError when required, else None
        (and noted in `missing`); a file that is not an image is always FormatError. `exists`: what
        the caller found already (None: look)."""
        try:
            if not (os.path.exists(path) if exists is None else exists):
                if required:
                    raise FormatError(f"{where}: {why}its image {path} was not found")
                self.missing.append((where, path))  # worded when reported: most are never shown
                return None
            if not os.path.isfile(path):
                raise FormatError(f"{where}: {path} is not an image file")
            return image_size(path)
        except ImageReadError as e:
            raise FormatError(f"{where}: {why}{e}") from None
        except (OSError, ValueError) as e:  # a name too long for the system, an unreadable folder
            raise FormatError(f"{where}: {path}: {getattr(e, 'strerror', None) or e}") from None

    def report_missing(self, warnings: list[str], limit: int = 20) -> None:
        warnings.extend(f"{where}: image {path} not found" for where, path in self.missing[:limit])
        if len(self.missing) > limit:
            warnings.append(f"... and {len(self.missing) - limit} more images not found")


def export_image(out: StagedFolder, relative: str, src: Path, project: Path) -> bool:
    """The image `src` as the file `relative` of the export `out`, for every format that writes
    images; False (nothing written) when there is no such file or, outside the project (`project`:
    the store's root, resolved when it was opened), its header does not read as an image: a
    project's database is a file from outside too, and an absolute path in it ('/etc/passwd') must
    not be copied into an export the person shares. A hard link only for an image inside the
    project (writing to the export then writes the project's own image, which is the person's), a
    copy of anything else (a hard link to a file outside would let the export write it) and when
    linking fails. A failed write is WriteError naming the exported file."""
    if not src.is_file():
        return False
    inside = is_inside(src.resolve(), project)
    if not inside:
        try:
            image_size(src)
        except ImageReadError:
            return False
    dst = out.path(relative)
    try:
        if inside:
            try:
                os.link(src, dst)
                out.files += 1
                return True
            except OSError:
                pass
        shutil.copy2(src, dst)
    except OSError as e:
        raise write_failure(out.target / relative, e) from e
    out.files += 1
    return True
