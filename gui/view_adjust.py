"""Brightness, contrast and gamma of the view: display only (the image file is never touched), kept
per project in QSettings under the project's root, and applied by the image layer as a lookup table
on the tiles it draws (gui.canvas.image_layer), so nothing is decoded again.

The "View adjustments" dock has one slider each and a reset button; View > Reset view adjustments
(a shortcut) resets them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSettings, QSignalBlocker, Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from .canvas.image_layer import ImageLayer, image_layer_of

SETTINGS_GROUP = "view_adjust"


@dataclass(frozen=True)
class Adjustments:
    brightness: int = 0  # -100..100: an offset of up to half the range
    contrast: int = 0  # -100..100: a factor 2 ** (contrast / 50) around mid grey
    gamma: int = 100  # 10..300: gamma / 100, applied first

    @property
    def identity(self) -> bool:
        return self == Adjustments()

    def clamped(self) -> "Adjustments":
        return Adjustments(int(min(max(self.brightness, -100), 100)), int(min(max(self.contrast, -100), 100)),
                           int(min(max(self.gamma, 10), 300)))

    def lut(self) -> np.ndarray | None:
        """The 256-entry uint8 table, or None for no change."""
        if self.identity:
            return None
        v = np.arange(256, dtype=np.float64) / 255.0
        v = v ** (100.0 / self.gamma)
        v = (v - 0.5) * 2.0 ** (self.contrast / 50.0) + 0.5 + self.brightness / 200.0
        return np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)


def _key(root) -> str:
    # One flat key per project: a path's slashes would otherwise nest QSettings groups.
    return f"{SETTINGS_GROUP}/{str(root).replace('/', '|')}"


def load(root, settings: QSettings | None = None) -> Adjustments:
    raw = (settings or QSettings()).value(_key(root))
    try:
        b, c, g = (int(x) for x in str(raw).split(","))
    except (TypeError, ValueError):
        return Adjustments()
    return Adjustments(b, c, g).clamped()


def save(root, adj: Adjustments, settings: QSettings | None = None) -> None:
    s = settings or QSettings()
    if adj.identity:
        s.remove(_key(root))
    else:
        s.setValue(_key(root), f"{adj.brightness},{adj.contrast},{adj.gamma}")


class ViewAdjustPanel(QWidget):
    """The sliders; every change goes to the image layer at once and into the project's settings."""

    SLIDERS = (("brightness", "Brightness", -100, 100), ("contrast", "Contrast", -100, 100),
               ("gamma", "Gamma", 10, 300))

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window = window
        self.session = window.session
        self.layer: ImageLayer = image_layer_of(window.canvas.scene)
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, title, lo, hi in self.SLIDERS:
            slider = QSlider(Qt.Horizontal)
            slider.setObjectName(name)
            slider.setRange(lo, hi)
            slider.valueChanged.connect(self._changed)
            value = QLabel("")
            value.setMinimumWidth(36)
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(title, row)
            self.sliders[name], self.values[name] = slider, value
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset)
        note = QLabel("Changes how the image looks here only; the file is never changed.")
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.reset_button, 0, Qt.AlignLeft)
        lay.addWidget(note)
        lay.addStretch(1)
        self.session.project_opened.connect(lambda store: self.set_adjustments(load(store.root)))
        self.session.project_closing.connect(lambda _store: self.set_adjustments(Adjustments(), persist=False))
        self.set_adjustments(load(self.session.store.root) if self.session.store is not None else Adjustments(),
                             persist=False)

    def adjustments(self) -> Adjustments:
        s = self.sliders
        return Adjustments(s["brightness"].value(), s["contrast"].value(), s["gamma"].value())

    def set_adjustments(self, adj: Adjustments, persist: bool = True) -> None:
        adj = adj.clamped()
        for name, slider in self.sliders.items():
            with QSignalBlocker(slider):
                slider.setValue(getattr(adj, name))
        self._apply(persist)

    def reset(self) -> None:
        self.set_adjustments(Adjustments())

    def _changed(self, _value: int) -> None:
        self._apply(True)

    def _apply(self, persist: bool) -> None:
        adj = self.adjustments()
        for name, label in self.values.items():
            v = getattr(adj, name)
            label.setText(f"{v / 100:.2f}" if name == "gamma" else f"{v:+d}")
        self.layer.set_lut(adj.lut())
        store = self.session.store
        if persist and store is not None:
            save(store.root, adj)


def install(window) -> ViewAdjustPanel:
    """The dock (hidden until asked for, listed in the View menu) and the reset command."""
    panel = ViewAdjustPanel(window)
    dock = window.add_panel("view_adjust", "View adjustments", panel)
    dock.hide()
    dock.toggleViewAction().triggered.connect(lambda on: dock.raise_() if on else None)  # its tab to the front
    window.labelling.action("view.reset_adjust", panel.reset, "&View")
    return panel
