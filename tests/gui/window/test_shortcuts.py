"""Shortcuts: the default set, conflicts refused, editing in the settings dialog, kept in QSettings."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox

from gui import shortcuts
from gui.settings_dialog import SettingsDialog, ShortcutHelpDialog

from window_helpers import press


def test_default_keys_match_what_labelme_and_cvat_users_type():
    km = shortcuts.default_keymap()
    assert km["tool.rectangle"] == ("W", "R")
    assert km["tool.polygon"] == ("P",) and km["tool.brush"] == ("B",) and km["tool.eraser"] == ("E",)
    assert km["tool.select"] == ("V", "Esc")
    assert km["edit.undo"] == ("Ctrl+Z",) and km["edit.redo"] == ("Ctrl+Shift+Z", "Ctrl+Y")
    assert km["nav.next"] == ("D",) and km["nav.previous"] == ("A",)
    assert km["edit.delete"] == ("Del",) and km["edit.duplicate"] == ("Ctrl+D",)
    assert km["view.fit"] == ("F",)
    assert [km[f"category.{i}"] for i in range(1, 10)] == [(str(i),) for i in range(1, 10)]
    assert km["brush.smaller"] == ("[",) and km["brush.larger"] == ("]",)
    assert shortcuts.find_conflicts(km) == []


def test_conflicts_are_found_and_refused(settings_dir):
    km = dict(shortcuts.default_keymap(), **{"nav.next": ("ctrl+z",)})
    (conflict,) = shortcuts.find_conflicts(km)
    assert conflict == ("Ctrl+Z", "edit.undo", "nav.next")
    assert "\u201cUndo\u201d" in shortcuts.describe_conflicts([conflict])
    with pytest.raises(ValueError, match="Ctrl\\+Z"):
        shortcuts.save_keymap(km)
    assert shortcuts.load_keymap() == shortcuts.default_keymap()
    # A clashing value written behind the app's back is ignored on load.
    s = QSettings()
    s.setValue(f"{shortcuts.SETTINGS_GROUP}/nav.next", "Ctrl+Z")
    s.sync()
    assert shortcuts.load_keymap()["nav.next"] == ("D",)


def test_only_changes_are_stored(settings_dir):
    km = dict(shortcuts.default_keymap(), **{"view.fit": ("G",)})
    shortcuts.save_keymap(km)
    s = QSettings()
    s.beginGroup(shortcuts.SETTINGS_GROUP)
    assert s.childKeys() == ["view.fit"]
    s.endGroup()
    assert shortcuts.load_keymap() == km


def _open_settings(qtbot, win) -> SettingsDialog:
    press(qtbot, win, Qt.Key_Comma, Qt.ControlModifier)
    qtbot.waitUntil(lambda: win.findChild(SettingsDialog) is not None, timeout=3000)
    dlg = win.findChild(SettingsDialog)
    qtbot.waitExposed(dlg)
    return dlg


def test_editing_a_shortcut_changes_the_key_and_persists(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    ids = win.store.image_ids()
    dlg = _open_settings(qtbot, win)
    edit = dlg.editor.edit_for("nav.next")
    qtbot.mouseClick(edit, Qt.LeftButton)
    qtbot.keyClick(edit, Qt.Key_N)
    assert dlg.editor.keymap()["nav.next"] == ("N",)
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)
    assert QSettings().value(f"{shortcuts.SETTINGS_GROUP}/nav.next") == "N"

    win.activateWindow()
    win.canvas.setFocus()
    press(qtbot, win, Qt.Key_D)  # no longer bound
    qtbot.wait(50)
    assert win.canvas.current_image_id == ids[0]
    press(qtbot, win, Qt.Key_N)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids[1], timeout=3000)
    # The help table lists the new key.
    press(qtbot, win, Qt.Key_F1)
    qtbot.waitUntil(lambda: win.findChild(ShortcutHelpDialog) is not None, timeout=3000)
    help_dlg = win.findChild(ShortcutHelpDialog)
    rows = {help_dlg.table.item(r, 1).text(): help_dlg.table.item(r, 2).text()
            for r in range(help_dlg.table.rowCount())}
    assert rows["Next image"] == "N" and rows["Draw rectangles"] == "W, R"
    help_dlg.close()


def test_new_window_reads_the_edited_shortcut(qtbot, make_window, demo_project):
    shortcuts.save_keymap(dict(shortcuts.default_keymap(), **{"nav.next": ("N",)}))
    win = make_window(demo_project)
    ids = win.store.image_ids()
    assert [s.toString() for s in win.actions["nav.next"].shortcuts()] == ["N"]
    win.canvas.setFocus()
    press(qtbot, win, Qt.Key_N)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids[1], timeout=3000)


def test_a_key_already_in_use_is_refused_with_a_message(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    dlg = _open_settings(qtbot, win)
    edit = dlg.editor.edit_for("nav.next")
    qtbot.mouseClick(edit, Qt.LeftButton)
    qtbot.keyClick(edit, Qt.Key_A)  # A is "Previous image"
    assert dlg.editor.keymap()["nav.next"] == ("D",)
    assert "A is used by both" in dlg.message.text() and "Previous image" in dlg.message.text()
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)
    assert shortcuts.load_keymap()["nav.next"] == ("D",)


def test_tool_and_brush_keys(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    win.canvas.setFocus()
    for key, tool in ((Qt.Key_R, "rectangle"), (Qt.Key_P, "polygon"), (Qt.Key_B, "brush"),
                      (Qt.Key_E, "eraser"), (Qt.Key_W, "rectangle"), (Qt.Key_V, "select")):
        press(qtbot, win, key)
        assert win.canvas.tool() == tool
        assert win.actions[f"tool.{tool}"].isChecked()
    r = win.session.brush_radius
    press(qtbot, win, Qt.Key_BracketRight)
    assert win.session.brush_radius > r
    press(qtbot, win, Qt.Key_BracketLeft)
    press(qtbot, win, Qt.Key_BracketLeft)
    assert win.session.brush_radius < r
    assert int(QSettings().value("canvas/brush_radius")) == win.session.brush_radius
