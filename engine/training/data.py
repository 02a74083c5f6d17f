"""The labelled images of a project as a torch Dataset, with augmentations that move the labels too.

Labels are read from the store once, up front (they are small), so DataLoader workers and DDP
processes never share a database connection; workers only decode image files. Boxes and masks are
tv_tensors, so every torchvision.transforms.v2 step (flip, zoom out, crop, colour) keeps them in
register with the pixels. Each sample arrives with its own augmentation seed, which makes a run
reproducible whatever the number of workers, and lets a resumed run see the very same samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from annotations import geometry
from annotations.imageio import PIXEL_LIMIT_ENV, megapixels, pixel_limit, read_rgb
from annotations.model import LABEL
from annotations.store import Store
from annotations.errors import SightlineError

IGNORE = 255  # semantic targets: pixels that count for nothing (crowd regions, padding)
MEAN_FILL = (124, 116, 104)  # ImageNet mean in 0..255, for zoom-out padding


class TrainingDataError(SightlineError):
    """The data cannot train a model (message says what to do about it)."""


@dataclass
class SampleRecord:
    image_id: int
    path: str
    width: int
    height: int
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # xyxy pixels
    labels: list[int] = field(default_factory=list)  # model labels
    rles: list[dict] = field(default_factory=list)  # one per box; only for mask tasks
    crowd: list[int] = field(default_factory=list)

    @property
    def aspect(self) -> float:
        return self.width / max(self.height, 1)


def category_labels(categories, task: str) -> dict[int, int]:
    """Project category id -> model label. Label 0 is background for every task."""
    return {c.id: i + 1 for i, c in enumerate(sorted(categories, key=lambda c: c.id))}


def read_samples(store: Store, image_ids: list[int], task: str, label_of: dict[int, int],
                 negatives: bool = False) -> list[SampleRecord]:
    """Records for the given images (labels only, never predictions); unlabelled images only
    when `negatives` is asked for."""
    by_image: dict[int, list] = {}
    for a in store.annotations(status=LABEL, image_ids=image_ids):
        if a.category_id in label_of:
            by_image.setdefault(a.image_id, []).append(a)
    out = []
    want_masks = task in ("instance", "semantic")
    for rec in store.images(ids=image_ids):
        anns = by_image.get(rec.id, [])
        if not anns and not negatives:
            continue
        s = SampleRecord(rec.id, str(store.image_path(rec)), rec.width, rec.height)
        for a in anns:
            x, y, w, h = geometry.annotation_bbox(a)
            if w <= 0 or h <= 0:
                continue
            s.boxes.append((x, y, x + w, y + h))
            s.labels.append(label_of[a.category_id])
            s.crowd.append(int(a.iscrowd))
            if want_masks:
                s.rles.append(geometry.annotation_rle(a, rec.height, rec.width))
        out.append(s)
    return out


def over_pixel_limit(samples: list[SampleRecord]) -> tuple[list[SampleRecord], list[SampleRecord]]:
    """(samples within the pixel limit, samples over it), by the size the store records: a run
    leaves the images over the limit out before it starts instead of failing on the first."""
    limit = pixel_limit()
    kept, over = [], []
    for s in samples:
        (kept if s.width * s.height <= limit else over).append(s)
    return kept, over


def left_out_message(left_out: list[SampleRecord], root, shown: int = 5) -> str:
    """One warning naming the first `shown` images left out (project-relative), then a count."""
    names = []
    for s in left_out[:shown]:
        p = Path(s.path)
        names.append(str(p.relative_to(root)) if p.is_relative_to(root) else str(p))
    more = f" and {len(left_out) - shown} more" if len(left_out) > shown else ""
    return (f"{len(left_out)} image(s) over the pixel limit of {megapixels(pixel_limit())} megapixels were left "
            f"out: {', '.join(names)}{more} (raise the limit with --max-pixels or {PIXEL_LIMIT_ENV})")


class RandomScaleCrop(v2.Transform):
    """Crop a random window of `min_scale`..1 of each side (same aspect), with probability p.

    After the model's own resize this zooms in, the counterpart of RandomZoomOut."""

    def __init__(self, min_scale: float = 0.5, p: float = 0.5):
        super().__init__()
        self.min_scale, self.p = min_scale, p

    def make_params(self, flat_inputs):
        image = next(i for i in flat_inputs if isinstance(i, tv_tensors.Image))
        h, w = image.shape[-2:]
        if torch.rand(()) >= self.p:
            return {"skip": True}
        s = float(torch.empty(()).uniform_(self.min_scale, 1.0))
        ch, cw = max(1, round(h * s)), max(1, round(w * s))
        top = int(torch.randint(0, h - ch + 1, ()))
        left = int(torch.randint(0, w - cw + 1, ()))
        return {"skip": False, "top": top, "left": left, "height": ch, "width": cw}

    def transform(self, inpt, params):
        if params["skip"]:
            return inpt
        return v2.functional.crop(inpt, params["top"], params["left"], params["height"], params["width"])


def build_transforms(train: bool, image_size: int, augment: bool = True, task: str = "detection") -> v2.Compose:
    """Shrink so the longest side is at most image_size (cheaper augmentation, and the model's own
    resize then has nothing left to do), augment when training, then float images in 0..1."""
    steps: list = [v2.Resize(size=None, max_size=image_size, antialias=True)]
    if train and augment:
        steps += [
            v2.RandomPhotometricDistort(p=0.5),
            v2.RandomZoomOut(fill={tv_tensors.Image: MEAN_FILL, tv_tensors.Mask: 0}, side_range=(1.0, 1.6), p=0.3),
            RandomScaleCrop(min_scale=0.5, p=0.5),
            v2.RandomHorizontalFlip(p=0.5),
        ]
    if task != "semantic":  # boxes pushed out of the picture go, with their labels and masks
        steps.append(v2.SanitizeBoundingBoxes(min_size=2.0))
    steps += [v2.ToDtype({tv_tensors.Image: torch.float32, "others": None}, scale=True)]
    return v2.Compose(steps)


class LabelledImages(Dataset):
    """Indexed by (position, augmentation seed) pairs, as AspectGroupedBatches yields them."""

    def __init__(self, samples: list[SampleRecord], task: str, transform: v2.Compose | None = None):
        self.samples = samples
        self.task = task
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int):
        s = self.samples[index]
        rgb = read_rgb(s.path)
        h, w = rgb.shape[:2]
        image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1))
        if self.task == "semantic":
            return image, {"semantic": tv_tensors.Mask(torch.from_numpy(semantic_target(s, h, w))),
                           "image_id": s.image_id}
        keep = [i for i, c in enumerate(s.crowd) if not c]  # crowd regions are not objects to learn
        boxes = torch.tensor([s.boxes[i] for i in keep], dtype=torch.float32).reshape(-1, 4)
        target = {
            "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(h, w)),
            "labels": torch.tensor([s.labels[i] for i in keep], dtype=torch.int64),
            "image_id": s.image_id,
        }
        if self.task == "instance":
            masks = (np.stack([geometry.decode_rle(s.rles[i]) for i in keep]) if keep
                     else np.zeros((0, h, w), np.uint8))
            target["masks"] = tv_tensors.Mask(torch.from_numpy(masks))
        return image, target

    def __getitem__(self, key):
        index, seed = key if isinstance(key, tuple) else (key, key)
        image, target = self.load(index)
        if self.transform is not None:
            # The augmentation draws from its own seeded stream, not the process's.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                image, target = self.transform(image, target)
        return image, target


def semantic_target(s: SampleRecord, h: int, w: int) -> np.ndarray:
    """HxW class index (0 background); later labels paint over earlier ones; crowd is IGNORE."""
    out = np.zeros((h, w), np.uint8)
    for rle, label, crowd in zip(s.rles, s.labels, s.crowd):
        m = geometry.decode_rle(rle).astype(bool)
        out[m] = IGNORE if crowd else label
    return out


def collate_detection(batch):
    return tuple(zip(*batch))


def collate_semantic(batch):
    """Pad to the largest image of the batch (image 0, target IGNORE) and stack."""
    images, targets = zip(*batch)
    h = max(i.shape[-2] for i in images)
    w = max(i.shape[-1] for i in images)
    x = torch.zeros(len(images), 3, h, w)
    y = torch.full((len(images), h, w), IGNORE, dtype=torch.int64)
    for k, (img, t) in enumerate(zip(images, targets)):
        x[k, :, :img.shape[-2], :img.shape[-1]] = img
        sem = t["semantic"]
        y[k, :sem.shape[-2], :sem.shape[-1]] = sem.to(torch.int64)
    return x, y
