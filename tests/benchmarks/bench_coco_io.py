"""COCO import/export speed and memory on a synthetic file, against pycocotools' own COCO() load.

    .venv/bin/python tests/benchmarks/bench_coco_io.py [--images 5000] [--annotations 50000]

Writes a synthetic COCO file (polygons, boxes, some crowd RLE masks), then measures, each in the
same run: pycocotools COCO(file) (the reference), import_labels into a fresh project, and
export_labels back to COCO; with --with-images also an import from a folder where every image
exists (each one's header is read and its size checked against the file's, which the plain import,
its images missing, skips). Times (wall-clock and CPU) are the best of --repeat plain runs, the steps
taken in turn each round; peak memory from a second run under
tracemalloc (Python heap, numpy included; SQLite's own cache is not counted), plus the process's
peak RSS at the end. Prints the figures and the ratios against the reference.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from annotations.formats import export_labels, import_labels  # noqa: E402
from annotations.store import Store  # noqa: E402


def synthetic_coco(n_images: int, n_annotations: int, seed: int = 0) -> dict:
    from pycocotools import mask as mask_utils
    rng = np.random.default_rng(seed)
    w, h = 640, 480
    images = [{"id": i + 1, "file_name": f"img_{i + 1:06d}.jpg", "width": w, "height": h, "license": 1}
              for i in range(n_images)]
    cats = [{"id": i + 1, "name": f"class_{i + 1}", "supercategory": "thing"} for i in range(20)]
    anns = []
    image_of = rng.integers(1, n_images + 1, n_annotations)
    for k in range(n_annotations):
        cx, cy = rng.uniform(60, w - 60), rng.uniform(60, h - 60)
        r = rng.uniform(5, 55)
        kind = k % 20
        ann = {"id": k + 1, "image_id": int(image_of[k]), "category_id": int(k % 20) + 1, "iscrowd": 0}
        if kind == 0:  # a crowd region as uncompressed RLE, as COCO has them
            m = np.zeros((h, w), np.uint8)
            m[int(cy - r):int(cy + r), int(cx - r):int(cx + r)] = 1
            rle = mask_utils.encode(np.asfortranarray(m))
            counts = [int(c) for c in _runs(m)]
            ann.update(iscrowd=1, segmentation={"size": [h, w], "counts": counts},
                       area=float(mask_utils.area(rle)), bbox=[float(v) for v in mask_utils.toBbox(rle)])
        elif kind == 1:  # box only
            ann.update(bbox=[round(cx - r, 2), round(cy - r, 2), round(2 * r, 2), round(2 * r, 2)],
                       area=round(4 * r * r, 2))
        else:
            n = int(rng.integers(6, 24))
            t = np.sort(rng.uniform(0, 2 * math.pi, n))
            rad = r * rng.uniform(0.6, 1.0, n)
            xs, ys = np.round(cx + rad * np.cos(t), 2), np.round(cy + rad * np.sin(t), 2)
            poly = np.stack([xs, ys], 1).ravel().tolist()
            area = 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))
            ann.update(segmentation=[poly], area=round(area, 2),
                       bbox=[float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min())])
        anns.append(ann)
    return {"info": {"description": "synthetic"}, "licenses": [{"id": 1, "name": "none"}],
            "images": images, "categories": cats, "annotations": anns}


def _runs(m: np.ndarray) -> list[int]:
    flat = m.ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(edges).tolist()
    return ([0] + runs) if flat[0] else runs


def measure(fn, memory: bool):
    if memory:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--annotations", type=int, default=50000)
    ap.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    ap.add_argument("--with-images", action="store_true",
                    help="also import with every image present (one small JPEG, copied under each name)")
    args = ap.parse_args()
    from pycocotools.coco import COCO

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "synthetic.json"
        src.write_text(json.dumps(synthetic_coco(args.images, args.annotations)))
        print(f"synthetic COCO: {args.images} images, {args.annotations} annotations, "
              f"{src.stat().st_size / 1e6:.1f} MB")
        counter = iter(range(100))

        def reference():
            with contextlib.redirect_stdout(io.StringIO()):
                COCO(str(src))

        def do_import():
            with Store.open(tmp / f"p{next(counter)}") as s:
                r = import_labels(s, "coco", src)
                assert r.annotations == args.annotations, r

        image_dir = tmp / "images"
        if args.with_images:
            import shutil
            from PIL import Image
            image_dir.mkdir()
            first = image_dir / "img_000001.jpg"
            Image.new("RGB", (640, 480), (90, 120, 150)).save(first, quality=90)
            for i in range(2, args.images + 1):
                shutil.copyfile(first, image_dir / f"img_{i:06d}.jpg")

        def do_import_with_images():
            with Store.open(tmp / f"p{next(counter)}") as s:
                r = import_labels(s, "coco", src, image_dir=image_dir)
                assert r.annotations == args.annotations and not r.warnings, r

        export_project = tmp / "export_project"
        with Store.open(export_project) as s:
            import_labels(s, "coco", src)

        def do_export():
            with Store.open(export_project) as s:
                r = export_labels(s, "coco", tmp / "out.json")
                assert r.annotations == args.annotations, r

        rows = []
        steps = (("pycocotools COCO() load", reference), ("import_labels coco", do_import),
                 ("export_labels coco", do_export))
        if args.with_images:
            steps += (("import_labels, images there", do_import_with_images),)
        # Steps in turn, round after round (a load that comes and goes on a shared machine then
        # weighs on every step alike); the best wall-clock and CPU time of each.
        times: dict[str, list] = {name: [] for name, _ in steps}
        for _ in range(args.repeat):
            for name, fn in steps:
                times[name].append(measure(fn, memory=False))
        for name, fn in steps:
            wall, cpu = min(t[0] for t in times[name]), min(t[1] for t in times[name])
            rows.append((name, wall, cpu, measure(fn, memory=True)))
        ref_s, ref_c, ref_m = rows[0][1], rows[0][2], rows[0][3]
        print(f"{'step':28s} {'seconds':>8s} {'x ref':>6s} {'CPU s':>7s} {'x ref':>6s} {'peak MB':>8s} {'x ref':>6s}")
        for name, seconds, cpu, peak in rows:
            print(f"{name:28s} {seconds:8.2f} {seconds / ref_s:6.1f} {cpu:7.2f} {cpu / ref_c:6.1f} "
                  f"{peak / 1e6:8.1f} {peak / ref_m:6.1f}")
        print(f"annotations per second: import {args.annotations / rows[1][1]:,.0f}, "
              f"export {args.annotations / rows[2][1]:,.0f}")
        print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
