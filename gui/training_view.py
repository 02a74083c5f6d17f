"""The Training dock: pick a model, data and options; Start runs `main.py train` in a child process;
live charts of losses, learning rate and validation; Stop saves and ends; the project's runs are
listed (the running one from its start), a run's best checkpoint (else its last, e.g. of a stopped
run) loads into the Model panel to predict at once, and a stopped run resumes where it stopped.

A feature (gui/features.py): it asks the "model" service to load a checkpoint, and its view offers
  runs_changed(list[RunInfo])      the project's runs were re-read (after any run event that matters)
  checkpoint_ready(str, str)       a run ended with a usable checkpoint: (model name, checkpoint path)
  checkpoints() -> list[(label, model name, path)]   usable checkpoints of the project's runs, newest first
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QVBoxLayout, QWidget)

from annotations.wording import duration
from engine.training.runs import RunInfo, list_runs, new_run_dir

from .features import Feature, FeatureContext, LazyPanel
from .training.charts import RunCharts
from .training.form import TrainForm
from .training.process import TrainingProcess
from .training.runs_table import RunsTable

FORM_WIDTH = 380


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
        self._stopping = False  # Stop was asked for the running child
        self.form = TrainForm()
        self.start_button = QPushButton("Start training")
        self.stop_button = QPushButton("Stop (save and end)")
        self.stop_button.setToolTip("Save a resumable checkpoint and end; the run can predict and be resumed")
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.status = QLabel("No run.")
        self.status.setWordWrap(True)
        self.charts = RunCharts()
        self.runs = RunsTable()
        self.use_button = QPushButton("Predict with the selected run")
        self.use_button.setToolTip("Load the run's best checkpoint (else its last one) into the Model panel")
        self.resume_button = QPushButton("Resume the selected run")
        self.resume_button.setToolTip("Go on from the run's last checkpoint with the very same options "
                                      "(main.py train --resume RUN_DIR)")
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)
        self._build()

        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(self.use_selected_run)
        self.resume_button.clicked.connect(lambda: self.resume())
        self.form.val_split.currentIndexChanged.connect(self._val_split_changed)
        self.runs.itemSelectionChanged.connect(self._update_controls)
        self.process.event.connect(self._on_event)
        self.process.log.connect(self.log.appendPlainText)
        self.process.ended.connect(self._on_ended)
        self._update_controls()

    def _build(self) -> None:
        """Buttons and progress on top of the form (never scrolled away); charts, runs and log as
        tabs beside it: a bottom dock is wide and short."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        lv.addLayout(buttons)
        lv.addWidget(self.progress)
        lv.addWidget(self.status)
        lv.addWidget(scroll, 1)
        runs_box = QWidget()
        rv = QVBoxLayout(runs_box)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.runs, 1)
        row = QHBoxLayout()
        row.addWidget(self.use_button)
        row.addWidget(self.resume_button)
        rv.addLayout(row)
        self.charts.addTab(runs_box, "Runs")
        self.charts.addTab(self.log, "Log")
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(self.charts)
        split.setStretchFactor(1, 2)
        split.setSizes([FORM_WIDTH, 2 * FORM_WIDTH])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(split)

    def _val_split_changed(self, _index: int) -> None:
        if not self.process.is_running() and not self.charts.validation.series:
            self.charts.set_validation_split(self.form.val_split.currentData() or "")

    def sizeHint(self) -> QSize:
        return QSize(1000, 320)

    # ---- project ---------------------------------------------------------------------------------
    def set_store(self, store) -> None:
        self.project_root = None if store is None else Path(store.root)
        if store is not None:
            self.form.set_splits(sorted({r.split for r in store.images() if r.split}))
        self.refresh_runs()

    def refresh_runs(self) -> list[RunInfo]:
        runs = list_runs(self.project_root) if self.project_root is not None else []
        if self.process.is_running() and self.process.run_dir:
            # Listed from the first moment, before its run.json exists.
            if not any(str(r.path) == self.process.run_dir for r in runs):
                runs.insert(0, RunInfo(Path(self.process.run_dir), "starting", self.current_model,
                                       updated_at=time.time()))
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
        self.charts.set_validation_split(self.form.val_split.currentData() or "")
        self._launch(args, run_dir, f"Starting {self.current_model} in {run_dir.name}…")
        return run_dir

    def resume(self, run: RunInfo | None = None) -> Path | None:
        """Go on with a stopped run (the selected one by default) from its last checkpoint."""
        run = run or self.runs.selected_run()
        if self.project_root is None or self.process.is_running() or run is None or run.last_checkpoint is None:
            return None
        self.current_model = run.model
        args = ["--resume", str(run.path), "--project", str(self.project_root), "--log-every", str(self.log_every)]
        self.charts.set_validation_split(run.options.get("val_split") or "")
        self._launch(args, run.path, f"Resuming {run.name} from epoch {run.epoch}, iteration {run.iteration}…")
        return run.path

    def _launch(self, args: list[str], run_dir: Path, text: str) -> None:
        self.charts.clear()
        self.progress.setRange(0, 0)
        self.status.setText(text)
        self.log.appendPlainText("main.py train " + " ".join(args))
        self._stopping = False
        self.process.start(args, str(run_dir))
        self.refresh_runs()
        self.runs.select_path(str(run_dir))
        self._update_controls()

    def stop(self) -> None:
        """Ask the run to save and end, once: a second request would end it without saving."""
        if self.process.is_running() and not self._stopping:
            self._stopping = True
            self.status.setText("Stopping: saving a checkpoint…")
            self.process.stop()
            self._update_controls()

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
            self.runs.set_progress(self.process.run_dir, ev)
            self.progress.setRange(0, max(1, ev["total_iterations"]))
            self.progress.setValue(ev["iteration"])
            self.status.setText(f"Epoch {ev['epoch']}/{ev['epochs']}, iteration {ev['iteration']}/"
                                f"{ev['total_iterations']}: loss {ev['loss']:.4f}, lr {ev['lr']:.2e}, "
                                f"{ev['images_per_s']:.1f} images/s, ETA {duration(ev.get('eta_s'))}")
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
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if status == "finished" else 0)
        runs = self.refresh_runs()
        done = next((r for r in runs if str(r.path) == self.process.run_dir), None)
        if status == "failed":
            text = f"Failed: {self.process.last_error or f'exit code {code}'}"
        else:
            text = f"Run {status}."
        if done is not None:
            self.runs.select_path(str(done.path))  # Predict and Resume act on it at once
            if done.usable_checkpoint is not None:
                text += (f" {done.name} can predict now with {done.usable_checkpoint.name}"
                         f"{'; Resume goes on from where it stopped' if self._resumable(done) else ''}.")
        self.status.setText(text)
        if done is not None and done.usable_checkpoint is not None:
            self.checkpoint_ready.emit(done.model, str(done.usable_checkpoint))
        self._update_controls()

    def _resumable(self, run: RunInfo | None) -> bool:
        return (run is not None and run.last_checkpoint is not None and not self.process.is_running()
                and run.status not in ("finished", "early_stopped"))

    def _update_controls(self) -> None:
        running = self.process.is_running()
        self.start_button.setEnabled(not running and self.project_root is not None
                                     and self.form.model_combo.currentData() is not None)
        self.stop_button.setEnabled(running and not self._stopping)
        run = self.runs.selected_run()
        self.use_button.setEnabled(run is not None and run.usable_checkpoint is not None)
        self.resume_button.setEnabled(self._resumable(run))
        if run is not None and run.usable_checkpoint is not None:
            self.use_button.setText(f"Predict with {run.name} ({run.usable_checkpoint.name})")
        else:
            self.use_button.setText("Predict with the selected run")

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
    """The Training dock, built when first shown; its model list is the engine thread's answer."""
    def build() -> TrainingView:
        view = TrainingView(ctx.services.optional("model"))
        engine = ctx.services.optional("engine")
        if engine is not None:
            def offer(caps: dict) -> None:
                view.form.set_models(caps.get("models", []))
                view._update_controls()
            engine.capabilities.connect(offer)
            if engine.last_capabilities is not None:
                offer(engine.last_capabilities)
            else:
                engine.describe_engine()
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


FEATURE = Feature("training", install, optional=("model", "engine"))
