"""Helpers for the format tests: small image files and store snapshots."""
from pathlib import Path

import numpy as np
from PIL import Image

COCO_DIR = Path(__file__).resolve().parents[2] / "data" / "coco_val2014_100"
COCO_GT = COCO_DIR / "instances_val2014_100.json"
COCO_BBOX_RESULTS = COCO_DIR / "instances_val2014_fakebbox100_results.json"
COCO_SEGM_RESULTS = COCO_DIR / "instances_val2014_fakesegm100_results.json"


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A small real image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def snapshot(store) -> tuple:
    """Everything an import may change, for 'nothing changed' checks."""
    return ([(c.id, c.name) for c in store.categories()],
            [(r.id, r.file_name, r.width, r.height, r.split) for r in store.images()],
            [(a.id, a.image_id, a.category_id, a.kind, a.bbox, a.status) for a in store.annotations()],
            [(r.id, r.model) for r in store.runs()],
            store.get_meta("info"), store.get_meta("licenses"))


