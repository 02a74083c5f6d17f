"""`main.py predict --project` as a person and a cluster run it: classes kept out of the project,
degenerate boxes, a full disk, a killed process and its resume, and the GUI worker storing the same rows."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import main
from annotations.demo import generate_demo
from annotations.store import Store
from engine import run_progress
from engine.prediction_store import pending_classes
from engine.predictor import ImagePrediction
from engine.registry import BACKGROUND, build_model
from engine.weights import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
FAST = "fasterrcnn_mobilenet_v3_large_320_fpn"
MODEL_CLASSES = [BACKGROUND, "circle", "object"]  # "object" is no category of the demo project


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "template"
    generate_demo(path, n_images=12, seed=4, size=(160, 120)).close()
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(FAST, num_classes=len(MODEL_CLASSES))
    cls = model.roi_heads.box_predictor.cls_score
    with torch.no_grad():  # both classes score alike, so both are among the top detections of every image
        cls.weight[2] = cls.weight[1]
        cls.bias[2] = cls.bias[1]
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "from_scratch.pt", model, FAST, MODEL_CLASSES)


@pytest.fixture
def project(template, tmp_path):
    shutil.copytree(template, tmp_path / "p")
    return tmp_path / "p"


def predict_args(project, checkpoint, *extra):
    return ["predict", "--model", FAST, "--weights", str(checkpoint), "--device", "cpu", "--score", "0.0",
            "--batch-size", "1", "--project", str(project), *extra]


def rows(store, run_id=None):
    """Predictions as comparable rows: (file, category name, kind, box, score), sorted."""
    names = {c.id: c.name for c in store.categories()}
    files = {r.id: r.file_name for r in store.images()}
    return sorted((files[a.image_id], names[a.category_id], a.kind, tuple(round(v, 3) for v in a.bbox),
                   round(a.score, 5)) for a in store.annotations(status="prediction", run_id=run_id))


def env():
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def reference(template, checkpoint, tmp_path_factory):
    """One uninterrupted single-process run: the rows every other way must store."""
    path = tmp_path_factory.mktemp("ref") / "p"
    shutil.copytree(template, path)
    assert main.main(predict_args(path, checkpoint)) == 0
    with Store.open(path, create=False) as store:
        (run,) = store.runs()
        assert run_progress.run_status(store, run.id).status == "complete"
        return rows(store), pending_classes(store, run.id)


def test_classes_the_project_lacks_are_kept_out_and_named(project, checkpoint, capsys, reference):
    with Store.open(project, create=False) as store:
        before = [c.name for c in store.categories()]
    assert main.main(predict_args(project, checkpoint)) == 0
    out, err = capsys.readouterr()
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        assert [c.name for c in store.categories()] == before  # nothing added without consent
        kept = pending_classes(store, run.id)
        assert set(kept) == {"object"} and kept == reference[1]
        assert f"kept out of the project, no category of that name: object ({kept['object']})" in err
        assert {r[1] for r in rows(store)} == {"circle"} and "(complete)" in out
    assert main.main(predict_args(project, checkpoint, "--add-categories")) == 0
    capsys.readouterr()
    with Store.open(project, create=False) as store:
        assert [c.name for c in store.categories()] == [*before, "object"]
        second = store.runs()[-1]
        assert pending_classes(store, second.id) == {}
        assert {r[1] for r in rows(store, second.id)} == {"circle", "object"}


def test_degenerate_predictions_are_not_stored_from_the_cli(project, capsys, monkeypatch):
    def fixed(self, images, cancel=None):
        boxes = np.asarray([[1, 1, 0, 0], [2, 2, 1, 0], [3, 3, 0.4, 9], [4, 4, 6, 5]], np.float32)
        return [ImagePrediction(boxes, np.full(4, 0.9, np.float32), ["circle"] * 4) for _ in images]

    monkeypatch.setattr("engine.predictor.Predictor.predict", fixed)
    rc = main.main(["predict", "--model", FAST, "--weights", "random", "--device", "cpu", "--project", str(project)])
    err = capsys.readouterr().err
    assert rc == 0, err
    with Store.open(project, create=False) as store:
        stored = store.annotations(status="prediction")
        assert len(stored) == store.image_count() and {a.bbox for a in stored} == {(4, 4, 6, 5)}
    assert f"{3 * 12} predictions under one pixel on a side were not stored" in err


def test_a_full_disk_gives_one_error_line_and_leaves_the_run_incomplete(project, checkpoint, capsys, monkeypatch):
    opened = Store._conn
    limited = set()

    def full_disk(self):  # every connection may not grow the database by a single page
        conn = opened(self)
        if id(conn) not in limited:
            limited.add(id(conn))
            conn.execute(f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0]}")
        return conn

    monkeypatch.setattr(Store, "_conn", full_disk)
    rc = main.main(predict_args(project, checkpoint))
    err = capsys.readouterr().err
    monkeypatch.undo()
    lines = err.strip().splitlines()
    assert rc == 2 and "Traceback" not in err
    assert lines[-1].startswith("error: ") and "project.sightline" in lines[-1] and "disk is full" in lines[-1]
    assert [x for x in lines if x.startswith("error")] == [lines[-1]]
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        status = run_progress.run_status(store, run.id)
        assert status.status == "incomplete" and status.missing == 12 and store.annotation_count("prediction") == 0


def test_a_project_that_cannot_be_written_is_refused_before_the_model_loads(project, checkpoint, capsys,
                                                                             monkeypatch):
    import annotations.store as store_module
    import engine.predict_cli as predict_cli
    monkeypatch.setattr(store_module, "writable", lambda root, db: False)  # as a read-only mount answers
    loaded = []
    monkeypatch.setattr(predict_cli, "_load", lambda *a, **k: loaded.append(1))
    assert main.main(predict_args(project, checkpoint)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {project} cannot be written (a read-only folder or database); nothing was changed."]
    assert loaded == []
    monkeypatch.undo()
    with Store.open(project, create=False) as store:
        assert store.runs() == []


def test_a_decompression_bomb_among_the_images_is_skipped_and_reported(project, checkpoint, capsys, reference):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with Store.open(project, create=False) as store:
        rec = store.images()[4]
        path = store.image_path(rec)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))  # a header of 10^10 pixels
    assert main.main(predict_args(project, checkpoint)) == 0
    err = capsys.readouterr().err
    assert f"warning: {path}: 100000x100000 is 10000 megapixels, over the limit" in err and "skipped" in err
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        status = run_progress.run_status(store, run.id)
        assert status.status == "incomplete" and status.missing_ids == [rec.id]
        assert rows(store) == [r for r in reference[0] if r[0] != rec.file_name]  # every other image as usual


def test_max_pixels_is_an_option_of_predict(project, checkpoint, capsys):
    """The limit's message says to raise it with --max-pixels: predict takes that option (here set
    below the demo's 160x120 images, so each one is skipped and reported, and nothing crashes)."""
    from annotations.imageio import set_pixel_limit
    try:
        assert main.main(predict_args(project, checkpoint, "--max-pixels", "10000")) == 0
    finally:
        set_pixel_limit(None)
    err = capsys.readouterr().err
    assert err.count("160x120 is 0.019 megapixels, over the limit of 0.01") == 12 and err.count("; skipped") == 12
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        assert run_progress.run_status(store, run.id).missing == 12 and store.annotation_count("prediction") == 0


def _done(project) -> int:
    try:
        with sqlite3.connect(project / "project.sightline", timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM run_images WHERE done=1").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_predict_is_incomplete_and_the_same_command_fills_it(project, checkpoint, capsys, reference):
    args = predict_args(project, checkpoint)
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _done(project) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        status = run_progress.run_status(store, run.id)
        assert status.status == "incomplete" and 0 < status.missing < 12, status
        done_files = {r.file_name for r in store.images() if r.id not in status.missing_ids}
        assert rows(store) == [r for r in reference[0] if r[0] in done_files]  # what is there is whole
    assert main.main(args) == 0  # the same command
    out = capsys.readouterr().out
    assert f"predictions stored in resumed run {run.id}" in out and "(complete)" in out
    with Store.open(project, create=False) as store:
        assert len(store.runs()) == 1 and run_progress.run_status(store, run.id).status == "complete"
        assert rows(store) == reference[0] and pending_classes(store, run.id) == reference[1]
    assert main.main([*args, "--resume", str(run.id)]) == 0  # nothing left to do: nothing added
    with Store.open(project, create=False) as store:
        assert rows(store) == reference[0]
    assert main.main([*args, "--resume", "99"]) == 2
    assert "no prediction run 99" in capsys.readouterr().err


def test_the_gui_worker_stores_the_same_rows_as_the_cli(project, checkpoint, reference):
    from gui.engine_worker import EngineWorker, SharedState, default_hooks
    shared = SharedState()
    shared.store = Store.open(project, create=False)
    worker = EngineWorker(shared, default_hooks())
    failures = []
    worker.load_failed.connect(lambda rid, text: failures.append(text))
    worker.failed.connect(lambda rid, text: failures.append(text))
    worker.load(1, FAST, str(checkpoint), "cpu", False, 0.0, False)
    worker.predict_images(2, None, False, 1, 0)
    try:
        assert failures == []
        (run,) = shared.store.runs()
        assert rows(shared.store) == reference[0] and pending_classes(shared.store, run.id) == reference[1]
        assert run_progress.run_status(shared.store, run.id).status == "complete"
    finally:
        worker.release()
        shared.store.close()


def _torchrun(args):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            str(ROOT / "main.py"), *args]


def test_two_gloo_processes_store_one_run_equal_to_one_process(project, checkpoint, reference):
    r = subprocess.run(_torchrun(predict_args(project, checkpoint)), capture_output=True, text=True, env=env(),
                       cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("predictions stored as run") == 1  # rank 0 alone reports
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        assert run_progress.run_status(store, run.id).status == "complete"
        assert rows(store) == reference[0] and pending_classes(store, run.id) == reference[1]
    assert not (project / ".sightline-predict").exists()  # the ranks' files are merged and gone


def test_a_killed_rank_loses_and_duplicates_nothing_and_a_rerun_fills_the_run(project, checkpoint, reference):
    args = _torchrun(predict_args(project, checkpoint))
    proc = subprocess.Popen(args, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    shard = project / ".sightline-predict" / "run-1" / "rank-1.jsonl"
    deadline, pid = time.time() + 300, None
    while proc.poll() is None and time.time() < deadline:
        lines = shard.read_text().splitlines() if shard.exists() else []
        if len(lines) >= 2:  # its header and one image
            pid = int(lines[0].split('"pid":')[1].rstrip("}"))
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.communicate(timeout=120)
    assert pid is not None and proc.returncode != 0
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        status = run_progress.run_status(store, run.id)
        assert status.status == "incomplete" and status.missing > 0, status
        done_files = {r.file_name for r in store.images() if r.id not in status.missing_ids}
        assert rows(store) == [r for r in reference[0] if r[0] in done_files]  # nothing doubled or torn
    r = subprocess.run(args, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"predictions stored in resumed run {run.id}" in r.stdout
    with Store.open(project, create=False) as store:
        assert len(store.runs()) == 1 and run_progress.run_status(store, run.id).status == "complete"
        assert rows(store) == reference[0] and pending_classes(store, run.id) == reference[1]


def test_results_lines_that_are_not_what_a_rank_writes_are_skipped_like_torn_ones(project):
    """The results files lie in the project folder: a line whose image id is a word, whose boxes are
    not four numbers or whose scores and boxes differ in number used to end the merge in a traceback.
    Such a line is skipped as a torn one is (its image stays missing); a good line is stored."""
    import json

    from engine.predict_shards import ShardMerger, ShardWriter, shard_dir
    from annotations.model import ModelRun
    with Store.open(project, create=False) as store:
        run = store.add_run(ModelRun(None, "fasterrcnn_resnet50_fpn", "random"))
        images = [r.id for r in store.images()][:2]
        folder = shard_dir(store.root, run)
        writer = ShardWriter(folder, 1)
        writer.add([images[0]], [ImagePrediction(np.array([[1, 2, 30, 40]], np.float32), np.array([0.9], np.float32),
                                                 ["circle"], None)], {})
        writer.close()
        with open(folder / "rank-2.jsonl", "w") as f:
            for bad in ({"image_id": "abc", "boxes": [], "scores": [], "labels": []},
                        {"image_id": images[1], "boxes": [[1, 2, 3]], "scores": [0.5], "labels": ["circle"]},
                        {"image_id": images[1], "boxes": [[1, 2, 3, 4]], "scores": [], "labels": ["circle"]},
                        {"image_id": images[1], "boxes": "x"}, [1, 2], "text"):
                f.write(json.dumps(bad) + "\n")
        ShardMerger(store, run, "fasterrcnn_resnet50_fpn", add_categories=True).merge()
        stored = store.annotations(run_id=run)
        assert [(a.image_id, a.bbox) for a in stored] == [(images[0], (1.0, 2.0, 30.0, 40.0))]
