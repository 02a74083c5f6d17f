"""The Model dock: choose a model, its weights, device, precision and score threshold; load it on the
engine thread; predict the image shown, all images or the unlabelled ones into a run of predictions.

Predictions are stored as status="prediction" annotations of a model run; the canvas draws them dashed
and accepts or rejects them. Class names the model predicts that the project lacks are added to the
project as categories (the panel says so), unless the model's classes are mapped onto the project's.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from annotations.model import PREDICTION

from .bridge import BatchResult, EngineBridge, ImageResult
from .choices import offer_choice
from .first_seen import WhenFirstSeen
from .features import Feature, FeatureContext
from .session import Session
from .forms import fit_form

TASK_TITLES = {"detection": "Detection", "instance": "Instance segmentation", "semantic": "Semantic segmentation"}
WEIGHTS = (("default", "Default (torchvision)"), ("random", "Random (train from scratch)"),
           ("checkpoint", "Checkpoint file…"))
CHECKPOINT_FILTER = "Checkpoints (*.pth *.pt *.ckpt *.tar);;All files (*)"
CATEGORY_RULE = ("Classes the model predicts that the project lacks never become categories on their own: "
                 "they wait in the run until you add them. Predictions stay proposals until accepted.")
ERROR_STYLE = "color: #d04040;"


class ModelPanel(QWidget):
    def __init__(self, bridge: EngineBridge, session: Session, edits=None, parent: QWidget | None = None):
        """edits: the canvas's label edits (accept/reject predictions), when there is a canvas."""
        super().__init__(parent)
        self.bridge = bridge
        self.session = session
        self.edits = edits
        self.store = None
        self.cuda = False
        self.models: dict[str, dict] = {}
        self._batch_request = 0
        self._image_requests: set[int] = set()  # this panel's image requests (not the live view's frames)
        self._loading = False
        self._build()
        bridge.capabilities.connect(self._on_capabilities)
        bridge.model_loaded.connect(self._on_loaded)
        bridge.model_failed.connect(self._on_load_failed)
        bridge.result.connect(self._on_result)
        bridge.failed.connect(self._on_failed)
        bridge.progress.connect(self._on_progress)
        # Asking the engine imports torch on the engine thread: only once the panel is really seen.
        self._seen = WhenFirstSeen(self, lambda: self.bridge.describe_engine())
        self._update_controls()

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setModel(QStandardItemModel(self.model_combo))
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.model_help = QLabel("Asking the engine which models exist…", wordWrap=True)
        self.weights_combo = QComboBox()
        for key, text in WEIGHTS:
            self.weights_combo.addItem(text, key)
        self.weights_combo.currentIndexChanged.connect(self._on_weights_changed)
        self.checkpoint_edit = QLineEdit(placeholderText="Checkpoint file (.pth)")
        self.checkpoint_button = QPushButton("Browse…")
        self.checkpoint_button.clicked.connect(self._browse_checkpoint)
        self.device_combo = QComboBox()
        self.device_combo.setModel(QStandardItemModel(self.device_combo))
        for d in ("auto", "cpu", "cuda"):
            self.device_combo.model().appendRow(QStandardItem(d))
        self.device_combo.currentIndexChanged.connect(lambda _: self._update_controls())
        self.precision_combo = QComboBox()
        self.precision_combo.setModel(QStandardItemModel(self.precision_combo))
        for p in ("fp32", "fp16"):
            self.precision_combo.model().appendRow(QStandardItem(p))
        self.threshold_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2, value=0.5)
        self.threshold_spin.valueChanged.connect(self._on_threshold_changed)
        self.map_check = QCheckBox("Map classes to the project's")
        self.map_check.setToolTip("Map the model's classes onto the project's categories by name: for checkpoints "
                                  "trained on this project's classes. Off: the model keeps its own classes and "
                                  "predicted ones missing from the project are added.")
        self.load_button = QPushButton("Load model")
        self.load_button.clicked.connect(self.load)
        self.status_label = QLabel("No model loaded.", wordWrap=True)
        self.status_label.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.predict_image_button = QPushButton("Predict this image")
        self.predict_image_button.clicked.connect(self.predict_current_image)
        self.predict_all_button = QPushButton("Predict all images")
        self.predict_all_button.clicked.connect(lambda: self.predict_images(unlabelled_only=False))
        self.predict_unlabelled_button = QPushButton("Predict unlabelled images")
        self.predict_unlabelled_button.clicked.connect(lambda: self.predict_images(unlabelled_only=True))
        self.auto_check = QCheckBox("Predict each image shown")
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.accept_button = QPushButton("Accept all above threshold")
        self.accept_button.clicked.connect(self.accept_above_threshold)
        self.reject_button = QPushButton("Reject all")
        self.reject_button.clicked.connect(self.reject_all)
        self.result_label = QLabel("", wordWrap=True)
        self.result_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        rule = QLabel(CATEGORY_RULE, wordWrap=True)
        rule.setStyleSheet("color: gray;")

        checkpoint_row = QHBoxLayout()
        checkpoint_row.addWidget(self.checkpoint_edit, 1)
        checkpoint_row.addWidget(self.checkpoint_button)
        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("", self.model_help)
        form.addRow("Weights", self.weights_combo)
        form.addRow("", checkpoint_row)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Score threshold", self.threshold_spin)
        fit_form(form)
        model_box = QGroupBox("Model")
        model_layout = QVBoxLayout(model_box)
        model_layout.addLayout(form)
        model_layout.addWidget(self.map_check)
        model_layout.addWidget(self.load_button)
        model_layout.addWidget(self.status_label)

        predict_box = QGroupBox("Predict")
        p = QVBoxLayout(predict_box)
        for w in (self.predict_image_button, self.predict_all_button, self.predict_unlabelled_button, self.auto_check):
            p.addWidget(w)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)
        p.addLayout(progress_row)
        review_row = QHBoxLayout()
        review_row.addWidget(self.accept_button)
        review_row.addWidget(self.reject_button)
        p.addLayout(review_row)
        p.addWidget(self.result_label)
        self.add_classes_button = QPushButton("Add these classes as categories")
        self.add_classes_button.setToolTip("The run's predictions of classes the project lacks become "
                                           "predictions of new categories of those names")
        self.add_classes_button.clicked.connect(self.add_pending_classes)
        self.add_classes_button.hide()
        p.addWidget(self.add_classes_button)
        self._pending_run: int | None = None
        p.addWidget(rule)

        layout = QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addWidget(predict_box)
        layout.addStretch(1)

    # ---- state -----------------------------------------------------------------------------------
    @property
    def model_name(self) -> str | None:
        return self.model_combo.currentData()

    @property
    def device(self) -> str:
        return self.device_combo.currentText()

    @property
    def fp16(self) -> bool:
        return self.precision_combo.currentText() == "fp16"

    def weights_source(self) -> str | None:
        """"default", "random", or the checkpoint path (None when no file is chosen)."""
        key = self.weights_combo.currentData()
        if key != "checkpoint":
            return key
        path = self.checkpoint_edit.text().strip()
        return path or None

    def _cuda_selected(self) -> bool:
        return self.device == "cuda" or (self.device == "auto" and self.cuda)

    def _update_controls(self) -> None:
        offer_choice(self.device_combo, 2, self.cuda, "CUDA is not available on this machine", 0)
        offer_choice(self.precision_combo, 1, self._cuda_selected(), "fp16 needs a CUDA device", 0)
        m = self.models.get(self.model_name or "")
        offer_choice(self.weights_combo, self.weights_combo.findData("default"),
                     m is None or bool(m.get("has_weights", True)),
                     "This model has no published weights: train it (Training tab), then load its checkpoint.",
                     self.weights_combo.findData("checkpoint"))
        checkpoint = self.weights_combo.currentData() == "checkpoint"
        self.checkpoint_edit.setVisible(checkpoint)
        self.checkpoint_button.setVisible(checkpoint)
        self.load_button.setEnabled(self.model_name is not None and not self._loading)
        loaded = bool(self.bridge.model_info) and not self._loading
        batch = self._batch_request != 0
        has_project = self.store is not None
        self.predict_image_button.setEnabled(loaded and has_project and self._image_id() is not None)
        self.predict_all_button.setEnabled(loaded and has_project and not batch)
        self.predict_unlabelled_button.setEnabled(loaded and has_project and not batch)
        self.cancel_button.setEnabled(batch)
        self.accept_button.setVisible(self.edits is not None)
        self.reject_button.setVisible(self.edits is not None)

    def set_store(self, store) -> None:
        self.store = store
        self._update_controls()

    def _image_id(self) -> int | None:
        return self.session.image_id

    @Slot(object)
    def on_image_shown(self, image_id: int | None) -> None:
        self._update_controls()
        if image_id is None:
            return
        if self.auto_check.isChecked() and self.bridge.model_info and self.store is not None:
            self._image_requests.add(self.bridge.predict_image(image_id))

    # ---- engine answers ----------------------------------------------------------------------------
    @Slot(dict)
    def _on_capabilities(self, caps: dict) -> None:
        self.cuda = bool(caps.get("cuda"))
        items: QStandardItemModel = self.model_combo.model()
        items.clear()
        models = caps.get("models", [])
        self.models = {m["name"]: m for m in models}
        for task, title in TASK_TITLES.items():
            group = [m for m in models if m["task"] == task]
            if not group:
                continue
            header = QStandardItem(title)
            header.setEnabled(False)
            header.setSelectable(False)
            items.appendRow(header)
            for m in group:
                item = QStandardItem(f"   {m['name']}")
                item.setData(m["name"], Qt.UserRole)
                item.setToolTip(m.get("description", ""))
                items.appendRow(item)
        first = next((i for i in range(items.rowCount()) if items.item(i).data(Qt.UserRole)), -1)
        self.model_combo.setCurrentIndex(first)
        device = f"CUDA: {caps['cuda_name']}" if self.cuda else "No CUDA device: models run on the CPU."
        self.model_help.setText(caps["error"] if caps.get("error") else device)
        self._update_controls()

    def _on_model_changed(self, _index: int) -> None:
        m = self.models.get(self.model_name or "")
        if m is not None:
            self.threshold_spin.blockSignals(True)
            self.threshold_spin.setValue(float(m.get("default_score", 0.5)))
            self.threshold_spin.blockSignals(False)
            self.model_help.setText(m.get("description", "") or TASK_TITLES.get(m["task"], ""))
        self._update_controls()

    def _on_weights_changed(self, _index: int) -> None:
        if self.weights_combo.currentData() == "checkpoint" and not self.checkpoint_edit.text():
            self._browse_checkpoint()
        self._update_controls()

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.checkpoint_edit.setText(path)

    @Slot(dict)
    def _on_loaded(self, info: dict) -> None:
        self._loading = False
        self._status(loaded_text(info), False)
        self.status_label.setToolTip(info.get("description", ""))
        self._update_controls()

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._loading = False
        self._status(message, True)
        self._update_controls()

    @Slot(int, object)
    def _on_result(self, rid: int, payload) -> None:
        if isinstance(payload, ImageResult):
            self._image_requests.discard(rid)
            if payload.run_id is None:
                text = f"{len(payload.prediction.labels)} predictions (not stored: no project)"
            else:
                text = f"{len(payload.stored_ids)} predictions stored in run {payload.run_id}"
            self._result(f"{text} for image {payload.image_id}, in {payload.seconds:.2f} s.", False)
            self._offer_pending(payload.run_id)
        elif isinstance(payload, BatchResult) and rid == self._batch_request:
            self._batch_request = 0
            if payload.cancelled:
                text = (f"Cancelled after {payload.images} of {payload.total} images; the {payload.stored} "
                        f"predictions so far are kept in run {payload.run_id}.")
            else:
                text = (f"Predicted {payload.images} of {payload.total} images in {payload.seconds:.1f} s: "
                        f"{payload.stored} predictions stored in run {payload.run_id}.")
            if payload.problems:
                text += "\nNot read: " + "; ".join(payload.problems[:5])
                if len(payload.problems) > 5:
                    text += f" (and {len(payload.problems) - 5} more)"
            self._result(text, bool(payload.problems))
            self._offer_pending(payload.run_id)
            self._update_controls()

    @Slot(int, str)
    def _on_failed(self, rid: int, message: str) -> None:
        if rid == self._batch_request:
            self._batch_request = 0
        elif rid not in self._image_requests and rid != 0:
            return  # a live frame: the live view shows its own failures
        self._image_requests.discard(rid)
        self._result(message, True)
        self._update_controls()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setMaximum(max(total, 1))
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(f"{done} / {total} images")

    def _status(self, text: str, failed: bool) -> None:
        self.status_label.setStyleSheet(ERROR_STYLE if failed else "")
        self.status_label.setText(text)

    def _offer_pending(self, run_id: int | None) -> None:
        """Say which predicted classes the project lacks (kept in the run), and offer to add them."""
        from engine.prediction_store import pending_classes
        pending = pending_classes(self.store, run_id) if self.store is not None and run_id is not None else {}
        self._pending_run = run_id if pending else None
        self.add_classes_button.setVisible(bool(pending))
        if pending:
            kept = ", ".join(f"{name} ({n})" for name, n in pending.items())
            self.result_label.setText(self.result_label.text() + f"\nKept in run {run_id}, not in the project: {kept}.")

    @Slot()
    def add_pending_classes(self) -> None:
        from annotations.store import StoreError
        from engine.prediction_store import accept_run_categories, pending_classes
        run_id = self._pending_run
        if self.store is None or run_id is None:
            return
        names = list(pending_classes(self.store, run_id))
        try:
            ids = accept_run_categories(self.store, run_id, names)
        except StoreError as e:
            self._result(str(e), True)
            return
        self._result(f"Added {', '.join(names)} as categories; {len(ids)} predictions of run {run_id} with them.",
                     False)
        self._pending_run = None
        self.add_classes_button.hide()

    def _result(self, text: str, failed: bool) -> None:
        self.result_label.setStyleSheet(ERROR_STYLE if failed else "")
        self.result_label.setText(text)

    # ---- actions -----------------------------------------------------------------------------------
    @Slot()
    def load(self) -> int | None:
        name, source = self.model_name, self.weights_source()
        if name is None:
            return None
        if source is None:
            self._status("Choose a checkpoint file first (Weights: Checkpoint file…).", True)
            return None
        self._loading = True
        self._status(f"Loading {name} ({source}) on {self.device}…", False)
        self._update_controls()
        return self.bridge.load_model(name, source, self.device, self.fp16, self.threshold_spin.value(),
                                      map_to_project=self.map_check.isChecked())

    def _on_threshold_changed(self, value: float) -> None:
        if self.bridge.model_info:
            self.bridge.set_score_threshold(value)

    @Slot()
    def predict_current_image(self) -> int | None:
        image_id = self._image_id()
        if image_id is None:
            self._result("No image is shown.", True)
            return None
        self._result(f"Predicting image {image_id}…", False)
        rid = self.bridge.predict_image(image_id)
        self._image_requests.add(rid)
        return rid

    def predict_images(self, unlabelled_only: bool = False) -> int:
        self.progress_bar.setValue(0)
        self._batch_request = self.bridge.predict_images(None, unlabelled_only=unlabelled_only)
        self._result("Predicting unlabelled images…" if unlabelled_only else "Predicting all images…", False)
        self._update_controls()
        return self._batch_request

    @Slot()
    def cancel(self) -> None:
        self.bridge.cancel()
        self._result("Cancelling…", False)

    @Slot()
    def accept_above_threshold(self) -> None:
        if self.edits is not None:
            self.edits.accept_predictions_above(self.threshold_spin.value())

    @Slot()
    def reject_all(self) -> None:
        image_id = self._image_id()
        if self.edits is not None and self.store is not None and image_id is not None:
            self.edits.reject_predictions([a.id for a in self.store.annotations(image_id=image_id, status=PREDICTION)])

    def load_checkpoint(self, model: str, path: str) -> None:
        """Choose `model` with the checkpoint at `path` (classes mapped onto the project's) and load it."""
        i = self.model_combo.findData(model)
        if i >= 0:
            self.model_combo.setCurrentIndex(i)
        self.checkpoint_edit.setText(path)
        self.weights_combo.setCurrentIndex(self.weights_combo.findData("checkpoint"))
        self.map_check.setChecked(True)
        self.load()


def loaded_text(info: dict) -> str:
    """What the panel says about a loaded model: each fact once (name and weights, device and
    precision, class mapping, a note), a checkpoint by its file name."""
    source = str(info.get("source") or info.get("weights") or "")
    if "/" in source or "\\" in source:
        source = Path(source).name
    lines = [f"Loaded {info['name']}" + (f" ({source})" if source else ""),
             f"{info.get('device_name') or info.get('device', '?')} · {info.get('precision', 'fp32')}"]
    if info.get("mapping"):
        lines.append(f"Classes: {info['mapping']}")
    if info.get("note"):
        lines.append(info["note"])
    return "\n".join(lines)


class ModelService:
    """What other features may ask of the Model dock."""

    def __init__(self, panel: ModelPanel, host):
        self._panel, self._host = panel, host

    def load_checkpoint(self, model: str, path: str) -> None:
        """Load a trained checkpoint for prediction and bring the Model dock to the front."""
        self._panel.load_checkpoint(model, path)
        self._host.show_panel("model")

    def set_threshold(self, value: float) -> None:
        """The score threshold predictions are kept and shown above (the user's default, from the settings)."""
        self._panel.threshold_spin.setValue(value)

    def on_model_chosen(self, slot) -> None:
        """slot() after the dock picked another model (which sets that model's own default threshold)."""
        self._panel.model_combo.currentIndexChanged.connect(slot)


def install(ctx: FeatureContext) -> ModelPanel:
    panel = ModelPanel(ctx.services.get("engine"), ctx.session, ctx.services.optional("edits"))
    ctx.host.add_panel("model", "Model", panel)
    ctx.session.project_opened.connect(panel.set_store)
    ctx.session.project_closing.connect(lambda _store: panel.set_store(None))
    ctx.session.image_changed.connect(panel.on_image_shown)
    if ctx.session.store is not None:
        panel.set_store(ctx.session.store)
    edits = ctx.services.optional("edits")
    if edits is not None:  # predictions under the threshold get no caption
        panel.threshold_spin.valueChanged.connect(edits.set_caption_threshold)
        edits.set_caption_threshold(panel.threshold_spin.value())
    ctx.services.provide("model", ModelService(panel, ctx.host))
    return panel


FEATURE = Feature("model", install, requires=("engine",), optional=("edits",), provides=("model",))
