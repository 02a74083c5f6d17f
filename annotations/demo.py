"""A synthetic, deterministic demo project: coloured shapes on textured backgrounds.

Labels are exact: each shape is painted through the very mask pycocotools rasterises from its
polygon, so boxes, polygons and masks agree with the pixels. Newcomers open it first; engine tests
train and evaluate on it.
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from . import geometry
from .imageio import write_rgb
from .model import POLYGON, Annotation, Category, ImageRecord
from .errors import Cancelled
from .store import DB_NAME, Store

CLASSES = ("circle", "square", "triangle", "star")
COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231")


def _shape_polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[float]:
    if kind == "circle":
        n, radii = 40, [r] * 40
    elif kind == "square":
        n, radii = 4, [r] * 4
    elif kind == "triangle":
        n, radii = 3, [r] * 3
    else:  # star
        n, radii = 10, [r if i % 2 == 0 else r * 0.45 for i in range(10)]
    pts = []
    for i in range(n):
        t = angle + 2 * math.pi * i / n
        pts += [cx + radii[i] * math.cos(t), cy + radii[i] * math.sin(t)]
    return pts


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(40, 215, 3)
    style = rng.integers(0, 4)
    if style == 0:  # gradient
        g = (xx * rng.uniform(-0.4, 0.4) + yy * rng.uniform(-0.4, 0.4))[..., None]
        img = base + g
    elif style == 1:  # stripes
        f, a = rng.uniform(0.03, 0.2), rng.uniform(0, math.pi)
        s = np.sin((xx * math.cos(a) + yy * math.sin(a)) * f)[..., None]
        img = base + s * rng.uniform(15, 45, 3)
    elif style == 2:  # checker
        k = int(rng.integers(8, 40))
        c = (((xx // k) + (yy // k)) % 2)[..., None]
        img = base + (c - 0.5) * rng.uniform(20, 60, 3)
    else:  # blotches: upsampled noise
        small = rng.uniform(-40, 40, (h // 16 + 2, w // 16 + 2, 3)).astype(np.float32)
        import cv2
        img = base + cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = img + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _place(rng, w, h, placed, rmin, rmax):
    for _ in range(50):
        r = rng.uniform(rmin, rmax)
        cx, cy = rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)
        if all(math.hypot(cx - x, cy - y) > r + q + 3 for x, y, q in placed):
            return cx, cy, r
    return None


def _remove_partial(path: Path, created: bool) -> None:
    if created:
        shutil.rmtree(path, ignore_errors=True)
        return
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
        (path / name).unlink(missing_ok=True)
    shutil.rmtree(path / "images", ignore_errors=True)


def generate_demo(path: str | Path, n_images: int = 300, seed: int = 0, size: tuple[int, int] = (320, 240),
                  val_fraction: float = 0.2, progress: Callable[[int, int], bool | None] | None = None) -> Store:
    """Write the demo project into `path` (must be empty or absent) and return the open store."""
    path = Path(path)
    if Store.exists(path):
        raise FileExistsError(f"{path} already holds a project")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} is not an empty folder: the demo is written into a new or empty one")
    created = not path.exists()
    store = Store.open(path)
    try:
        rng = np.random.default_rng(seed)
        w, h = size
        store.set_meta("info", {"description": "Synthetic shapes demo", "version": "1", "year": 2026})
        cat_ids = store.add_categories(Category(None, n, "shape", c) for n, c in zip(CLASSES, COLORS))
        (path / "images").mkdir(exist_ok=True)
        n_val = int(round(n_images * val_fraction))
        with store.transaction():
            for i in range(n_images):
                if progress is not None and progress(i, n_images) is False:
                    raise Cancelled("demo generation cancelled")
                img = _background(rng, h, w)
                anns, placed = [], []
                for _ in range(int(rng.integers(1, 5))):
                    spot = _place(rng, w, h, placed, 14, 52)
                    if spot is None:
                        continue
                    placed.append(spot)
                    k = int(rng.integers(len(CLASSES)))
                    poly = [round(v, 2) for v in _shape_polygon(CLASSES[k], *spot, rng.uniform(0, 2 * math.pi))]
                    mask = geometry.decode_rle(geometry.polygon_to_rle([poly], h, w)).astype(bool)
                    colour = rng.uniform(0, 255, 3)
                    while np.abs(colour - img[mask].mean(0)).sum() < 150:
                        colour = rng.uniform(0, 255, 3)
                    shade = rng.normal(0, 8, (int(mask.sum()), 3))
                    img[mask] = np.clip(colour + shade, 0, 255).astype(np.uint8)
                    rle = geometry.encode_mask(mask)
                    anns.append(Annotation(None, 0, cat_ids[k], kind=POLYGON, polygons=[poly],
                                           bbox=geometry.rle_bbox(rle), area=geometry.rle_area(rle)))
                name = f"images/shapes_{i:04d}.jpg"
                write_rgb(path / name, img, quality=93)
                split = "val" if i >= n_images - n_val else "train"
                image_id = store.add_image(ImageRecord(None, name, w, h, split))
                for a in anns:
                    a.image_id = image_id
                store.add_annotations(anns)
    except BaseException:  # cancelled, disk full, ...: leave no half-made project that would reopen
        store.close()
        _remove_partial(path, created)
        raise
    if progress is not None:
        progress(n_images, n_images)
    return store
