"""How a training run ends when it should not go on: early stopping on a validation metric that
stopped improving, and a step that runs out of memory (in the API and through `main.py train`)."""
import json
import math

import pytest
import torch

from annotations.store import Store
from engine.training import TrainingError, checkpoints, default_options, train
from engine.training import loop as loop_module
from engine.training import steps as steps_module
from engine.weights import load_model

MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"


def tiny(**kw):
    base = dict(image_size=96, batch_size=2, roi_batch_size=32, warmup_iters=1, log_every=1, val_split="",
                workers=0, seed=7, augment=False)
    return default_options(MODEL, "random", **{**base, **kw})


def _ids(project, n_train, n_val=0):
    store = Store.open(project, create=False)
    try:
        return store.image_ids("train")[:n_train], store.image_ids("val")[:n_val]
    finally:
        store.close()


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ---- early stopping ------------------------------------------------------------------------------
def test_early_stopping_ends_the_run_and_keeps_the_earliest_best_checkpoint(demo_project, tmp_path, monkeypatch):
    """The validation really runs (COCO on the model's predictions); only its mAP is replaced by a
    script, so that what is tested is the loop's decision: 0.2, then 0.5 (best), then 0.5 again,
    which is no improvement; with early_stopping=1 the run ends after epoch 3 of 6, and best.pt
    holds the weights of epoch 2, not the equally good ones of epoch 3. (One step per epoch.)"""
    scripted = iter([0.2, 0.5, 0.5, 0.9, 0.9, 0.9])
    real = loop_module.detection_metrics
    calls = []

    def scored(*args, **kwargs):
        metrics = real(*args, **kwargs)
        calls.append(dict(metrics))
        return {**metrics, "map": next(scripted)}

    monkeypatch.setattr(loop_module, "detection_metrics", scored)
    train_ids, val_ids = _ids(demo_project, 2, 1)
    opts = tiny(epochs=6, early_stopping=1, train_image_ids=train_ids, val_image_ids=val_ids, schedule="constant")
    events, weights_at = [], {}

    def emit(e):
        events.append(e)
        if e["event"] == "checkpoint" and e["kind"] == "last":  # what last.pt held at each epoch end
            weights_at[e["epoch"]] = checkpoints.load(e["path"])["model"]

    result = train(demo_project, opts, tmp_path / "run", emit=emit)

    assert len(calls) == 3 and all("map50" in c and "detections" in c for c in calls)
    assert result.status == "early_stopped" and result.epoch == 3 and result.iteration == 3
    vals = [e for e in events if e["event"] == "validation"]
    assert [(v["epoch"], v["map"], v["best"]) for v in vals] == [(1, 0.2, True), (2, 0.5, True), (3, 0.5, False)]
    stopped = [e for e in events if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["reason"] == "early_stopping" and stopped[0]["epoch"] == 3
    done = events[-1]
    assert done["event"] == "done" and done["status"] == "early_stopped" and done["best_metric"] == 0.5
    assert events.index(stopped[0]) == len(events) - 2
    assert max(e["iteration"] for e in events if e["event"] == "iteration") == 3  # no epoch 4

    run = tmp_path / "run"
    bests = [e for e in events if e["event"] == "checkpoint" and e["kind"] == "best"]
    assert [b["epoch"] for b in bests] == [1, 2]
    assert result.best_checkpoint == str(run / "best.pt") and result.best_metric == 0.5
    best = checkpoints.load(run / "best.pt")
    assert best["position"]["epoch"] == 2 and best["best"]["epoch"] == 2
    assert _same_weights(best["model"], weights_at[2])
    assert not _same_weights(best["model"], weights_at[3])  # epoch 3 trained on, but was no better
    last = checkpoints.load(run / "last.pt")
    assert last["position"]["epoch"] == 3 and last["bad_validations"] == 1
    summary = json.loads((run / "run.json").read_text())
    assert summary["status"] == "early_stopped" and summary["best"]["epoch"] == 2
    assert [h["map"] for h in summary["history"]] == [0.2, 0.5, 0.5]


def test_without_early_stopping_a_flat_metric_runs_every_epoch(demo_project, tmp_path, monkeypatch):
    real = loop_module.detection_metrics
    monkeypatch.setattr(loop_module, "detection_metrics", lambda *a, **k: {**real(*a, **k), "map": 0.3})
    train_ids, val_ids = _ids(demo_project, 2, 1)
    events = []
    result = train(demo_project, tiny(epochs=2, early_stopping=0, train_image_ids=train_ids, val_image_ids=val_ids),
                   tmp_path / "run", emit=events.append)
    assert result.status == "finished" and result.epoch == 2
    assert [v["best"] for v in events if v["event"] == "validation"] == [True, False]
    assert not any(e["event"] == "stopped" for e in events)
    assert checkpoints.load(tmp_path / "run" / "best.pt")["position"]["epoch"] == 1


# ---- out of memory ------------------------------------------------------------------------------
def _fail_on_call(monkeypatch, n: int, error: BaseException):
    """The n-th forward pass of a training step raises `error` (the loss computation is the seam
    every step goes through, before backward and the optimizer)."""
    real = steps_module.compute_losses
    count = {"calls": 0}

    def compute_losses(*args, **kwargs):
        count["calls"] += 1
        if count["calls"] == n:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(steps_module, "compute_losses", compute_losses)
    return count


OOM_ERRORS = {
    "cuda": lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)"),
    "cpu": lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
                                "you tried to allocate 8589934592 bytes."),
}


@pytest.mark.parametrize("kind", sorted(OOM_ERRORS))
def test_out_of_memory_stops_with_advice_and_keeps_the_last_good_checkpoint(demo_project, tmp_path, monkeypatch,
                                                                            kind):
    count = _fail_on_call(monkeypatch, 2, OOM_ERRORS[kind]())
    train_ids, _ = _ids(demo_project, 6)
    events = []
    opts = tiny(epochs=1, batch_size=2, checkpoint_every=1, train_image_ids=train_ids)
    with pytest.raises(TrainingError) as err:
        train(demo_project, opts, tmp_path / "run", emit=events.append)

    message = str(err.value)
    assert message.startswith("Out of memory on cpu with batch size 2 at image size 96.")
    assert "--batch-size 1" in message and "--image-size" in message
    assert "Traceback" not in message and "\n" not in message
    assert isinstance(err.value.__cause__, RuntimeError) and "memory" in str(err.value.__cause__)
    assert count["calls"] == 2
    assert [e["iteration"] for e in events if e["event"] == "iteration"] == [1]
    assert events[-1] == {"event": "error", "time": events[-1]["time"], "message": message}
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == message
    assert summary["position"]["iteration"] == 1

    last = tmp_path / "run" / "last.pt"
    ck = checkpoints.load(last)
    assert ck["position"] == {"epoch": 0, "batch": 1, "iteration": 1}
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())
    loaded = load_model(None, source=str(last), device="cpu")
    assert loaded.name == MODEL and _same_weights(loaded.model.state_dict(), ck["model"])
    with torch.no_grad():
        (out,) = loaded.model([torch.rand(3, 96, 128)])
    assert {"boxes", "scores", "labels"} <= set(out)


def test_a_step_failing_otherwise_is_reported_as_it_is(demo_project, tmp_path, monkeypatch):
    _fail_on_call(monkeypatch, 1, RuntimeError("expected scalar type Float but found Half"))
    train_ids, _ = _ids(demo_project, 4)
    with pytest.raises(TrainingError, match="^Training step failed: expected scalar type Float but found Half$"):
        train(demo_project, tiny(epochs=1, train_image_ids=train_ids), tmp_path / "run")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_cli_reports_out_of_memory_as_a_json_error_and_exit_status_3(demo_project, tmp_path, monkeypatch, capsys):
    """`main.py train` in this process (a subprocess could not be made to run out of memory on cue)."""
    import main
    _fail_on_call(monkeypatch, 2, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB"))
    store = Store.open(demo_project, create=False)
    store.set_split(store.image_ids("train")[:4], "tiny")
    store.close()
    run = tmp_path / "run"
    code = main.main(["train", "--project", str(demo_project), "--out", str(run), "--model", MODEL,
                      "--train-split", "tiny", "--val-split", "", "--epochs", "1", "--image-size", "96",
                      "--batch-size", "2", "--roi-batch-size", "32", "--log-every", "1", "--warmup-iters", "1",
                      "--checkpoint-every", "1", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 3
    lines = [json.loads(x) for x in out.splitlines()]  # stdout is JSON lines only
    assert [e["event"] for e in lines][-1] == "error"
    message = lines[-1]["message"]
    assert message.startswith("Out of memory on cpu with batch size 2") and "--batch-size 1" in message
    assert err.strip() == f"error: {message}"  # one readable line, no traceback
    assert [e["iteration"] for e in lines if e["event"] == "iteration"] == [1]
    assert all(math.isfinite(e["loss"]) for e in lines if e["event"] == "iteration")
    assert checkpoints.load(run / "last.pt")["position"]["iteration"] == 1
