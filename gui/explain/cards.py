"""One explanation as the dock shows it: the map over the image (small), what it explains, and the
numbers that say whether to trust it -- deletion and insertion AUC (RISE: the target's score as the
map's pixels are removed / put back; low deletion and high insertion mean the map points at what the
score depends on) and the model-randomisation check (Adebayo et al.: with every layer re-initialised
the map must change; a high rank correlation means it does not explain the model)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QSizePolicy, QVBoxLayout

from .tasks import SANITY_BOUND, ExplainOutcome

GOOD, BAD = "color: #3c9a3c;", "color: #d04040;"


def rgb_pixmap(rgb: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888).copy())


def auc_text(o: ExplainOutcome) -> str:
    if o.deletion_auc is None:
        return "No faithfulness numbers (this method has no target)."
    verdict = "deletion < insertion: the map points at what the score needs" if o.deletion_auc < o.insertion_auc \
        else "deletion >= insertion: the map does not point at what the score needs"
    return f"Deletion AUC {o.deletion_auc:.3f} · Insertion AUC {o.insertion_auc:.3f}\n({verdict})"


def sanity_text(o: ExplainOutcome) -> tuple[str, bool | None]:
    if o.sanity is None:
        return "Sanity check not run.", None
    if o.meaningful:
        return (f"Sanity check: rank correlation {o.sanity:.2f} with random weights (< {SANITY_BOUND}): "
                "the map depends on what the model learned.", True)
    return (f"Sanity check: rank correlation {o.sanity:.2f} with random weights (>= {SANITY_BOUND}): "
            "the map barely changes without the learned weights; do not trust it.", False)


class MapCard(QFrame):
    show_requested = Signal(object)  # ExplainOutcome

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        self.title = title
        self.outcome: ExplainOutcome | None = None
        self.header = QLabel(f"{title}: nothing yet", wordWrap=True)
        self.header.setStyleSheet("font-weight: bold;")
        self.picture = QLabel(alignment=Qt.AlignCenter)
        self.picture.setMinimumSize(80, 60)
        self.picture.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.auc_label = QLabel("", wordWrap=True)
        self.sanity_label = QLabel("", wordWrap=True)
        self.show_button = QPushButton("Show on canvas")
        self.show_button.setEnabled(False)
        self.show_button.clicked.connect(lambda: self.outcome is not None and self.show_requested.emit(self.outcome))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        for w in (self.header, self.picture, self.auc_label, self.sanity_label, self.show_button):
            lay.addWidget(w, 1 if w is self.picture else 0)

    def set_outcome(self, o: ExplainOutcome) -> None:
        self.outcome = o
        layer = f" · {o.layer}" if o.layer else ""
        self.header.setText(f"{self.title}: {o.request.method}{layer} · {o.request.target.text()} ({o.seconds:.1f} s)")
        self._pixmap = rgb_pixmap(o.thumbnail) if o.thumbnail is not None else QPixmap()
        self._fit_picture()
        self.auc_label.setText(auc_text(o))
        text, good = sanity_text(o)
        self.sanity_label.setText(text)
        self.sanity_label.setStyleSheet("" if good is None else (GOOD if good else BAD))
        self.show_button.setEnabled(True)

    def clear(self) -> None:
        self.outcome = None
        self.header.setText(f"{self.title}: nothing yet")
        self.picture.clear()
        self.auc_label.setText("")
        self.sanity_label.setText("")
        self.show_button.setEnabled(False)

    def _fit_picture(self) -> None:
        pm = getattr(self, "_pixmap", None)
        if pm is not None and not pm.isNull():  # as large as the room left, never above its own size
            w, h = min(self.picture.width(), pm.width()), min(self.picture.height(), pm.height())
            self.picture.setPixmap(pm.scaled(max(w, 16), max(h, 16), Qt.KeepAspectRatio, Qt.SmoothTransformation))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit_picture()
