"""The image layer's view adjustment: drawn through its lookup table block by block, exactly as if
the table were applied to the unadjusted frame, on an image spanning several blocks and two levels."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene

from annotations.imageio import write_rgb
from gui.canvas.image_cache import decode_for_display
from gui.canvas.image_layer import BLOCK, ImageLayer, image_layer_of
from gui.view_adjust import Adjustments


def _render(scene, source: QRectF, size) -> np.ndarray:
    target = QImage(size[0], size[1], QImage.Format_RGB32)
    target.fill(0)
    p = QPainter(target)
    scene.render(p, QRectF(0, 0, *size), source)
    p.end()
    arr = np.frombuffer(target.constBits(), np.uint8, target.bytesPerLine() * size[1])
    return arr.reshape(size[1], target.bytesPerLine())[:, :size[0] * 4].reshape(size[1], size[0], 4).copy()


@pytest.fixture
def layer_scene(qapp, tmp_path):
    rng = np.random.default_rng(3)
    w, h = 2 * BLOCK + 300, BLOCK + 200  # over DISPLAY_MIN: a half-size level too
    img = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    path = tmp_path / "big.png"
    write_rgb(path, img)
    layer = ImageLayer()
    layer.setCacheMode(ImageLayer.NoCache)
    scene = QGraphicsScene()
    scene.addItem(layer)
    layer.set_size(w, h)
    layer.set_image(decode_for_display(path, 1))
    return scene, layer, (w, h)


@pytest.mark.parametrize("adj", [Adjustments(brightness=40), Adjustments(brightness=-60, contrast=30, gamma=70)])
def test_adjusted_frame_is_the_table_applied_to_the_plain_frame(layer_scene, adj):
    scene, layer, (w, h) = layer_scene
    assert image_layer_of(scene) is layer
    lut = adj.lut()
    source = QRectF(BLOCK - 150, BLOCK // 2, 900, 400)  # 1:1, across block borders both ways
    plain = _render(scene, source, (900, 400))
    layer.set_lut(lut)
    adjusted = _render(scene, source, (900, 400))
    np.testing.assert_array_equal(adjusted[..., :3], lut[plain[..., :3]])
    assert (adjusted[..., 3] == 255).all()
    # Only the blocks in view were adjusted.
    assert 0 < len(layer._adjusted) <= 6
    layer.set_lut(None)
    np.testing.assert_array_equal(_render(scene, source, (900, 400)), plain)


def test_zoomed_out_frame_is_adjusted_too(layer_scene):
    scene, layer, (w, h) = layer_scene
    plain = _render(scene, QRectF(0, 0, w, h), (w // 4, h // 4))
    lut = Adjustments(brightness=50).lut()
    layer.set_lut(lut)
    adjusted = _render(scene, QRectF(0, 0, w, h), (w // 4, h // 4))
    # Smoothed scaling mixes pixels after the table, so compare means: the table raised every value.
    assert adjusted[..., :3].mean() > plain[..., :3].mean() + 40
    assert abs(adjusted[..., :3].mean() - lut[plain[..., :3]].mean()) < 8
