"""Settings (general settings and the keyboard shortcuts, editable, kept in QSettings) and the
shortcut table of the Help menu. A key already used by another command is refused on the spot, with a
message saying which. The General tab: default tool, the Model dock's default score threshold,
saving the window layout on close, and the theme (gui.app_settings, gui.theme)."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QHeaderView, QKeySequenceEdit, QLabel, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from . import app_settings, shortcuts
from .app_settings import GeneralSettings
from .session import TOOLS
from .theme import THEME_TITLES, THEMES

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


class GeneralPage(QWidget):
    """Default tool, default score threshold, layout autosave, theme."""

    def __init__(self, values: GeneralSettings, parent=None):
        super().__init__(parent)
        self.tool_box = QComboBox()
        for tool in TOOLS:
            self.tool_box.addItem(tool.capitalize(), tool)
        self.threshold_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.threshold_spin.setToolTip("The Model dock's score threshold: predictions below it are not shown, "
                                       "and \u201cAccept all above threshold\u201d accepts those above it.")
        self.autosave_box = QCheckBox("Save the window layout (docks, size) when the window closes")
        self.theme_box = QComboBox()
        for theme in THEMES:
            self.theme_box.addItem(THEME_TITLES[theme], theme)
        form = QFormLayout(self)
        form.addRow("Tool at start", self.tool_box)
        form.addRow("Score threshold", self.threshold_spin)
        form.addRow("Layout", self.autosave_box)
        form.addRow("Theme", self.theme_box)
        self.set_values(values)

    def set_values(self, v: GeneralSettings) -> None:
        self.tool_box.setCurrentIndex(max(self.tool_box.findData(v.default_tool), 0))
        self.threshold_spin.setValue(v.threshold)
        self.autosave_box.setChecked(v.autosave_layout)
        self.theme_box.setCurrentIndex(max(self.theme_box.findData(v.theme), 0))

    def values(self) -> GeneralSettings:
        return GeneralSettings(self.tool_box.currentData(), round(self.threshold_spin.value(), 2),
                               self.autosave_box.isChecked(), self.theme_box.currentData())


class SettingsDialog(QDialog):
    keymap_accepted = Signal(dict)  # saved in QSettings; the window applies it
    general_accepted = Signal(object)  # GeneralSettings, saved in QSettings; the window applies it

    def __init__(self, keymap: dict[str, tuple[str, ...]], parent=None, general: GeneralSettings | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(640, 620)
        self.general = GeneralPage(general if general is not None else app_settings.load())
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
        self.tabs = tabs = QTabWidget()
        tabs.addTab(self.general, "General")
        tabs.addTab(page, "Keyboard shortcuts")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel
                                        | QDialogButtonBox.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.RestoreDefaults).clicked.connect(self.restore_defaults)
        outer = QVBoxLayout(self)
        outer.addWidget(tabs, 1)
        outer.addWidget(self.buttons)

    def restore_defaults(self) -> None:
        """The defaults of the tab shown."""
        if self.tabs.currentWidget() is self.general:
            self.general.set_values(GeneralSettings())
        else:
            self.editor.set_keymap(shortcuts.default_keymap())

    def accept(self) -> None:
        keymap = self.editor.keymap()
        try:
            shortcuts.save_keymap(keymap)
        except ValueError as e:  # the editor refuses conflicts as they are typed; this is the last guard
            self.message.setText(str(e))
            return
        general = self.general.values()
        app_settings.save(general)
        self.keymap_accepted.emit(keymap)
        self.general_accepted.emit(general)
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
