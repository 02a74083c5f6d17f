"""Fixtures: a store built in the test and a real CanvasWidget on it (helpers: canvas_helpers.py)."""
from __future__ import annotations

import numpy as np
import pytest

from annotations.imageio import write_rgb
from annotations.model import Category, ImageRecord
from annotations.store import Store

IMAGE_W, IMAGE_H = 160, 120


@pytest.fixture
def project(tmp_path):
    """A store with two categories and three 160x120 images (uniform grey, different shades)."""
    root = tmp_path / "project"
    store = Store.open(root)
    cats = store.add_categories([Category(None, "cat", color="#ff0000"), Category(None, "dog", color="#00ff00")])
    ids = []
    for i, shade in enumerate((80, 100, 120)):
        write_rgb(root / f"img{i}.png", np.full((IMAGE_H, IMAGE_W, 3), shade, np.uint8))
        ids.append(store.add_image(ImageRecord(None, f"img{i}.png", IMAGE_W, IMAGE_H)))
    yield store, ids, cats
    store.close()


@pytest.fixture
def make_canvas(qtbot):
    """make_canvas(store, image_id) -> CanvasWidget shown at 720x560 with the image decoded and shown
    at 400%, centred (image pixel (x, y) is at viewport (40 + 4x, 40 + 4y): no point maps to (0, 0),
    which QTest reads as "the widget's centre")."""
    from gui.canvas import CanvasWidget
    made = []

    def make(store, image_id=None, size=(720, 560)):
        canvas = CanvasWidget()
        qtbot.addWidget(canvas)
        canvas.resize(*size)
        canvas.show()
        qtbot.waitExposed(canvas)
        canvas.set_store(store)
        if image_id is not None:
            canvas.show_image(image_id)
            qtbot.waitUntil(lambda: canvas.image_ready, timeout=5000)
            canvas.set_zoom(4.0)
            canvas.view.centerOn(IMAGE_W / 2, IMAGE_H / 2)
        made.append(canvas)
        return canvas

    yield make
    for c in made:
        c.close()
