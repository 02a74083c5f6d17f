"""The dock's views of one layer: its feature maps as a grid (top-k channels by mean activation, with
the activation statistics: spatial size, channels, sparsity) and a filter's visualisation by gradient
ascent in input space (engine.explain.visualise_filter). Both run on the engine thread through the
dock's TaskRunner and show only what a finished task returned."""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout,
                               QWidget)

from .cards import rgb_pixmap
from .runner import TaskRunner
from .tasks import FeatureOutcome, feature_task, filter_task

SIDE = 230
FLAT = 2.0  # grey levels: a visualisation this flat means the channel never answered


def _picture() -> QLabel:
    label = QLabel(alignment=Qt.AlignCenter)
    label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
    label.setMinimumSize(80, 80)
    return label


def _beside(controls: list, picture: QLabel, owner: QWidget) -> None:
    """The controls in a column (at most SIDE px wide) beside the picture, which takes the rest."""
    column = QVBoxLayout()
    for c in controls:
        (column.addLayout if hasattr(c, "addRow") else column.addWidget)(c)
    column.addStretch(1)
    side = QWidget()
    side.setLayout(column)
    side.setMaximumWidth(SIDE)
    lay = QHBoxLayout(owner)
    lay.setContentsMargins(2, 2, 2, 2)
    lay.addWidget(side)
    lay.addWidget(picture, 1)


def _fit(picture: QLabel, pm, smooth: bool) -> None:
    if pm is not None and not pm.isNull():
        mode = Qt.SmoothTransformation if smooth else Qt.FastTransformation  # feature tiles stay crisp
        picture.setPixmap(pm.scaled(max(16, picture.width()), max(16, picture.height()), Qt.KeepAspectRatio, mode))


def stats_text(o: FeatureOutcome) -> str:
    s = o.stats
    levels = f", {s['levels']} pyramid levels (level 0 shown)" if s.get("levels", 1) > 1 else ""
    return (f"{o.layer}: {s['channels']} channels of {s['height']} x {s['width']}{levels}; "
            f"sparsity {s['sparsity']:.0%} (activations exactly 0), mean {s['mean']:.3f}, max {s['max']:.3f}.\n"
            f"Tiles: channels {', '.join(str(c) for c in o.channels)} (by mean activation).")


class FeatureView(QWidget):
    def __init__(self, runner: TaskRunner, layer: Callable[[], str], image_path: Callable[[], str | None],
                 say: Callable[[str, bool], None], parent=None):
        super().__init__(parent)
        self.runner, self._layer, self._image_path, self._say = runner, layer, image_path, say
        self.outcome: FeatureOutcome | None = None
        self.k_spin = QSpinBox(minimum=1, maximum=64, value=16)
        self.show_button = QPushButton("Show feature maps")
        self.show_button.setToolTip("The layer's channels with the largest mean activation on the image shown")
        self.show_button.clicked.connect(self.show_maps)
        self.picture = _picture()
        self.stats_label = QLabel("Pick a layer above and press Show.", wordWrap=True)
        self.stats_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Channels (top k)", self.k_spin)
        _beside([form, self.show_button, self.stats_label], self.picture, self)

    def show_maps(self) -> int | None:
        path, layer = self._image_path(), self._layer()
        if path is None or not layer:
            self._say("Open an image and pick a layer first." if path is None else "Pick a layer first.", True)
            return None
        return self.runner.start(feature_task(path, layer, self.k_spin.value()), self._shown,
                                 f"Feature maps of {layer}")

    def _shown(self, o: FeatureOutcome) -> None:
        self.outcome = o
        grey = (np.clip(o.grid, 0, 1) * 255).astype(np.uint8)
        self._pixmap = rgb_pixmap(np.repeat(grey[..., None], 3, axis=2))
        _fit(self.picture, self._pixmap, False)
        self.stats_label.setText(stats_text(o))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        _fit(self.picture, getattr(self, "_pixmap", None), False)


class FilterView(QWidget):
    def __init__(self, runner: TaskRunner, layer: Callable[[], str], say: Callable[[str, bool], None], parent=None):
        super().__init__(parent)
        self.runner, self._layer, self._say = runner, layer, say
        self.image: np.ndarray | None = None
        self.channel_spin = QSpinBox(minimum=0, maximum=4095, value=0)
        self.steps_spin = QSpinBox(minimum=1, maximum=2000, value=48)
        self.size_spin = QSpinBox(minimum=32, maximum=512, value=96, singleStep=16)
        self.run_button = QPushButton("Visualise filter")
        self.run_button.setToolTip("Gradient ascent in input space (jitter, scaling, rotation, blur) towards the "
                                   "image that most activates this channel of the layer")
        self.run_button.clicked.connect(self.visualise)
        self.picture = _picture()
        self.note = QLabel("", wordWrap=True)
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Channel", self.channel_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("Size (px)", self.size_spin)
        _beside([form, self.run_button, self.note], self.picture, self)

    def visualise(self) -> int | None:
        layer = self._layer()
        if not layer:
            self._say("Pick a layer first.", True)
            return None
        channel = self.channel_spin.value()
        self._asked = (layer, channel)
        return self.runner.start(filter_task(layer, channel, self.steps_spin.value(), self.size_spin.value()),
                                 self._shown, f"Filter {channel} of {layer}")

    def _shown(self, image: np.ndarray) -> None:
        self.image = image
        self._pixmap = rgb_pixmap(image)
        _fit(self.picture, self._pixmap, True)
        layer, channel = self._asked
        if float(image.std()) < FLAT:
            self.note.setText(f"Channel {channel} of {layer} stayed silent (no gradient reached the image): "
                              "try an earlier layer or another channel.")
        else:
            self.note.setText(f"What most activates channel {channel} of {layer} ({self.steps_spin.value()} steps).")

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        _fit(self.picture, getattr(self, "_pixmap", None), True)
