"""View adjustment benchmark (not collected by pytest). Run:

    .venv/bin/python tests/benchmarks/bench_view_adjust.py [--size 8000x6000]

An image of the given size is decoded into its display pyramid once; then the image layer paints
the view (1600x1000) at fit and at 100%. Prints, each against a reference measured in the same run:
  first frame after a slider move (the lookup table applied to the tiles drawn) vs a frame without
    adjustment, and vs decoding the image again (what the table avoids)
  later frames with the adjustment (the adjusted tiles are kept) vs frames without it
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QRectF  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsScene  # noqa: E402

from annotations.imageio import write_rgb  # noqa: E402
from gui.canvas.image_cache import decode_for_display  # noqa: E402
from gui.canvas.image_layer import ImageLayer  # noqa: E402
from gui.view_adjust import Adjustments  # noqa: E402

APP = QApplication.instance() or QApplication([])
VIEW = (1600, 1000)


def frame(scene: QGraphicsScene, source: QRectF) -> float:
    target = QImage(*VIEW, QImage.Format_RGB32)
    t = time.perf_counter()
    p = QPainter(target)
    scene.render(p, QRectF(0, 0, *VIEW), source)
    p.end()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="8000x6000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jpg"
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 255 // w), (yy * 255 // h), rng.integers(0, 256, (h, w))], -1).astype(np.uint8)
        write_rgb(path, img)
        del img, yy, xx
        t = time.perf_counter()
        decoded = decode_for_display(path, 1)
        decode_s = time.perf_counter() - t
    layer = ImageLayer()
    layer.setCacheMode(ImageLayer.NoCache)  # measure the painting itself, not the item cache
    scene = QGraphicsScene()
    scene.addItem(layer)
    layer.set_size(w, h)
    layer.set_image(decoded)
    views = {"fit": QRectF(0, 0, w, h), "100%": QRectF(w / 2, h / 2, VIEW[0], VIEW[1])}
    print(f"image {w}x{h}: decode into the pyramid {decode_s * 1000:.0f} ms")
    for name, source in views.items():
        plain = statistics.median(frame(scene, source) for _ in range(args.repeat))
        firsts, later = [], []
        for i in range(args.repeat):
            layer.set_lut(Adjustments(brightness=10 + i, gamma=120).lut())  # a new table: tiles adjusted again
            firsts.append(frame(scene, source))
            later.append(frame(scene, source))
        first, kept = statistics.median(firsts), statistics.median(later)
        layer.set_lut(None)
        print(f"{name:>5}: plain frame {plain * 1000:.1f} ms; first frame after a slider move {first * 1000:.1f} ms "
              f"({first / plain:.1f}x plain, {first / decode_s:.3f}x a re-decode); "
              f"later frames {kept * 1000:.1f} ms ({kept / plain:.2f}x plain)")


if __name__ == "__main__":
    main()
