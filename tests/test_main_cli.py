"""main.py, the dispatcher: a command's failure nobody caught is one `error:` line for the person and
the whole traceback in the log file (the training child's failures reach the log this way too)."""
from __future__ import annotations

import logging

import pytest

import main


def _log_text() -> str:
    from annotations.applog import setup_logging
    log_file = setup_logging()
    for h in logging.getLogger().handlers:
        h.flush()
    return log_file.read_text(encoding="utf-8")


def test_an_uncaught_failure_is_one_line_on_stderr_and_a_traceback_in_the_log(monkeypatch, capsys, tmp_path):
    import annotations.cli_demo as cli_demo

    def broken(args):
        raise RuntimeError("a bug deep in the demo writer")
    monkeypatch.setattr(cli_demo, "run", broken)
    assert main.main(["demo", str(tmp_path / "demo")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: internal error (RuntimeError: a bug deep in the demo writer); "
                   "run with SIGHTLINE_DEBUG=1 for details"]
    text = _log_text()
    at = text.rfind("command demo failed")
    assert at >= 0 and "Traceback" in text[at:] and "RuntimeError: a bug deep in the demo writer" in text[at:]


@pytest.mark.parametrize("error, code", [(ValueError("bad number in --images"), 2), (OSError("disk full"), 2)])
def test_bad_input_and_resource_errors_are_exit_code_2(monkeypatch, capsys, tmp_path, error, code):
    import annotations.cli_demo as cli_demo

    def failing(args):
        raise error
    monkeypatch.setattr(cli_demo, "run", failing)
    assert main.main(["demo", str(tmp_path / "demo")]) == code
    assert capsys.readouterr().err.startswith(f"error: {error.__class__.__name__}: {error}")


def test_the_window_arguments_are_named_as_the_installed_command(capsys):
    with pytest.raises(SystemExit):
        main.main(["some/project", "--no-such-option"])
    assert capsys.readouterr().err.startswith("usage: sightline ")


@pytest.mark.parametrize("asked", [None, "WARNING"])
def test_opencv_keeps_its_warnings_to_itself_unless_asked(tmp_path, asked):
    """A float TIFF, which OpenCV leaves to PIL with a warning of its own on the terminal: the
    prediction is made and stderr holds the app's lines only, unless OPENCV_LOG_LEVEL asks for more."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    from PIL import Image
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.random.default_rng(0).random((48, 64)).astype(np.float32)).save(images / "depth.tiff")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENCV_LOG_LEVEL", "SIGHTLINE_DEBUG")}
    env.update({"OPENCV_LOG_LEVEL": asked} if asked else {})
    root = Path(main.__file__).resolve().parent
    done = subprocess.run([sys.executable, str(root / "main.py"), "predict", "--model", "fasterrcnn_mobilenet_v3_large_320_fpn",
                           "--weights", "random", "--device", "cpu", "--min-size", "64", "--max-size", "64",
                           "--images", str(images), "--out", str(tmp_path / "out.json")],
                          capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.json").is_file()
    assert ("[ WARN" in done.stderr) == (asked is not None), done.stderr


@pytest.mark.parametrize("argv, message", [
    (["predict", "--project", "P", "--model", "m", "--score", "2"], "argument --score: 2: expected 0 to 1"),
    (["predict", "--project", "P", "--model", "m", "--score", "nan"], "argument --score: 'nan' is not a finite number"),
    (["predict", "--project", "P", "--model", "m", "--max-size", "-3"], "argument --max-size: -3: expected 16 to 16384"),
    (["predict", "--project", "P", "--model", "m", "--batch-size", "0"], "argument --batch-size: 0: expected 1 to 4096"),
    (["predict", "--project", "P", "--model", "m", "--nms", "0"], "argument --nms: 0: expected more than 0 and at most 1"),
    (["evaluate", "--project", "P", "--model-run", "1", "--match-iou", "inf"], "argument --match-iou: 'inf' is not a finite"),
    (["evaluate", "--project", "P", "--model-run", "0"], "argument --model-run: 0: expected 1 to"),
    (["rank", "--project", "P", "--run", "1", "--strategy", "entropy", "--top", "-1"], "argument --top: -1: expected 0 to"),
    (["demo", "D", "--images", "1.5"], "argument --images: '1.5' is not a whole number"),
    (["train", "--project", "P", "--model", "m", "--threads", "0"], "argument --threads: 0: expected 1 to 1024"),
    (["explain", "--image", "x.jpg", "--method", "gradcam", "--model", "m", "--auc-steps", "-1"],
     "argument --auc-steps: -1: expected 0 to 1000"),
])
def test_numbers_out_of_range_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {message}")
    assert list(tmp_path.iterdir()) == []  # no project, no run folder, no demo
