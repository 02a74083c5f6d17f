"""Brightness, contrast and gamma of the view: the grabbed canvas changes, the file never does, and
the setting belongs to the project (back when it is reopened, not carried to another project)."""
from __future__ import annotations

import hashlib

import numpy as np
from PySide6.QtCore import Qt

from gui.canvas.image_layer import image_layer_of
from gui.view_adjust import Adjustments
from tests.gui.canvas.canvas_helpers import grab


def _image_pixels(win) -> np.ndarray:
    """The canvas pixels that show the image (the view's centre, where the fitted image lies)."""
    arr = grab(win.canvas).astype(np.float64)
    h, w = arr.shape[:2]
    return arr[h // 3: 2 * h // 3, w // 3: 2 * w // 3]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_lut_follows_the_sliders():
    assert Adjustments().lut() is None
    up = Adjustments(brightness=40).lut()
    assert up[0] > 0 and (up.astype(int) >= np.arange(256)).all() and up[255] == 255
    low_contrast = Adjustments(contrast=-50).lut().astype(int)
    assert low_contrast[255] - low_contrast[0] < 200
    bright_gamma = Adjustments(gamma=200).lut().astype(int)
    assert bright_gamma[64] > 64 and bright_gamma[0] == 0 and bright_gamma[255] == 255


def test_brightness_changes_the_view_not_the_file_and_comes_back(make_window, demo_project, qtbot):
    win = make_window(demo_project)
    panel = win.view_adjust
    rec = win.store.image(win.session.image_id)
    path = win.store.image_path(rec)
    digest = _digest(path)
    qtbot.wait(50)
    before = _image_pixels(win)

    panel.sliders["brightness"].setValue(60)
    assert image_layer_of(win.canvas.scene).lut is not None
    qtbot.wait(50)
    after = _image_pixels(win)
    assert after.mean() > before.mean() + 20, (before.mean(), after.mean())
    assert _digest(path) == digest, "the image file was changed"

    panel.reset()
    qtbot.wait(50)
    assert abs(_image_pixels(win).mean() - before.mean()) < 1
    panel.sliders["brightness"].setValue(60)
    panel.sliders["gamma"].setValue(150)

    root = win.store.root
    win.close_project()
    assert panel.adjustments() == Adjustments(), "a closed project's adjustment stays on the empty canvas"
    with qtbot.waitSignal(win.session.project_opened, timeout=20000):
        win.open_path(root)
    assert panel.adjustments() == Adjustments(brightness=60, gamma=150)
    qtbot.waitUntil(lambda: win.canvas.image_ready, timeout=10000)
    qtbot.wait(50)
    assert _image_pixels(win).mean() > before.mean() + 20
    assert _digest(path) == digest


def test_adjustment_is_per_project(make_window, demo_project, tmp_path, qtbot):
    import shutil
    other = tmp_path / "other"
    shutil.copytree(demo_project, other)
    win = make_window(demo_project)
    win.view_adjust.sliders["contrast"].setValue(-30)
    with qtbot.waitSignal(win.session.project_opened, timeout=20000):
        win.open_path(other)
    assert win.view_adjust.adjustments() == Adjustments()
    assert image_layer_of(win.canvas.scene).lut is None


def test_reset_command_and_dock_in_view_menu(make_window, demo_project, qtbot):
    win = make_window(demo_project)
    dock = win._docks["view_adjust"]
    assert dock.toggleViewAction() in win.menu("&View").actions()
    assert win.actions["view.reset_adjust"] in win.menu("&View").actions()
    dock.toggleViewAction().trigger()
    assert dock.isVisible()
    win.view_adjust.sliders["brightness"].setValue(-40)
    win.canvas.view.setFocus()
    qtbot.keyClick(win.canvas.view, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    assert win.view_adjust.adjustments() == Adjustments()
    assert image_layer_of(win.canvas.scene).lut is None
