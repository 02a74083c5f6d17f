"""File > Settings > General: default tool, the Model dock's threshold, layout autosave and theme,
kept in QSettings, applied at once and when the next window starts."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from gui import app_settings, theme
from gui.app_settings import GeneralSettings


@pytest.fixture(autouse=True)
def light_again():
    yield
    theme.apply_theme(QApplication.instance(), "light")  # no test leaves the app dark


def _accept(win, **changes):
    dlg = win.show_settings()
    page = dlg.general
    if "tool" in changes:
        page.tool_box.setCurrentIndex(page.tool_box.findData(changes["tool"]))
    if "threshold" in changes:
        page.threshold_spin.setValue(changes["threshold"])
    if "autosave" in changes:
        page.autosave_box.setChecked(changes["autosave"])
    if "theme" in changes:
        page.theme_box.setCurrentIndex(page.theme_box.findData(changes["theme"]))
    dlg.accept()
    return dlg


def test_values_are_checked_when_read():
    s = QSettings()
    s.setValue("general/default_tool", "laser")
    s.setValue("general/threshold", "7")
    s.setValue("general/theme", "purple")
    s.setValue("general/autosave_layout", "false")
    v = app_settings.load()
    assert v == GeneralSettings(default_tool="select", threshold=1.0, autosave_layout=False, theme="system")
    with pytest.raises(ValueError):
        app_settings.save(GeneralSettings(theme="purple"))


def test_default_tool_applies_at_once_and_at_start(make_window, demo_project, qtbot):
    win = make_window(demo_project)
    assert win.session.tool == "select"
    _accept(win, tool="rectangle")
    assert win.session.tool == "rectangle"
    assert win.actions["tool.rectangle"].isChecked()
    assert app_settings.load().default_tool == "rectangle"
    win.session.set_tool("polygon")
    _accept(win, threshold=0.3)  # another setting changed: the tool in use stays
    assert win.session.tool == "polygon"
    win2 = make_window(demo_project)
    assert win2.session.tool == "rectangle"


MODELS = [{"name": "det_a", "task": "detection", "default_score": 0.3},
          {"name": "det_b", "task": "detection", "default_score": 0.6}]


def _models_listed(panel, qtbot):
    """The engine's answer listing its models (as the engine thread sends it, without loading torch)."""
    panel.bridge.capabilities.emit({"cuda": False, "models": MODELS})
    qtbot.waitUntil(lambda: panel.model_combo.count() > 0, timeout=5000)


def test_threshold_sets_the_model_dock_default(make_window, demo_project, qtbot):
    win = make_window(demo_project)
    panel = win.feature("model")
    _models_listed(panel, qtbot)
    assert panel.threshold_spin.value() == pytest.approx(0.3)  # nothing chosen: the model's own default
    _accept(win, threshold=0.8)
    assert panel.threshold_spin.value() == pytest.approx(0.8)
    panel.model_combo.setCurrentIndex((panel.model_combo.currentIndex() + 1) % panel.model_combo.count())
    assert panel.threshold_spin.value() == pytest.approx(0.8), "choosing a model replaced the chosen default"
    win2 = make_window(demo_project)
    panel2 = win2.feature("model")
    _models_listed(panel2, qtbot)
    assert panel2.threshold_spin.value() == pytest.approx(0.8)


def test_layout_is_saved_on_close_only_when_asked(make_window, demo_project, qtbot):
    win = make_window(demo_project)
    _accept(win, autosave=False)
    win.close()
    assert QSettings().value("window/state") is None
    win2 = make_window(demo_project)
    _accept(win2, autosave=True)
    win2.close()
    assert QSettings().value("window/state") is not None


def test_dark_theme_applies_app_wide_at_once_and_at_start(make_window, demo_project, qtbot):
    app = QApplication.instance()
    win = make_window(demo_project)
    light_window = app.palette().color(QPalette.Window).lightness()
    _accept(win, theme="dark")
    assert app.property("sightline_theme") == "dark"
    assert app.palette().color(QPalette.Window).lightness() < 80 < light_window
    assert win.file_list.view.palette().color(QPalette.Base).lightness() < 60
    assert "film_strip" in app.styleSheet()
    _accept(win, theme="light")
    assert app.palette().color(QPalette.Window).lightness() == light_window
    QSettings().setValue("general/theme", "dark")
    make_window(demo_project)
    assert app.palette().color(QPalette.Window).lightness() < 80


def test_follow_the_system(monkeypatch):
    monkeypatch.setattr(theme, "system_is_dark", lambda: True)
    assert theme.resolve("system") == "dark"
    monkeypatch.setattr(theme, "system_is_dark", lambda: False)
    assert theme.resolve("system") == "light"
    assert theme.resolve("dark") == "dark"


def test_system_theme_follows_a_desktop_switch(make_window, demo_project, qtbot, monkeypatch):
    app = QApplication.instance()
    win = make_window(demo_project)
    assert win.general_settings.theme == "system"
    follower = win.findChild(app_settings._Follower)
    monkeypatch.setattr(theme, "system_is_dark", lambda: True)
    follower.scheme_changed()
    assert app.property("sightline_theme") == "dark"
    monkeypatch.setattr(theme, "system_is_dark", lambda: False)
    follower.scheme_changed()
    assert app.property("sightline_theme") == "light"


def test_the_app_starts_with_the_light_style_sheet_the_theme_reads():
    from gui.app import create_app
    app = QApplication.instance()
    before = app.styleSheet()
    try:
        assert create_app() is app
        sheet = app.styleSheet()
        assert sheet == theme.style_sheet(dark=False) and "QDockWidget::title" in sheet
        assert theme.style_sheet(dark=True).startswith(sheet) and len(theme.style_sheet(dark=True)) > len(sheet)
    finally:
        app.setStyleSheet(before)


@pytest.mark.parametrize("brush, threshold, geometry, last", [
    ("abc", "nan", "hello", "1" + "0" * 30),
    ("nan", "1e999", 5, "-3"),
    ("1e999", "inf", b"\x01\xd9\xd0\xcb\x00", "2.5"),
])
def test_a_settings_file_with_unreadable_values_opens_the_window_with_the_defaults(make_window, demo_project,
                                                                                    brush, threshold, geometry, last):
    """The settings file is a file a person may edit: a brush radius of "abc", a window geometry
    that is a word or an image id past SQLite's integers each ended the start in a traceback."""
    from PySide6.QtCore import QByteArray
    from annotations.store import Store
    from gui.session import BRUSH_DEFAULT
    s = QSettings()
    s.setValue("canvas/brush_radius", brush)
    s.setValue("general/threshold", threshold)
    s.setValue("window/geometry", geometry)
    s.setValue("window/state", QByteArray(b"\x00\x00\x00\xff garbage"))
    with Store.open(demo_project, create=False) as store:
        s.setValue(f"last_image/{store.root.as_posix()}", last)
    s.sync()
    win = make_window(demo_project)
    assert win.session.brush_radius == BRUSH_DEFAULT
    assert app_settings.load().threshold == 0.5
    assert win.canvas.current_image_id == win.file_list.model.visible_ids()[0]
    assert win.isVisible() and win.width() >= 640
