"""Training the other two kinds of model on the demo project (polygon labels): Mask R-CNN learns
masks, a semantic model learns per-pixel classes, and what each run saves loads for prediction."""
import json
import math

import pytest
import torch

from annotations.imageio import read_rgb
from annotations.store import Store
from engine.training import checkpoints, default_options, train
from engine.weights import load_model


def _ids(project, n_train, n_val):
    store = Store.open(project, create=False)
    try:
        cats = [c.name for c in sorted(store.categories(), key=lambda c: c.id)]
        train_ids, val_ids = store.image_ids("train")[:n_train], store.image_ids("val")[:n_val]
        return cats, train_ids, val_ids, store.image_path(val_ids[0])
    finally:
        store.close()


def test_mask_rcnn_trains_from_random_weights_and_its_checkpoint_predicts_masks(demo_project, tmp_path):
    model_name = "maskrcnn_resnet50_fpn"
    cats, train_ids, val_ids, image_path = _ids(demo_project, 4, 1)
    opts = default_options(model_name, "random", image_size=128, batch_size=2, roi_batch_size=16, epochs=1,
                           warmup_iters=1, log_every=1, workers=0, seed=5, augment=False,
                           train_image_ids=train_ids, val_image_ids=val_ids)
    assert opts.optimizer == "adamw"  # the from-scratch family defaults apply
    events = []
    result = train(demo_project, opts, tmp_path / "run", emit=events.append)

    assert result.status == "finished" and result.iteration == 2
    start = next(e for e in events if e["event"] == "start")
    assert start["task"] == "instance" and start["categories"] == ["__background__", *cats]
    its = [e for e in events if e["event"] == "iteration"]
    assert [e["iteration"] for e in its] == [1, 2]
    for e in its:
        assert {"loss_mask", "loss_classifier", "loss_box_reg", "loss_objectness"} <= set(e["losses"])
        assert all(math.isfinite(v) for v in e["losses"].values()) and math.isfinite(e["loss"])
        assert e["losses"]["loss_mask"] > 0
        assert e["loss"] == pytest.approx(sum(e["losses"].values()), rel=1e-5)
    # Validation of an instance model scores boxes and masks (COCO bbox and segm).
    (val,) = [e for e in events if e["event"] == "validation"]
    assert val["monitor"] == "map" and val["best"] is True
    assert "segm_map" in val and -1 <= val["segm_map"] <= 1 and 0 <= val["map"] <= 1

    run = tmp_path / "run"
    kinds = [(e["kind"], e["path"]) for e in events if e["event"] == "checkpoint"]
    assert ("last", str(run / "last.pt")) in kinds and ("best", str(run / "best.pt")) in kinds
    ck = checkpoints.load(run / "last.pt")
    assert ck["model_name"] == model_name and ck["position"]["iteration"] == 2
    assert ck["options"]["min_size"] == 128 and ck["options"]["max_size"] == 128
    assert any(k.startswith("roi_heads.mask_predictor.") for k in ck["model"])

    loaded = load_model(None, source=str(run / "best.pt"), device="cpu")
    assert loaded.name == model_name and loaded.categories == ["__background__", *cats]
    assert loaded.model.transform.max_size == 128  # the size it was trained at
    own = loaded.model.state_dict()  # the trained weights, not a fresh model
    assert own.keys() == ck["model"].keys() and all(torch.equal(own[k], ck["model"][k]) for k in own)
    loaded.model.roi_heads.score_thresh = 0.0  # a 2-iteration model is unsure of everything
    img = read_rgb(str(image_path))
    x = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        (out,) = loaded.model([x])
    assert "masks" in out and len(out["boxes"]) > 0
    h, w = img.shape[:2]
    assert out["masks"].shape == (len(out["boxes"]), 1, h, w)
    assert float(out["masks"].min()) >= 0 and float(out["masks"].max()) <= 1
    assert set(out["labels"].tolist()) <= set(range(1, len(cats) + 1))
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "finished" and summary["task"] == "instance"


def test_semantic_model_trains_reports_miou_and_its_checkpoint_predicts(demo_project, tmp_path):
    from engine.predictor import Predictor
    model_name = "lraspp_mobilenet_v3_large"
    cats, train_ids, val_ids, image_path = _ids(demo_project, 2, 2)
    opts = default_options(model_name, "random", image_size=128, batch_size=2, epochs=2, warmup_iters=1,
                           log_every=1, workers=0, seed=5, lr=2e-3, train_image_ids=train_ids, val_image_ids=val_ids)
    events = []
    result = train(demo_project, opts, tmp_path / "run", emit=events.append)

    assert result.status == "finished" and result.iteration == 2
    its = [e for e in events if e["event"] == "iteration"]
    assert [e["iteration"] for e in its] == [1, 2]
    assert all("loss_seg" in e["losses"] and math.isfinite(e["losses"]["loss_seg"]) for e in its)
    vals = [e for e in events if e["event"] == "validation"]
    assert [v["epoch"] for v in vals] == [1, 2]
    for v in vals:
        assert v["monitor"] == "miou"  # "map" (the default monitor) means nothing for a semantic model
        assert 0 < v["miou"] <= 1 and 0 < v["pixel_accuracy"] <= 1
    assert result.history == [{k: v[k] for k in ("epoch", "iteration", "pixel_accuracy", "miou")} for v in vals]
    best = max(vals, key=lambda v: v["miou"])
    assert result.best_metric == best["miou"] and result.best_checkpoint == str(tmp_path / "run" / "best.pt")
    assert checkpoints.load(tmp_path / "run" / "best.pt")["position"]["epoch"] == best["epoch"]

    loaded = load_model(None, source=str(tmp_path / "run" / "best.pt"), device="cpu")
    assert loaded.name == model_name and loaded.categories == ["__background__", *cats]
    ck = checkpoints.load(tmp_path / "run" / "best.pt")
    own = loaded.model.state_dict()
    assert own.keys() == ck["model"].keys() and all(torch.equal(own[k], ck["model"][k]) for k in own)
    img = read_rgb(str(image_path))
    pred = Predictor(loaded, score_threshold=0.0, input_size=128).predict_one(img)
    assert pred.semantic is not None and pred.semantic.shape == img.shape[:2]
    assert pred.semantic.min() >= 0 and pred.semantic.max() < len(loaded.categories)
    assert pred.class_names == loaded.categories
