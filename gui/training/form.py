"""The options of a new run: model, starting weights, data split and training options, with the
model family's defaults filled in whenever the model or the starting weights change."""
from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from engine.training.options import TrainOptions, family_defaults

from ..choices import offer_choice
from ..forms import fit_form

RECOMMENDED = "fcos_compact_fpn"  # fastest to train from scratch on a CPU
SOURCES = (("random", "Random (from scratch)"), ("default", "torchvision weights"), ("checkpoint", "Checkpoint file…"))


class TrainForm(QWidget):
    """The model list comes from the engine thread's answer (`set_models`, the engine's `capabilities`),
    never from importing the registry here: that would import torch on the GUI thread."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        form = QFormLayout(self)
        self.model_combo = QComboBox()
        self.model_combo.setPlaceholderText("Asking the engine which models exist...")
        self._published: dict[str, bool] = {}
        self._tasks: dict[str, str] = {}
        self.source_combo = QComboBox()
        for key, text in SOURCES:
            self.source_combo.addItem(text, key)
        self.checkpoint_edit = QLineEdit(placeholderText="checkpoint to start from")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        ck_row = QHBoxLayout()
        ck_row.addWidget(self.checkpoint_edit, 1)
        ck_row.addWidget(browse)
        self.train_split = QComboBox()
        self.val_split = QComboBox()
        self.epochs = self._spin(1, 10000)
        self.batch = self._spin(1, 512)
        self.image_size = self._spin(64, 4096, step=32)
        self.lr = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=10.0, singleStep=1e-4)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["sgd", "adamw"])
        self.schedule = QComboBox()
        self.schedule.addItems(["cosine", "step", "constant"])
        self.warmup = self._spin(0, 100000)
        self.freeze = self._spin(0, 1000)
        self.early = self._spin(0, 1000)
        self.seed = self._spin(0, 2**31 - 1)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.amp = QCheckBox("Mixed precision")
        self.amp.setToolTip("fp16 on CUDA, bfloat16 on CPUs that have it (else fp32)")
        self.augment = QCheckBox("Augment")
        self.augment.setToolTip("Random flip, zoom, crop and colour changes")
        self.negatives = QCheckBox("Background images")
        self.negatives.setToolTip("Images without labels train as background (teaches what is not an object)")
        form.addRow("Model", self.model_combo)
        form.addRow("Start from", self.source_combo)
        form.addRow("", ck_row)
        self._ck_widgets = (self.checkpoint_edit, browse)
        form.addRow("Train on split", self.train_split)
        form.addRow("Validate on split", self.val_split)
        for label, w, tip in (("Epochs", self.epochs, ""), ("Batch size", self.batch, ""),
                              ("Image size", self.image_size, "Longest side in pixels"),
                              ("Optimizer", self.optimizer, ""), ("Learning rate", self.lr, ""),
                              ("LR schedule", self.schedule, ""), ("Warmup", self.warmup, "Warmup iterations"),
                              ("Frozen epochs", self.freeze, "Epochs with the backbone frozen"),
                              ("Early stop", self.early, "Stop after this many validations without improvement "
                                                         "(0 = never)"),
                              ("Seed", self.seed, ""), ("Device", self.device, "")):
            form.addRow(label, w)
            if tip:
                w.setToolTip(tip)
                form.labelForField(w).setToolTip(tip)
        form.addRow("", self.amp)
        form.addRow("", self.augment)
        form.addRow("", self.negatives)
        fit_form(form)
        self.augment.setChecked(True)
        self.model_combo.currentIndexChanged.connect(self.apply_defaults)
        self.source_combo.currentIndexChanged.connect(self.apply_defaults)
        self.set_splits(["train", "val"])
        self._set_fields_enabled(False)
        self.apply_defaults()

    def set_models(self, models: list[dict]) -> None:
        """The engine's models ({name, task, description, has_weights}); keeps the chosen one, else
        preselects the one fastest to train on a CPU."""
        current = self.model_combo.currentData() or RECOMMENDED
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for m in models:
            self.model_combo.addItem(m["name"], m["name"])
            self.model_combo.setItemData(self.model_combo.count() - 1, m.get("description") or m["name"], 3)
            self._published[m["name"]] = bool(m.get("has_weights", True))
            self._tasks[m["name"]] = m.get("task", "detection")
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(current), 0) if models else -1)
        self.model_combo.blockSignals(False)
        self._set_fields_enabled(bool(models))
        self.apply_defaults()

    def _set_fields_enabled(self, on: bool) -> None:
        """Until the engine has listed its models, the fields (not yet the model's defaults) are off."""
        for w in self.findChildren(QWidget):
            if w is not self.model_combo and w.parentWidget() is self:
                w.setEnabled(on)

    @staticmethod
    def _spin(lo: int, hi: int, step: int = 1) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setSingleStep(step)
        return s

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Start from checkpoint", "", "Checkpoints (*.pt *.pth);;All (*)")
        if path:
            self.checkpoint_edit.setText(path)

    def set_splits(self, splits: list[str]) -> None:
        """Offer the project's splits; '' (all other images / no validation) is always there."""
        for combo, want, none_text in ((self.train_split, "train", "(all but validation)"),
                                       (self.val_split, "val", "(no validation)")):
            current = combo.currentData() if combo.count() else want
            combo.clear()
            for s in [x for x in splits if x]:
                combo.addItem(s, s)
            combo.addItem(none_text, "")
            i = combo.findData(current)
            combo.setCurrentIndex(i if i >= 0 else max(combo.findData(want), 0))

    def source(self) -> str:
        key = self.source_combo.currentData()
        return self.checkpoint_edit.text().strip() if key == "checkpoint" else key

    def apply_defaults(self) -> None:
        """The family's sensible defaults for the chosen model and starting weights."""
        name = self.model_combo.currentData()
        if name is None:  # the engine has not answered yet
            return
        offer_choice(self.source_combo, self.source_combo.findData("default"),
                     self._published.get(name, True),
                     "This model has no published weights; it trains from random weights or from a checkpoint.",
                     self.source_combo.findData("random"))
        key = self.source_combo.currentData()
        for w in self._ck_widgets:
            w.setVisible(key == "checkpoint")
        d = {**TrainOptions().to_dict(), **family_defaults(name, key != "random", self._tasks.get(name))}
        self.epochs.setValue(d["epochs"])
        self.batch.setValue(d["batch_size"])
        self.image_size.setValue(d["image_size"])
        self.lr.setValue(d["lr"])
        self.optimizer.setCurrentText(d["optimizer"])
        self.schedule.setCurrentText(d["schedule"])
        self.warmup.setValue(d["warmup_iters"])
        self.freeze.setValue(d["freeze_backbone_epochs"])
        self.early.setValue(d["early_stopping"])
        self.seed.setValue(d["seed"])
        self.amp.setChecked(bool(d["amp"]))

    def arguments(self) -> list[str]:
        """`main.py train` options for what the form shows (project and --out are the view's)."""
        args = ["--model", self.model_combo.currentData(), "--source", self.source(),
                "--train-split", self.train_split.currentData(), "--val-split", self.val_split.currentData(),
                "--epochs", str(self.epochs.value()), "--batch-size", str(self.batch.value()),
                "--image-size", str(self.image_size.value()), "--optimizer", self.optimizer.currentText(),
                "--lr", repr(self.lr.value()), "--schedule", self.schedule.currentText(),
                "--warmup-iters", str(self.warmup.value()), "--freeze-backbone-epochs", str(self.freeze.value()),
                "--early-stopping", str(self.early.value()), "--seed", str(self.seed.value()),
                "--device", self.device.currentText()]
        args.append("--amp" if self.amp.isChecked() else "--no-amp")
        if not self.augment.isChecked():
            args.append("--no-augment")
        if self.negatives.isChecked():
            args.append("--negatives")
        return args
