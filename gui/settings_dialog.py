"""Settings (the keyboard shortcuts, editable, kept in QSettings) and the shortcut table of the Help
menu. A key already used by another command is refused on the spot, with a message saying which."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QKeySequenceEdit,
                               QLabel, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from . import shortcuts

COL_GROUP, COL_COMMAND, COL_PRIMARY, COL_ALTERNATE = range(4)


class ShortcutEditor(QWidget):
    """The table of commands with a primary and an alternate key each."""
    refused = Signal(str)  # why an edit was refused

    def __init__(self, keymap: dict[str, tuple[str, ...]], parent=None):
        super().__init__(parent)
        self.table = QTableWidget(len(shortcuts.COMMANDS), 4)
        self.table.setHorizontalHeaderLabels(["Group", "Command", "Key", "Alternate key"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_GROUP, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(COL_COMMAND, QHeaderView.Stretch)
        header.setSectionResizeMode(COL_PRIMARY, QHeaderView.Fixed)
        header.setSectionResizeMode(COL_ALTERNATE, QHeaderView.Fixed)
        header.resizeSection(COL_PRIMARY, 150)
        header.resizeSection(COL_ALTERNATE, 150)
        self.edits: dict[tuple[str, int], QKeySequenceEdit] = {}
        self._accepted: dict[tuple[str, int], str] = {}
        for row, cmd in enumerate(shortcuts.COMMANDS):
            self.table.setItem(row, COL_GROUP, QTableWidgetItem(cmd.group))
            self.table.setItem(row, COL_COMMAND, QTableWidgetItem(cmd.text))
            for slot, col in ((0, COL_PRIMARY), (1, COL_ALTERNATE)):
                edit = QKeySequenceEdit()
                edit.setObjectName(f"{cmd.id}#{slot}")
                edit.setMaximumSequenceLength(1)
                edit.setClearButtonEnabled(True)
                # Checked when a key has been recorded (recording first clears the field).
                edit.editingFinished.connect(lambda key=(cmd.id, slot): self._changed(key))
                self.edits[(cmd.id, slot)] = edit
                self.table.setCellWidget(row, col, edit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table)
        self.set_keymap(keymap)

    def set_keymap(self, keymap: dict[str, tuple[str, ...]]) -> None:
        for (cid, slot), edit in self.edits.items():
            keys = keymap.get(cid, ())
            key = keys[slot] if slot < len(keys) else ""
            with QSignalBlocker(edit):
                edit.setKeySequence(QKeySequence(key, QKeySequence.PortableText))
            self._accepted[(cid, slot)] = shortcuts.normalize(key)

    def edit_for(self, command_id: str, slot: int = 0) -> QKeySequenceEdit:
        return self.edits[(command_id, slot)]

    def _value(self, key: tuple[str, int]) -> str:
        return self.edits[key].keySequence().toString(QKeySequence.PortableText)

    def keymap(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for cmd in shortcuts.COMMANDS:
            keys = [self._value((cmd.id, s)) for s in range(shortcuts.MAX_KEYS)]
            out[cmd.id] = tuple(shortcuts.normalize(k) for k in keys if k)
        return out

    def _changed(self, key: tuple[str, int]) -> None:
        conflicts = shortcuts.find_conflicts(self.keymap())
        if conflicts:
            edit = self.edits[key]
            with QSignalBlocker(edit):
                edit.setKeySequence(QKeySequence(self._accepted[key], QKeySequence.PortableText))
            self.refused.emit(shortcuts.describe_conflicts(conflicts) + " The change was not made.")
            return
        self._accepted[key] = shortcuts.normalize(self._value(key))
        self.refused.emit("")


class SettingsDialog(QDialog):
    keymap_accepted = Signal(dict)  # saved in QSettings; the window applies it

    def __init__(self, keymap: dict[str, tuple[str, ...]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(640, 620)
        self.editor = ShortcutEditor(keymap)
        self.message = QLabel("")
        self.message.setObjectName("refusal")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e0603c;")
        self.editor.refused.connect(self.message.setText)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(QLabel("Click a key field and press the new key. Each key may belong to one command."))
        lay.addWidget(self.editor, 1)
        lay.addWidget(self.message)
        tabs = QTabWidget()
        tabs.addTab(page, "Keyboard shortcuts")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel
                                        | QDialogButtonBox.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(
            lambda: self.editor.set_keymap(shortcuts.default_keymap()))
        outer = QVBoxLayout(self)
        outer.addWidget(tabs, 1)
        outer.addWidget(self.buttons)

    def accept(self) -> None:
        keymap = self.editor.keymap()
        try:
            shortcuts.save_keymap(keymap)
        except ValueError as e:  # the editor refuses conflicts as they are typed; this is the last guard
            self.message.setText(str(e))
            return
        self.keymap_accepted.emit(keymap)
        super().accept()


class ShortcutHelpDialog(QDialog):
    """Help > Keyboard shortcuts: every command and its keys, as currently set."""

    def __init__(self, keymap: dict[str, tuple[str, ...]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 640)
        self.table = QTableWidget(len(shortcuts.COMMANDS), 3)
        self.table.setHorizontalHeaderLabels(["Group", "Command", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        for row, cmd in enumerate(shortcuts.COMMANDS):
            for col, text in enumerate((cmd.group, cmd.text, shortcuts.native_text(keymap.get(cmd.id, ())))):
                self.table.setItem(row, col, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        note = QLabel("On the canvas: wheel zooms at the cursor, middle drag or Space+drag pans, arrow keys "
                      "nudge the selection, Shift or a rubber band selects several shapes, Enter closes a "
                      "polygon, Backspace removes its last point. Change keys in File \u203a Settings.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
