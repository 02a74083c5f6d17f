"""The window's message boxes (Host.warn and Host.inform): shown without blocking, and never taller
than a screen. A message of more than SHOWN_LINES lines shows its first lines and says how many
more there are under Show Details (an import's report with 20 warnings, each wrapped over three
lines, made a box taller than a 1280x800 screen, its OK button below the screen's edge)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

SHOWN_LINES = 8


def open_message(parent: QWidget, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
    """A window-modal box the caller does not wait for; it deletes itself when closed."""
    lines = text.splitlines()
    box = QMessageBox(icon, title, text, QMessageBox.Ok, parent)
    if len(lines) > SHOWN_LINES:
        rest = len(lines) - (SHOWN_LINES - 1)
        box.setText("\n".join(lines[:SHOWN_LINES - 1] + [f"... {rest} more lines: Show Details"]))
        box.setDetailedText(text)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.open()
    return box
