"""The label dialog (as labelme's): type a category with completion, or pick it from the list.

Opened by a double-click on a shape or Enter with shapes selected. Never blocks: open() it and
listen to `chosen(name)`. A name the project lacks is offered as a new category (the person typed
it: that is the consent to add it).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCompleter, QDialog, QDialogButtonBox, QLabel, QLineEdit, QListWidget, QVBoxLayout,
                               QWidget)


class LabelDialog(QDialog):
    chosen = Signal(str)

    def __init__(self, names: list[str], current: str | None, count: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Label")
        self.names = list(names)
        self.edit = QLineEdit(current or "")
        self.edit.selectAll()
        completer = QCompleter(self.names, self)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        completer.setFilterMode(Qt.MatchContains)
        self.edit.setCompleter(completer)
        self.list = QListWidget()
        self.list.addItems(self.names)
        if current in self.names:
            self.list.setCurrentRow(self.names.index(current))
        self.note = QLabel(f"Category of the {count} selected shape{'s' * (count != 1)}")
        self.hint = QLabel("")
        self.hint.setStyleSheet("color: #b07020;")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.Ok)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        for w in (self.note, self.edit, self.list, self.hint, buttons):
            lay.addWidget(w)
        self.list.currentTextChanged.connect(lambda t: t and self.edit.setText(t))
        self.list.itemDoubleClicked.connect(lambda item: (self.edit.setText(item.text()), self._accept()))
        self.edit.textChanged.connect(self._update)
        self._update(self.edit.text())

    def _match(self, text: str) -> str | None:
        """The existing name `text` means (exact, else case-insensitive), or None for a new one."""
        text = text.strip()
        if text in self.names:
            return text
        lowered = {n.lower(): n for n in self.names}
        return lowered.get(text.lower())

    def _update(self, text: str) -> None:
        text = text.strip()
        self.ok_button.setEnabled(bool(text))
        self.hint.setText("" if not text or self._match(text) else f"\u201c{text}\u201d will be a new category.")

    def _accept(self) -> None:
        text = self.edit.text().strip()
        if text:
            self.chosen.emit(self._match(text) or text)
            self.accept()
