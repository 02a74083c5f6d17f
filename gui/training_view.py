"""The Training dock: pick a model, data and options; Start runs `main.py train` in a child process;
live charts of losses, learning rate and validation; Stop saves and ends; the project's runs are
listed, and a run's best checkpoint loads into the Model panel to predict at once.

A feature (gui/features.py): it asks the "model" service to load a checkpoint, and its view offers
  runs_changed(list[RunInfo])      the project's runs were re-read (after any run event that matters)
  checkpoint_ready(str, str)       a run ended with a usable checkpoint: (model name, checkpoint path)
  checkpoints() -> list[(label, model name, path)]   usable checkpoints of the project's runs, newest first
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QVBoxLayout, QWidget)

from engine.training.runs import RunInfo, list_runs, new_run_dir

from .features import Feature, FeatureContext, LazyPanel
from .training.charts import RunCharts
from .training.form import TrainForm
from .training.process import TrainingProcess
from .training.runs_table import RunsTable


def _duration(seconds) -> str:
    if seconds is None:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class TrainingView(QWidget):
    runs_changed = Signal(list)
    checkpoint_ready = Signal(str, str)

    def __init__(self, model_service=None, parent: QWidget | None = None):
        """model_service: the Model dock's service (load_checkpoint), when that feature is present."""
        super().__init__(parent)
        self.model_service = model_service
        self.project_root: Path | None = None
        self.process = TrainingProcess(self)
        self.current_model = ""
        self.log_every = 5  # iterations between progress rows from the child
        self.form = TrainForm()
        self.start_button = QPushButton("Start training")
        self.stop_button = QPushButton("Stop (save and end)")
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.status = QLabel("No run.")
        self.status.setWordWrap(True)
        self.charts = RunCharts()
        self.runs = RunsTable()
        self.use_button = QPushButton("Predict with the selected run's best checkpoint")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        lv.addLayout(buttons)
        lv.addWidget(self.progress)
        lv.addWidget(self.status)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.charts)
        runs_box = QWidget()
        rv = QVBoxLayout(runs_box)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.runs, 1)
        rv.addWidget(self.use_button)
        right.addWidget(runs_box)
        right.addWidget(self.log)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(split)

        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(self.use_selected_run)
        self.runs.itemSelectionChanged.connect(self._update_controls)
        self.process.event.connect(self._on_event)
        self.process.log.connect(self.log.appendPlainText)
        self.process.ended.connect(self._on_ended)
        self._update_controls()

    # ---- project ---------------------------------------------------------------------------------
    def set_store(self, store) -> None:
        self.project_root = None if store is None else Path(store.root)
        if store is not None:
            self.form.set_splits(sorted({r.split for r in store.images() if r.split}))
        self.refresh_runs()

    def refresh_runs(self) -> list[RunInfo]:
        runs = list_runs(self.project_root) if self.project_root is not None else []
        self.runs.set_runs(runs)
        self._update_controls()
        self.runs_changed.emit(runs)
        return runs

    def checkpoints(self) -> list[tuple[str, str, str]]:
        return [(f"{r.name} ({r.status}, best {r.monitor or 'map'} "
                 f"{'-' if r.best_metric is None else f'{r.best_metric:.3f}'})", r.model, str(r.usable_checkpoint))
                for r in list_runs(self.project_root) if r.usable_checkpoint] if self.project_root else []

    # ---- running ---------------------------------------------------------------------------------
    def start(self, extra_args: list[str] | tuple = ()) -> Path | None:
        if self.project_root is None:
            self.status.setText("Open a project first.")
            return None
        if self.process.is_running():
            return None
        if not self.form.source():
            self.status.setText("Choose the checkpoint to start from first (Start from: Checkpoint file…).")
            return None
        self.current_model = self.form.model_combo.currentData()
        run_dir = new_run_dir(self.project_root, self.current_model)
        args = ["--project", str(self.project_root), "--out", str(run_dir), "--log-every", str(self.log_every),
                *self.form.arguments(), *extra_args]
        self.charts.clear()
        self.progress.setRange(0, 0)
        self.status.setText(f"Starting {self.current_model} in {run_dir.name}…")
        self.log.appendPlainText("main.py train " + " ".join(args))
        self.process.start(args, str(run_dir))
        self._update_controls()
        return run_dir

    def stop(self) -> None:
        if self.process.is_running():
            self.status.setText("Stopping: saving a checkpoint…")
            self.process.stop()

    def shutdown(self) -> None:
        if self.process.is_running():
            self.process.stop()
            if not self.process.wait(15000):
                self.process.kill()
                self.process.wait(3000)

    def _on_event(self, ev: dict) -> None:
        kind = ev.get("event")
        self.charts.add_event(ev)
        if kind == "start":
            self.progress.setRange(0, max(1, int(ev.get("total_iterations") or 1)))
            self.status.setText(f"Training {ev['model']} on {ev['train_images']} images ({ev['device']}); "
                                f"{ev['weights']}.")
            self.refresh_runs()
        elif kind == "iteration":
            self.progress.setRange(0, max(1, ev["total_iterations"]))
            self.progress.setValue(ev["iteration"])
            self.status.setText(f"Epoch {ev['epoch']}/{ev['epochs']}, iteration {ev['iteration']}/"
                                f"{ev['total_iterations']}: loss {ev['loss']:.4f}, lr {ev['lr']:.2e}, "
                                f"{ev['images_per_s']:.1f} images/s, ETA {_duration(ev.get('eta_s'))}")
        elif kind == "validation":
            self.log.appendPlainText(f"Validation after epoch {ev['epoch']}: " + ", ".join(
                f"{k} {ev[k]:.3f}" for k in ("map", "map50", "segm_map", "miou") if k in ev))
        elif kind in ("warning", "info"):
            self.log.appendPlainText(f"{kind}: {ev['message']}")
        elif kind == "error":
            self.status.setText(f"Failed: {ev['message']}")
        elif kind == "checkpoint":
            self.refresh_runs()

    def _on_ended(self, code: int, status: str) -> None:
        if status == "failed":
            self.status.setText(f"Failed: {self.process.last_error or f'exit code {code}'}")
        else:
            self.status.setText(f"Run {status}.")
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if status == "finished" else 0)
        runs = self.refresh_runs()
        done = next((r for r in runs if str(r.path) == self.process.run_dir), None)
        if done is not None and done.usable_checkpoint is not None:
            self.checkpoint_ready.emit(done.model, str(done.usable_checkpoint))
        self._update_controls()

    def _update_controls(self) -> None:
        running = self.process.is_running()
        self.start_button.setEnabled(not running and self.project_root is not None)
        self.stop_button.setEnabled(running)
        run = self.runs.selected_run()
        self.use_button.setEnabled(run is not None and run.usable_checkpoint is not None)

    # ---- predicting with a run -------------------------------------------------------------------
    def use_selected_run(self) -> None:
        run = self.runs.selected_run()
        if run is not None and run.usable_checkpoint is not None:
            self.use_checkpoint(run.model, str(run.usable_checkpoint))

    def use_checkpoint(self, model: str, path: str) -> None:
        """Load a trained checkpoint into the Model dock (classes mapped onto the project's)."""
        if self.model_service is None:
            QMessageBox.information(self, "Training", f"Checkpoint: {path}")
            return
        self.model_service.load_checkpoint(model, path)


def install(ctx: FeatureContext) -> LazyPanel:
    """The Training dock; its view (whose model list imports torch) is built when first shown."""
    def build() -> TrainingView:
        view = TrainingView(ctx.services.optional("model"))
        ctx.session.project_opened.connect(view.set_store)
        ctx.session.project_closing.connect(lambda _store: view.set_store(None))
        ctx.host.add_shutdown_hook(view.shutdown)
        if ctx.session.store is not None:
            view.set_store(ctx.session.store)
        return view
    panel = LazyPanel(build)
    ctx.host.add_panel("training", "Training", panel, Qt.BottomDockWidgetArea).hide()
    ctx.host.menu("&Model").addAction("Train on this project…", lambda: ctx.host.show_panel("training"))
    return panel


FEATURE = Feature("training", install, optional=("model",))
