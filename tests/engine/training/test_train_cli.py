"""`main.py train` as users and clusters run it: JSON lines, SIGINT saves, --resume, torchrun DDP."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from annotations.store import Store

ROOT = Path(__file__).resolve().parents[3]
MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"
SMALL = ["--model", MODEL, "--image-size", "96", "--batch-size", "2", "--roi-batch-size", "64", "--log-every", "1",
         "--warmup-iters", "2"]


def _env():
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _events(text):
    return [json.loads(x) for x in text.splitlines() if x.startswith("{")]


def test_sigint_saves_a_checkpoint_and_resume_carries_on(demo_project, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "main.py"), "train", "--project", str(demo_project), "--out", str(run),
           "--val-split", "", "--epochs", "2", *SMALL]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "iteration":
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=180)
    seen += _events(out)
    assert proc.returncode == 0, err
    stopped = [e for e in seen if e["event"] == "stopped"]
    assert stopped and stopped[0]["reason"] == "interrupted"
    at = stopped[0]["iteration"]
    assert seen[-1]["event"] == "done" and seen[-1]["status"] == "interrupted"
    assert (run / "last.pt").exists()

    again = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--resume", str(run),
                            "--max-iterations", str(at + 1)], capture_output=True, text=True, env=_env(), cwd=ROOT,
                           timeout=180)
    assert again.returncode == 0, again.stderr
    ev = _events(again.stdout)
    assert ev[0]["event"] == "start" and ev[0]["resumed_from"]["iteration"] == at
    assert [e["iteration"] for e in ev if e["event"] == "iteration"] == [at + 1]


def test_bad_input_is_one_readable_error(demo_project, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--project", str(demo_project),
                        "--out", str(tmp_path / "r"), "--train-split", "nothing", *SMALL],
                       capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert r.returncode == 2
    assert "No labels to train on in split 'nothing'" in r.stderr
    assert _events(r.stdout)[-1]["event"] == "error"
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--resume", str(tmp_path / "none")],
                       capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "no last.pt" in r.stderr


def test_torchrun_with_two_gloo_processes_trains_and_its_checkpoint_loads(demo_project, tmp_path):
    from engine.weights import load_model
    store = Store.open(demo_project, create=False)
    store.set_split(store.image_ids("train")[:8], "tiny")
    cats = [c.name for c in store.categories()]
    store.close()
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "main.py"), "train", "--project", str(demo_project), "--out", str(run), "--device", "cpu",
           "--train-split", "tiny", "--val-split", "val", "--epochs", "1", *SMALL]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    ev = _events(r.stdout)
    assert [e["event"] for e in ev].count("start") == 1  # only the main process reports
    start = ev[0]
    assert start["world_size"] == 2 and start["total_iterations"] == 2  # 8 images / (2 per batch x 2 processes)
    assert [e["iteration"] for e in ev if e["event"] == "iteration"] == [1, 2]
    assert any(e["event"] == "validation" for e in ev) and ev[-1]["status"] == "finished"
    loaded = load_model(MODEL, str(run / "best.pt"), device="cpu", project_categories=cats)
    assert loaded.categories == ["__background__", *cats]


def test_max_pixels_is_an_option_of_train(demo_project, tmp_path, capsys):
    """train takes the --max-pixels its images' limit message names; when every labelled image is
    over it, the run stops before it starts with one line naming the images."""
    import main as entry
    from annotations.imageio import set_pixel_limit
    args = ["train", "--project", str(demo_project), "--out", str(tmp_path / "run"), "--val-split", "",
            "--max-iterations", "1", *SMALL, "--max-pixels", "10000"]
    try:
        assert entry.main(args) == 2
    finally:
        set_pixel_limit(None)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: No image to train on") and ".jpg" in err[0]
    assert "over the pixel limit of 0.01 megapixels" in err[0] and "more (raise the limit with --max-pixels" in err[0]


def test_images_over_the_pixel_limit_are_left_out_and_named(demo_project, tmp_path, capsys):
    """Two of four training images are over the limit (640x480 > 100,000 pixels > 320x240): the run
    leaves them out before it starts, says which in a warning line, in metrics.jsonl and run.json,
    and trains on the other two."""
    import numpy as np

    import main as entry
    from annotations.imageio import set_pixel_limit, write_rgb
    store = Store.open(demo_project, create=False)
    recs = store.images(ids=store.image_ids("train")[:4])
    for r in recs[:2]:
        write_rgb(store.image_path(r), np.random.default_rng(r.id).integers(0, 255, (480, 640, 3), np.uint8))
        r.width, r.height = 640, 480
        store.update_image(r)
    store.set_split([r.id for r in recs], "tiny")
    big = sorted(r.file_name for r in recs[:2])
    store.close()
    run = tmp_path / "run"
    args = ["train", "--project", str(demo_project), "--out", str(run), "--train-split", "tiny", "--val-split", "",
            "--epochs", "1", *SMALL, "--max-pixels", "100000", "--device", "cpu"]
    try:
        assert entry.main(args) == 0
    finally:
        set_pixel_limit(None)
    out, err = capsys.readouterr()
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: ") and "pixel limit" in ln]
    assert len(warnings) == 1 and "2 image(s) over the pixel limit of 0.1 megapixels were left out" in warnings[0]
    assert all(name in warnings[0] for name in big)
    events = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [e["message"] for e in events if e["event"] == "warning" and "pixel limit" in e["message"]]
    assert logged == [warnings[0][len("warning: "):]]
    start = next(e for e in events if e["event"] == "start")
    assert start["train_images"] == 2 and start["total_iterations"] == 1
    assert events[-1]["event"] == "done" and events[-1]["status"] == "finished"
    summary = json.loads((run / "run.json").read_text())
    assert sorted(Path(p).relative_to(demo_project).as_posix() for p in summary["left_out_over_pixel_limit"]) == big


def test_an_unknown_model_is_named_with_the_known_ones(demo_project, tmp_path, capsys):
    import main
    from engine.registry import UnknownModel
    from engine.training.options import task_of
    assert task_of("maskrcnn_resnet50_fpn") == "instance" and task_of("fcn_resnet50") == "semantic"
    with pytest.raises(UnknownModel):
        task_of("maskrcnn_of_my_own")  # the registry's word, no guess from the name
    code = main.main(["train", "--project", str(demo_project), "--model", "no_such_model", "--out", str(tmp_path / "r")])
    out = capsys.readouterr()
    assert code == 2 and "error: Unknown model 'no_such_model'. Known models: " in out.err
    assert _events(out.out)[-1]["event"] == "error" and not (tmp_path / "r").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "-3", "training option epochs: -3 is outside 1..1000000"),
    ("--lr", "inf", "training option lr: inf is not a finite number"),
    ("--lr", "nan", "training option lr: nan is not a finite number"),
    ("--momentum", "1.5", "training option momentum: 1.5 is outside 0..1"),
    ("--optimizer", "adam", "training option optimizer: 'adam' is not one of sgd, adamw"),
    ("--image-size", "5", "training option image_size: 5 is outside 32..8192"),
])
def test_training_options_out_of_range_write_nothing(demo_project, tmp_path, capsys, option, value, message):
    """-3 epochs "finished" at once with a checkpoint, and lr inf was written to the JSON lines as
    Infinity (no JSON reader takes it); now each is one line and no run folder."""
    import main
    runs = demo_project / "runs"
    before = sorted(runs.iterdir()) if runs.exists() else []
    code = main.main(["train", "--project", str(demo_project), *SMALL, option, value])
    out = capsys.readouterr()
    assert code == 2 and out.err.strip() == f"error: {message}"
    assert _events(out.out) == [{"event": "error", "message": message}]
    assert (sorted(runs.iterdir()) if runs.exists() else []) == before


def test_option_values_of_the_wrong_type_are_refused_as_from_a_run_folder():
    from engine.training import OptionsError, TrainOptions
    for field, value in [("epochs", True), ("batch_size", 2.5), ("lr", float("nan")), ("step_epochs", [1, -2]),
                         ("train_image_ids", "1,2"), ("augment", "yes"), ("device", 0), ("seed", 2**64)]:
        opts = TrainOptions(**{field: value})
        with pytest.raises(OptionsError, match=f"training option {field}: "):
            opts.check()
    TrainOptions().check()
