"""The Training dock drives a real `main.py train` child: progress rows arrive, Stop saves a
checkpoint the engine can load and predict with, and the run is listed."""
import json

import numpy as np
from PySide6.QtCore import Qt


def _window(qtbot, demo_project):
    from annotations.store import Store
    from gui.main_window import MainWindow
    win = MainWindow()
    win.resize(1280, 800)  # the size these tests' coordinates assume
    qtbot.addWidget(win)
    win.open_project(Store.open(demo_project, create=False))
    form = win.feature("training").form  # its model list is the engine thread's answer
    qtbot.waitUntil(lambda: form.model_combo.count() > 0, timeout=120000)
    return win


def test_building_the_training_dock_never_imports_torch_on_the_gui_thread():
    import subprocess
    import sys
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from gui.training_view import TrainingView; v = TrainingView(); "
            "v.form.set_models([{'name': 'fcos_compact_fpn', 'task': 'detection', 'has_weights': False}]); "
            "print(sorted(m for m in ('torch', 'torchvision', 'engine.registry') if m in sys.modules), "
            "v.form.epochs.value())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["[]", "100"], out.stdout  # the family defaults without the registry


def test_form_fills_family_defaults_and_builds_the_command(qtbot, demo_project, settings_dir):
    win = _window(qtbot, demo_project)
    form = win.feature("training").form
    form.model_combo.setCurrentIndex(form.model_combo.findData("fasterrcnn_resnet50_fpn"))
    form.source_combo.setCurrentIndex(form.source_combo.findData("default"))
    assert (form.optimizer.currentText(), form.freeze.value(), form.image_size.value()) == ("sgd", 2, 640)
    form.source_combo.setCurrentIndex(form.source_combo.findData("random"))
    assert form.optimizer.currentText() == "adamw" and form.freeze.value() == 0
    args = form.arguments()
    assert args[args.index("--model") + 1] == "fasterrcnn_resnet50_fpn"
    assert args[args.index("--source") + 1] == "random"
    form.source_combo.setCurrentIndex(form.source_combo.findData("checkpoint"))
    assert win.feature("training").start() is None and "Choose the checkpoint" in win.feature("training").status.text()
    assert not win.feature("training").process.is_running()
    form.checkpoint_edit.setText("/some/run/best.pt")
    args = form.arguments()
    assert args[args.index("--source") + 1] == "/some/run/best.pt"
    form.source_combo.setCurrentIndex(form.source_combo.findData("random"))
    assert args[args.index("--val-split") + 1] == "val"
    assert [form.train_split.itemData(i) for i in range(form.train_split.count())] == ["train", "val", ""]
    # A compact model has no published weights: that choice is off, and a chosen one falls back to random.
    form.source_combo.setCurrentIndex(form.source_combo.findData("default"))
    form.model_combo.setCurrentIndex(form.model_combo.findData("fcos_compact_fpn"))
    assert form.source_combo.currentData() == "random" and form.optimizer.currentText() == "adamw"
    assert not form.source_combo.model().item(form.source_combo.findData("default")).isEnabled()
    assert form.amp.isChecked() and "--amp" in form.arguments()  # compact models train in bfloat16 where they can
    assert form.epochs.value() == 100  # from scratch it needs a long cosine schedule
    form.model_combo.setCurrentIndex(form.model_combo.findData("fasterrcnn_resnet50_fpn"))
    assert form.source_combo.model().item(form.source_combo.findData("default")).isEnabled()
    assert not form.amp.isChecked() and "--no-amp" in form.arguments()
    win.close()


def test_start_shows_progress_stop_saves_a_usable_checkpoint(qtbot, demo_project, settings_dir):
    import torch

    from engine.training.runs import read_run
    from engine.weights import load_model
    win = _window(qtbot, demo_project)
    view = win.feature("training")
    form = view.form
    model = form.model_combo.currentData()
    assert model == "fcos_compact_fpn"  # the recommended model for training from scratch is preselected
    form.image_size.setValue(96)
    form.batch.setValue(2)
    form.epochs.setValue(3)
    form.val_split.setCurrentIndex(form.val_split.findData(""))
    view.log_every = 1
    rows = []
    view.process.event.connect(lambda ev: rows.append(ev) if ev["event"] == "iteration" else None)
    ready = []
    view.checkpoint_ready.connect(lambda model, path: ready.append((model, path)))

    qtbot.mouseClick(view.start_button, Qt.LeftButton)
    assert view.process.is_running() and not view.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(rows) >= 2, timeout=180_000)
    assert view.progress.value() == rows[-1]["iteration"] and view.progress.maximum() == rows[-1]["total_iterations"]
    assert "ETA" in view.status.text()
    assert len(view.charts.losses.points("total")) >= 2 and view.charts.lr.points("lr")

    with qtbot.waitSignal(view.process.ended, timeout=120_000) as ended:
        qtbot.mouseClick(view.stop_button, Qt.LeftButton)
    assert ended.args == [0, "interrupted"]
    run_dir = view.process.run_dir
    info = read_run(run_dir)
    assert info.status == "interrupted" and info.iteration >= 2 and info.last_checkpoint is not None
    assert view.runs.rowCount() == 1 and view.runs.item(0, 2).text() == "interrupted"
    assert ready == [(model, str(info.last_checkpoint))]
    assert view.checkpoints()[0][2] == str(info.last_checkpoint)
    events = [json.loads(x)["event"] for x in open(f"{run_dir}/metrics.jsonl")]
    assert "start" in events[:3] and events[-1] == "done" and "stopped" in events  # an info line may come first

    cats = [c.name for c in win.store.categories()]
    loaded = load_model(model, str(info.last_checkpoint), device="cpu",
                        project_categories=cats)
    with torch.no_grad():
        out = loaded.model([torch.from_numpy(np.zeros((3, 120, 160), np.float32))])
    assert set(out[0]) >= {"boxes", "scores", "labels"}
    win.close()


def test_a_failed_training_child_is_logged_with_what_it_said(qtbot, tmp_path):
    import logging

    from annotations.applog import setup_logging
    from gui.training.process import TrainingProcess
    log_file = setup_logging()
    proc = TrainingProcess()
    missing = tmp_path / "no_project_here"
    with qtbot.waitSignal(proc.ended, timeout=120000) as ended:
        proc.start(["--project", str(missing), "--model", "fcos_compact_fpn"], run_dir=str(tmp_path / "run"))
    assert ended.args == [2, "failed"] and f"No project at {missing}" in proc.last_error
    for h in logging.getLogger().handlers:
        h.flush()
    text = log_file.read_text(encoding="utf-8")
    at = text.rfind(f"training run {tmp_path / 'run'} ended failed (exit code 2)")
    assert at >= 0, text[-2000:]
    assert f"error: No project at {missing}" in text[at:]  # the child's stderr comes with it
