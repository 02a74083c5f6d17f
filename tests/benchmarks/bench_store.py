"""Store edit cost: a project with 100k annotations vs an empty one, and vs labelme-style saving.

    .venv/bin/python tests/benchmarks/bench_store.py

Prints the median time of one edit (an update of one annotation, one transaction) in each case, the
ratio big/empty (goal < 2, each edit < 5 ms), and the ratio against rewriting one image's JSON file
the way labelme saves (the whole file for the image, 100 shapes, on every save).
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from annotations.model import Annotation, Category, ImageRecord  # noqa: E402
from annotations.store import Store, copy_annotation  # noqa: E402

N_IMAGES, PER_IMAGE, EDITS = 1000, 100, 300


def make(path: Path, n_images: int, per_image: int) -> Store:
    s = Store.open(path)
    cat = s.add_category(Category(None, "thing"))
    ids = s.add_images(ImageRecord(None, f"img_{i:05d}.jpg", 1920, 1080) for i in range(n_images))
    poly = [float(v) for k in range(25) for v in (100 + k * 3, 200 + (k % 5) * 7)]
    s.add_annotations(Annotation(None, i, cat, kind="polygon", polygons=[poly]) for i in ids for _ in range(per_image))
    return s


def time_edits(s: Store) -> list[float]:
    anns = s.annotations(image_id=s.image_ids()[len(s.image_ids()) // 2])
    times = []
    for k in range(EDITS):
        a = anns[k % len(anns)]
        moved = copy_annotation(a, polygons=[[v + (k % 3) for v in a.polygons[0]]], bbox=(0, 0, 0, 0), area=None)
        t = time.perf_counter()
        s.update_annotation(moved)
        times.append(time.perf_counter() - t)
    return times


def time_labelme_saves(folder: Path) -> list[float]:
    poly = [[100 + k * 3, 200 + (k % 5) * 7] for k in range(25)]
    shapes = [{"label": "thing", "points": poly, "group_id": None, "shape_type": "polygon", "flags": {},
               "description": ""} for _ in range(PER_IMAGE)]
    doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": "img.jpg", "imageData": None,
           "imageHeight": 1080, "imageWidth": 1920}
    times = []
    for k in range(EDITS):
        shapes[k % PER_IMAGE]["points"][0][0] += 1
        t = time.perf_counter()
        with open(folder / f"img_{k % 10:05d}.json", "w") as f:
            json.dump(doc, f, ensure_ascii=False, indent=2)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t0 = time.perf_counter()
        big = make(d / "big", N_IMAGES, PER_IMAGE)
        build = time.perf_counter() - t0
        empty = make(d / "empty", 1, 1)
        small_times = time_edits(empty)
        big_times = time_edits(big)
        json_times = time_labelme_saves(d)
        med = lambda xs: statistics.median(xs) * 1000
        p95 = lambda xs: sorted(xs)[int(0.95 * len(xs))] * 1000
        print(f"built {N_IMAGES * PER_IMAGE} annotations in {build:.2f} s (one transaction)")
        print(f"edit, empty project:     median {med(small_times):.3f} ms  p95 {p95(small_times):.3f} ms")
        print(f"edit, 100k annotations:  median {med(big_times):.3f} ms  p95 {p95(big_times):.3f} ms")
        print(f"labelme-style JSON save: median {med(json_times):.3f} ms  p95 {p95(json_times):.3f} ms")
        print(f"ratio big/empty: {med(big_times) / med(small_times):.2f}  (goal < 2; each edit < 5 ms: "
              f"{'yes' if p95(big_times) < 5 else 'no'})")
        print(f"ratio store edit / labelme JSON save: {med(big_times) / med(json_times):.2f}")
        big.close()
        empty.close()


if __name__ == "__main__":
    main()
