"""The compact detector (the recommended model for training from scratch on a CPU): it learns on the
demo project, its checkpoint predicts through the normal loading path, and freezing finds its blocks."""
import numpy as np
import torch

from annotations.imageio import read_rgb
from annotations.store import Store
from engine.predictor import Predictor
from engine.registry import build_model
from engine.training import default_options, train
from engine.training.models import backbone_blocks, set_backbone_trainable
from engine.weights import load_model

MODEL = "fcos_compact_fpn"


def test_compact_detector_learns_from_scratch_and_its_checkpoint_predicts(demo_project, tmp_path):
    store = Store.open(demo_project, create=False)
    ids = store.image_ids("train")[:24]
    cats = [c.name for c in store.categories()]
    store.close()
    events = []
    opts = default_options(MODEL, "random", image_size=128, batch_size=4, epochs=8, warmup_iters=5, log_every=1,
                           train_image_ids=ids, val_image_ids=ids[:8], val_every=8, seed=1, monitor="map50")
    assert opts.optimizer == "adamw" and opts.lr == 1e-3  # the from-scratch family defaults
    result = train(demo_project, opts, tmp_path / "run", emit=events.append)
    assert result.status == "finished"
    losses = [e["loss"] for e in events if e["event"] == "iteration"]
    assert len(losses) == 48
    assert np.mean(losses[-6:]) < 0.75 * np.mean(losses[:6]), losses
    last = [e for e in events if e["event"] == "iteration"][-1]
    assert set(last["losses"]) == {"classification", "bbox_regression", "bbox_ctrness"}  # FCOS's losses
    (val,) = [e for e in events if e["event"] == "validation"]
    assert 0.0 <= val["map50"] <= 1.0 and val["detections"] > 0

    loaded = load_model(None, source=str(tmp_path / "run" / "best.pt"), device="cpu", project_categories=cats)
    assert loaded.spec.name == MODEL and loaded.categories == ["__background__", *cats]
    assert loaded.model.transform.max_size == 128  # predicts at the size it trained at
    rec = Store.open(demo_project, create=False)
    image = rec.image(ids[0])
    rgb = read_rgb(rec.root / image.file_name)
    rec.close()
    (out,) = Predictor(loaded, score_threshold=0.0).predict([rgb])
    assert out.boxes.shape[1] == 4 and len(out.boxes) == len(out.scores) == len(out) > 0
    assert set(out.labels) <= set(cats)


def test_freezing_finds_the_compact_backbone_blocks():
    model = build_model(MODEL, num_classes=5)
    assert len(backbone_blocks(model)) == 5  # stem and four stages
    assert set_backbone_trainable(model, frozen=True) == 0
    assert not any(p.requires_grad for p in model.backbone.body.parameters())
    assert all(p.requires_grad for p in model.backbone.fpn.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    assert set_backbone_trainable(model, frozen=False, trainable_layers=2) == 2
    assert [all(p.requires_grad for p in b) for b in backbone_blocks(model)] == [False, False, False, True, True]
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(3, 60, 80)])
    assert set(out[0]) == {"boxes", "scores", "labels"}


def test_mixed_precision_is_fp16_on_cuda_bfloat16_on_capable_cpus_else_fp32(monkeypatch):
    from engine import device
    assert device.mixed_precision(False, torch.device("cpu")) == (None, "")
    assert device.mixed_precision(True, torch.device("cuda")) == (torch.float16, "")
    monkeypatch.setattr(device, "cpu_bf16_supported", lambda: True)
    assert device.mixed_precision(True, torch.device("cpu")) == (torch.bfloat16, "")
    monkeypatch.setattr(device, "cpu_bf16_supported", lambda: False)
    dtype, note = device.mixed_precision(True, torch.device("cpu"))
    assert dtype is None and "fp32" in note


def test_bfloat16_steps_on_the_cpu_train_and_save_fp32_weights(demo_project, tmp_path, monkeypatch):
    from engine import device
    monkeypatch.setattr(device, "cpu_bf16_supported", lambda: True)  # emulated where the CPU lacks it: same result
    store = Store.open(demo_project, create=False)
    ids = store.image_ids("train")[:8]
    store.close()
    events = []
    opts = default_options(MODEL, "random", image_size=96, batch_size=4, epochs=3, warmup_iters=2, log_every=1,
                           train_image_ids=ids, val_split="", seed=2)
    assert opts.amp  # the compact family's default
    result = train(demo_project, opts, tmp_path / "run", emit=events.append)
    assert result.status == "finished"
    (start,) = [e for e in events if e["event"] == "start"]
    assert start["precision"] == "bf16 mixed"
    losses = [e["loss"] for e in events if e["event"] == "iteration"]
    assert len(losses) == 6 and all(np.isfinite(losses))
    from engine.training import checkpoints
    ck = checkpoints.load(tmp_path / "run" / "last.pt")
    assert all(v.dtype == torch.float32 for v in ck["model"].values() if v.is_floating_point())
