"""Fixtures for the Explain feature: one real compact detector (random weights, CPU) loaded on a real
engine bridge for the module, a project with one image, a prediction and a label, and the dock wired
to a real canvas (with its heat-map layer), as the window wires them."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtGui import QImage

from annotations.imageio import write_rgb
from annotations.model import PREDICTION, Annotation, Category, ImageRecord, ModelRun

MODEL = "fcos_compact_fpn"
IMAGE_W, IMAGE_H = 160, 120
PRED_BOX = (16.0, 30.0, 50.0, 40.0)
LABEL_BOX = (95.0, 62.0, 50.0, 42.0)


def scene_image() -> np.ndarray:
    """Flat grey 100 with a bright disc inside the label box: something for the model to look at."""
    img = np.full((IMAGE_H, IMAGE_W, 3), 100, np.uint8)
    yy, xx = np.mgrid[:IMAGE_H, :IMAGE_W]
    img[(xx - 120) ** 2 + (yy - 83) ** 2 < 15 ** 2] = 200
    return img


def wait_for(qapp, cond, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        qapp.processEvents()
        if cond():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(scope="module")
def engine_bridge(qapp):
    """The engine bridge with fcos_compact_fpn (random weights, seed 0) loaded on the CPU."""
    pytest.importorskip("torchvision")
    import torch
    from gui.bridge import EngineBridge
    torch.manual_seed(0)
    bridge = EngineBridge()
    bridge.load_model(MODEL, "random", "cpu", score_threshold=0.0)
    assert wait_for(qapp, lambda: bool(bridge.model_info), 180), "the model did not load"
    yield bridge
    bridge.shutdown()
    assert not bridge.running


def build_project(root, color: str = ""):
    """A project at root with one image, one prediction and one label: (store, image id, prediction
    id, label id); the caller closes the store."""
    from annotations.store import Store
    store = Store.open(root)
    (cat,) = store.add_categories([Category(None, "object", color=color)])
    write_rgb(root / "scene.png", scene_image())
    image_id = store.add_image(ImageRecord(None, "scene.png", IMAGE_W, IMAGE_H))
    run_id = store.add_run(ModelRun(None, MODEL, "random", "predict", {}))
    pred_id = store.add_annotation(Annotation(None, image_id, cat, bbox=PRED_BOX, score=0.9, status=PREDICTION,
                                              source=MODEL, run_id=run_id))
    label_id = store.add_annotation(Annotation(None, image_id, cat, bbox=LABEL_BOX))
    return store, image_id, pred_id, label_id


@pytest.fixture
def project(tmp_path):
    """(store, image id, prediction id, label id)."""
    store, image_id, pred_id, label_id = build_project(tmp_path / "project", color="#00c000")
    yield store, image_id, pred_id, label_id
    store.close()


@pytest.fixture
def explain_dock(qtbot, engine_bridge, project):
    """(panel, canvas, layer): the Explain dock on a canvas showing the project's image at 400%."""
    from gui.canvas import CanvasWidget
    from gui.canvas.heatmap_layer import HeatmapLayer
    from gui.explain.panel import ExplainPanel
    store, image_id, _, _ = project
    canvas = CanvasWidget()
    qtbot.addWidget(canvas)
    canvas.resize(720, 560)
    canvas.show()
    qtbot.waitExposed(canvas)
    layer = HeatmapLayer()
    canvas.add_layer(layer)
    canvas.set_store(store)
    canvas.show_image(image_id)
    qtbot.waitUntil(lambda: canvas.image_ready, timeout=5000)
    canvas.set_zoom(4.0)
    canvas.view.centerOn(IMAGE_W / 2, IMAGE_H / 2)
    panel = ExplainPanel(engine_bridge, canvas.session, layer, canvas.show_image)
    qtbot.addWidget(panel)
    panel.resize(1100, 340)  # a dock under the canvas
    panel.show()
    qtbot.waitUntil(lambda: panel.outline is not None, timeout=30000)
    panel.auc_steps, panel.sanity_stages = 4, 1  # the numbers are the same kind, the test is faster
    yield panel, canvas, layer
    panel.shutdown()
    assert engine_bridge.wait_idle(60)
    canvas.close()


def grab_rgb(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine())
    return arr[:, :w * 3].reshape(h, w, 3).copy()
