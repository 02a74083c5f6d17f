"""The training loop on the demo project: it learns, saves, resumes exactly, and fails readably."""
import json

import pytest
import torch

from annotations.model import Category
from annotations.store import Store
from engine.training import TrainingDataError, TrainingError, default_options, resume_options, train
from engine.training import checkpoints
from engine.training.models import build_for_training

MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"


def tiny(**kw):
    base = dict(image_size=96, batch_size=4, roi_batch_size=64, warmup_iters=3, log_every=1, val_split="",
                workers=0, seed=3)
    return default_options(MODEL, "random", **{**base, **kw})


def _losses(events):
    return {e["iteration"]: e["loss"] for e in events if e["event"] == "iteration"}


def test_a_few_dozen_iterations_lower_the_loss_and_save_checkpoints(demo_project, tmp_path):
    store = Store.open(demo_project, create=False)
    store.add_category(Category(None, "hexagon"))  # no examples: a warning, not a failure
    val_ids = store.image_ids("val")
    train_ids = store.image_ids("train")[:16]
    store.close()
    events = []
    opts = tiny(epochs=3, lr=2e-3, batch_size=2, val_split="val", val_image_ids=val_ids, train_image_ids=train_ids,
                val_every=2, freeze_backbone_epochs=1)
    result = train(demo_project, opts, tmp_path / "run", emit=events.append)
    assert result.status == "finished"
    losses = _losses(events)
    its = sorted(losses)
    assert len(its) == result.iteration >= 24
    first, last = its[:5], its[-5:]
    assert sum(losses[i] for i in last) / 5 < 0.7 * sum(losses[i] for i in first) / 5, losses
    assert any(e["event"] == "warning" and "hexagon" in e["message"] for e in events)
    assert any(e["event"] == "info" and "unfrozen at epoch 2" in e["message"] for e in events)
    vals = [e for e in events if e["event"] == "validation"]
    assert [v["epoch"] for v in vals] == [2, 3] and all(0 <= v["map50"] <= 1 for v in vals)
    last_it = [e for e in events if e["event"] == "iteration"][-1]
    assert last_it["eta_s"] == 0 and last_it["images_per_s"] > 0 and "loss_classifier" in last_it["losses"]

    run = tmp_path / "run"
    for name in ("last.pt", "best.pt"):
        ck = checkpoints.load(run / name)
        assert ck["format"] == "sightline-checkpoint" and ck["version"] == 1 and ck["model_name"] == MODEL
        assert ck["categories"] == ["__background__", "circle", "square", "triangle", "star", "hexagon"]
        for key in ("optimizer", "scheduler", "scaler", "epoch", "options"):
            assert key in ck
        model = build_for_training(MODEL, ck["categories"][1:], "random", 96).model
        model.load_state_dict(ck["model"])  # strict: every tensor fits
    assert checkpoints.load(run / "last.pt")["epoch"] == 3
    again = build_for_training(MODEL, ck["categories"][1:], str(run / "best.pt"), 96)
    assert again.exact and "all weights" in again.description  # a run can start from this one
    fewer = build_for_training(MODEL, ["circle", "square"], str(run / "best.pt"), 96)
    assert not fewer.exact and "heads for new categories" in fewer.description
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["event"] for x in lines] == [e["event"] for e in events]
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "finished" and summary["best"]["checkpoint"].endswith("best.pt")


def test_resume_gives_the_same_next_loss_as_an_uninterrupted_run(demo_project, tmp_path):
    store = Store.open(demo_project, create=False)
    ids = store.image_ids("train")[:12]
    store.close()
    opts = tiny(epochs=2, train_image_ids=ids, lr=1e-3)  # 3 iterations per epoch
    straight = []
    train(demo_project, opts, tmp_path / "straight", emit=straight.append)

    first = []
    opts_cut = tiny(epochs=2, train_image_ids=ids, lr=1e-3, max_iterations=4)  # stops inside epoch 2
    r = train(demo_project, opts_cut, tmp_path / "cut", emit=first.append)
    assert r.status == "interrupted" and r.iteration == 4
    assert checkpoints.load(tmp_path / "cut" / "last.pt")["position"] == {"epoch": 1, "batch": 1, "iteration": 4}
    rest = []
    r2 = train(demo_project, resume_options(tmp_path / "cut", max_iterations=0), tmp_path / "cut",
               emit=rest.append, resume=True)
    assert r2.status == "finished" and r2.iteration == 6
    a, b, c = _losses(straight), _losses(first), _losses(rest)
    assert sorted(c) == [5, 6]
    for i in (1, 2, 3, 4):
        assert b[i] == pytest.approx(a[i], rel=1e-5, abs=1e-6)
    for i in (5, 6):
        assert c[i] == pytest.approx(a[i], rel=1e-5, abs=1e-6), (a, b, c)


def test_project_without_labels_says_so_and_writes_no_checkpoint(demo_project, tmp_path):
    with pytest.raises(TrainingDataError, match="No labels to train on in split 'test'"):
        train(demo_project, tiny(train_split="test"), tmp_path / "run")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(demo_project, tmp_path):
    events = []
    opts = tiny(epochs=1, optimizer="sgd", lr=1e5, warmup_iters=0, checkpoint_every=1)
    with pytest.raises(TrainingError, match="loss became nan") as err:
        train(demo_project, opts, tmp_path / "run", emit=events.append)
    assert "lower learning rate" in str(err.value)
    assert events[-1]["event"] == "error"
    ck = checkpoints.load(tmp_path / "run" / "last.pt")
    nan_at = int(str(err.value).split("iteration ")[1].split(" ")[0])
    assert ck["position"]["iteration"] == nan_at - 1
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "failed"


def test_backbone_freezing_and_trainable_layers():
    from engine.training.models import backbone_blocks, set_backbone_trainable
    model = build_for_training(MODEL, ["a", "b"], "random", 96).model
    blocks = backbone_blocks(model)
    assert len(blocks) > 5
    assert set_backbone_trainable(model, frozen=True) == 0
    assert not any(p.requires_grad for b in blocks for p in b)
    assert all(p.requires_grad for p in model.roi_heads.parameters())  # heads always train
    assert set_backbone_trainable(model, frozen=False, trainable_layers=2) == 2
    assert [any(p.requires_grad for p in b) for b in blocks] == [False] * (len(blocks) - 2) + [True, True]
    set_backbone_trainable(model, frozen=False)
    assert all(p.requires_grad for b in blocks for p in b)


def test_the_cancel_token_saves_a_resumable_checkpoint_and_ends_interrupted(demo_project, tmp_path):
    from annotations.errors import CancelToken
    token, seen = CancelToken(), []

    def emit(event):
        seen.append(event)
        if event["event"] == "iteration" and event["iteration"] == 2:
            token.cancel()  # as the CLI's SIGINT handler or the Training dock's Stop does
    result = train(demo_project, tiny(epochs=50), tmp_path / "run", emit=emit, cancel=token)
    assert result.status == "interrupted" and result.iteration == 3  # the next iteration sees it
    assert checkpoints.load(tmp_path / "run" / "last.pt")["options"]
    assert max(e["iteration"] for e in seen if e["event"] == "iteration") <= 3
