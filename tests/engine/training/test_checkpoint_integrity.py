"""The app's checkpoints carry a checksum; damaged ones are refused; a killed run's half-written
checkpoints are cleaned up on --resume; an unreadable last.pt is one readable error."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import main as entry
from engine.checksum import state_checksum
from engine.training import checkpoints
from engine.weights import CheckpointError, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[3]
MODEL = "fasterrcnn_mobilenet_v3_large_320_fpn"


def _tiny_checkpoint(path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    save_checkpoint(path, model, MODEL, ["__background__", "a"], epoch=3)
    return model


def test_checksum_is_stored_and_checked(tmp_path):
    model = _tiny_checkpoint(tmp_path / "c.pt")
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert raw["checksum"] == state_checksum(model.state_dict())
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 3
    assert checkpoints.load(tmp_path / "c.pt")["epoch"] == 3

    raw["model"]["0.weight"][0, 0, 0, 0] += 1.0  # weights overwritten, the rest of the file intact
    torch.save(raw, tmp_path / "altered.pt")
    with pytest.raises(CheckpointError, match=r"altered\.pt: refused: its weights do not match the checksum"):
        load_checkpoint(tmp_path / "altered.pt")


def test_bytes_overwritten_inside_the_file_are_refused(tmp_path):
    model = _tiny_checkpoint(tmp_path / "c.pt")
    data = bytearray((tmp_path / "c.pt").read_bytes())
    weights = model.state_dict()["0.weight"].numpy().tobytes()
    at = data.find(weights)
    assert at > 0
    data[at:at + 16] = bytes(16)  # zeros over the first four weights
    (tmp_path / "c.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"c\.pt: "):  # the zip's CRC or our checksum, never silence
        load_checkpoint(tmp_path / "c.pt")


def test_a_checkpoint_without_checksum_still_loads(tmp_path):
    model = torch.nn.Linear(2, 2)
    torch.save({"format": "sightline-checkpoint", "version": 1, "model_name": MODEL, "categories": ["a"],
                "model": model.state_dict()}, tmp_path / "old.pt")
    assert set(load_checkpoint(tmp_path / "old.pt")["model"]) == {"weight", "bias"}


def test_resume_with_an_unreadable_last_pt_is_one_error_line(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"\x00not a checkpoint at all" * 100)
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--resume", str(run)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "last.pt" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_an_empty_or_cut_checkpoint_says_so(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt: not a readable checkpoint \(the file is empty or cut "
                                              r"short\)"):
        load_checkpoint(tmp_path / "empty.pt")
    _tiny_checkpoint(tmp_path / "c.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "c.pt").read_bytes()[:300])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "cut.pt")


def test_resume_of_a_plain_state_dict_is_one_error_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    torch.save(torch.nn.Linear(2, 2).state_dict(), run / "last.pt")
    assert entry.main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_stale_temporaries_go_and_a_live_writer_s_stay(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "last.pt").write_bytes(b"x")
    stale = tmp_path / f".last.pt.tmp{dead.pid}"
    live = tmp_path / f".best.pt.tmp{subprocess.os.getppid()}"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    assert checkpoints.remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and (tmp_path / "last.pt").exists()


def test_resume_removes_what_a_killed_run_left(demo_project, tmp_path, capsys):
    from engine.training import default_options, train
    run = tmp_path / "run"
    opts = default_options(MODEL, "random", image_size=96, batch_size=2, roi_batch_size=64, val_split="",
                           max_iterations=1, warmup_iters=1, workers=0)
    train(demo_project, opts, run, emit=lambda e: None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = run / f".last.pt.tmp{dead.pid}"
    left.write_bytes(b"\x00" * 1000)
    assert entry.main(["train", "--resume", str(run), "--max-iterations", "1"]) == 0
    assert not left.exists()
    assert "removed 1 half-written checkpoint" in capsys.readouterr().err
