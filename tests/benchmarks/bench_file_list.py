"""File list on a 20k-image project: reload and filter times, against the bare store query.

    .venv/bin/python tests/benchmarks/bench_file_list.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from annotations.model import Annotation, Category, ImageRecord  # noqa: E402
from annotations.store import Store  # noqa: E402
from gui.panels.file_list import ImageListModel  # noqa: E402

N_IMAGES = 20_000


def best(fn, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    app = QApplication.instance() or QApplication([])  # noqa: F841
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p") as store:
        cat = store.add_category(Category(None, "thing"))
        ids = store.add_images(ImageRecord(None, f"img_{i:06d}.jpg", 640, 480, split=("train", "val")[i % 5 == 0])
                               for i in range(N_IMAGES))
        store.add_annotations(Annotation(None, iid, cat, bbox=(1, 1, 10, 10)) for iid in ids[::2] for _ in range(3))
        model = ImageListModel()
        model.set_store(store)
        bare = best(lambda: (store.images(), store.annotation_counts()))
        reload_t = best(model.reload)
        filt = best(lambda: (model.set_filter(state="unlabelled"), model.set_filter(state="all")), repeat=5) / 2
        split = best(lambda: (model.set_filter(split="val"), model.set_filter(split="*")), repeat=5) / 2
        model.set_pinned(ids[100])
        recount = best(lambda: model.recount([ids[100]]))
        print(f"{N_IMAGES} images, {len(ids) // 2 * 3} annotations")
        print(f"bare store query (images + counts): {bare * 1000:8.1f} ms")
        print(f"file list reload:                   {reload_t * 1000:8.1f} ms  ratio {reload_t / bare:.2f}")
        print(f"state filter change:                {filt * 1000:8.1f} ms  ratio {filt / bare:.2f}")
        print(f"split filter change:                {split * 1000:8.1f} ms  ratio {split / bare:.2f}")
        print(f"recount one image after an edit:    {recount * 1000:8.2f} ms  ratio {recount / bare:.4f}")


if __name__ == "__main__":
    main()
