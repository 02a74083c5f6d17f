"""The bridge over the real engine: a tiny torchvision detector with random weights, on the CPU."""
import numpy as np
import pytest

from annotations.model import PREDICTION

MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"


@pytest.fixture
def real_bridge(qtbot):
    pytest.importorskip("engine.predictor")
    from gui.bridge import EngineBridge
    b = EngineBridge()
    yield b
    b.shutdown()
    assert not b.running


def test_real_model_predicts_through_the_bridge(qtbot, real_bridge, grey_store):
    import torch
    torch.manual_seed(0)
    bridge = real_bridge
    bridge.set_store(grey_store)
    with qtbot.waitSignal(bridge.capabilities, timeout=30000) as caps:
        bridge.describe_engine()
    names = {m["name"] for m in caps.args[0]["models"]}
    assert MODEL in names and caps.args[0]["cuda"] == torch.cuda.is_available()

    with qtbot.waitSignal(bridge.model_loaded, timeout=60000) as loaded:
        bridge.load_model(MODEL, "random", "cpu", score_threshold=0.0)
    info = loaded.args[0]
    assert info["device"] == "cpu" and info["precision"] == "fp32" and info["source"] == "random weights"
    assert info["categories"][0] == "__background__"

    image_id = grey_store.image_ids()[0]
    with qtbot.waitSignal(bridge.result, timeout=60000) as blocker:
        bridge.predict_image(image_id)
    result = blocker.args[1]
    pred = result.prediction
    assert pred.boxes.shape == (len(pred.labels), 4) and len(pred.scores) == len(pred.labels)
    from engine.prediction_store import pending_classes
    stored = grey_store.annotations(status=PREDICTION, image_id=image_id)
    kept_out = pending_classes(grey_store, result.run_id)  # COCO classes the project has no category for
    assert len(stored) + sum(kept_out.values()) == len(pred.labels) and len(stored) == len(result.stored_ids)
    assert not set(kept_out) & {c.name for c in grey_store.categories()}
    for a in stored:
        assert a.source == MODEL and a.run_id == result.run_id and 0.0 <= a.score <= 1.0
        assert grey_store.category(a.category_id).name in info["categories"]
    boxes = np.array([a.bbox for a in stored]).reshape(-1, 4)
    assert (boxes[:, 0] >= -1e-3).all() and (boxes[:, 0] + boxes[:, 2] <= 64 + 1e-3).all()

    frame = np.full((48, 64, 3), 128, np.uint8)
    with qtbot.waitSignal(bridge.result, timeout=60000) as blocker:
        bridge.predict_frame(frame)
    assert blocker.args[1].display.shape == frame.shape and blocker.args[1].seconds > 0


def test_missing_default_weights_message_reaches_the_gui(qtbot, real_bridge, monkeypatch, tmp_path):
    monkeypatch.setenv("SIGHTLINE_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    with qtbot.waitSignal(real_bridge.model_failed, timeout=60000) as blocker:
        real_bridge.load_model(MODEL, "default", "cpu")
    message = blocker.args[0]
    assert f"Could not load {MODEL} (default)" in message
    assert ".pth" in message and "checkpoint" in message and "random" in message


@pytest.mark.gpu
def test_fp16_on_cuda_is_reported(qtbot, real_bridge):
    import torch
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    with qtbot.waitSignal(real_bridge.model_loaded, timeout=120000) as loaded:
        real_bridge.load_model(MODEL, "random", "cuda", fp16=True)
    info = loaded.args[0]
    assert info["device"].startswith("cuda") and info["precision"].startswith("fp16") and not info["note"]
    with qtbot.waitSignal(real_bridge.result, timeout=60000) as blocker:
        real_bridge.predict_frame(np.full((240, 320, 3), 128, np.uint8))
    assert blocker.args[1].seconds > 0
