"""The live view as a person sees it: Predict ticked without a model says so on the picture, the
overlay uses the project's category colours, and a small source shows at least 1:1 in the dock."""
import numpy as np
from bridge_fakes import SlowFakePredictor, level_of, write_avi
from PySide6.QtCore import Qt

from annotations.model import Category
from gui.live_view import NO_MODEL
from gui.overlay import class_color
from test_live_view import grab, make_live, pixels_of  # noqa: F401 - make_live is a fixture


def test_predict_without_a_model_says_so_on_the_picture(qtbot, make_live, tmp_path):  # noqa: F811
    view, _ = make_live(load=False, realtime=True)
    assert view.predict_check.isChecked() and view.view.note == NO_MODEL
    view.start(str(write_avi(tmp_path / "clip.avi", n=100, fps=20.0)))
    qtbot.waitUntil(lambda: view.view.frames_painted >= 1, timeout=5000)
    rgb = grab(view)
    top = rgb[4:20, 4:-4].reshape(-1, 3).astype(int)
    assert (top[:, 0] - top[:, 2] > 60).mean() > 0.5  # the red band with the note over the frame
    view.predict_check.setChecked(False)
    assert view.view.note == ""
    view.predict_check.setChecked(True)
    assert view.view.note == NO_MODEL
    with qtbot.waitSignal(view.bridge.model_loaded, timeout=5000):
        view.bridge.load_model("fake_detector", "random", "cpu")
    assert view.view.note == ""
    view.stop()


def test_the_overlay_draws_in_the_projects_category_colours(qtbot, make_live, tmp_path, store):  # noqa: F811
    store.add_categories([Category(None, "bright", color="#1040c0"), Category(None, "dark", color="#c04010")])
    colours = {"bright": (0x10, 0x40, 0xC0), "dark": (0xC0, 0x40, 0x10)}
    view, _ = make_live(SlowFakePredictor(0.02, with_masks=True), realtime=True, store=store)
    assert view.view.colors == colours
    with qtbot.waitSignal(view.stopped, timeout=15000):
        view.start(str(write_avi(tmp_path / "clip.avi", n=15, fps=25.0)))
    qtbot.wait(100)
    level = level_of(view.shown_frame.image)
    label = view.view.prediction.labels[0]
    rgb = grab(view)
    assert pixels_of(rgb, colours[label]) > 50  # the box and its tag
    assert pixels_of(rgb, class_color(label)) == 0  # not the colour the name hashes to
    r = view.view.image_rect()
    inside = rgb[int(r.center().y()), int(r.center().x())].astype(float)
    expected = level * 0.55 + np.asarray(colours[label]) * 0.45  # the mask, tinted by the project's colour
    assert np.abs(inside - expected).max() <= 10


def test_a_small_source_shows_at_least_at_its_own_size_in_the_dock(qtbot, tmp_path, store, settings_dir):
    from PySide6.QtWidgets import QDockWidget

    from gui.main_window import MainWindow
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_project(store)
    next(a for a in win.menu("&Model").actions() if a.text() == "&Live view…").trigger()
    dock = win.findChild(QDockWidget, "live_view")
    assert dock.isVisible() and dock.height() <= 0.45 * win.height()
    view = win.feature("live_view")
    view.start(str(write_avi(tmp_path / "clip.avi", n=400, size=(320, 240), fps=25.0)))
    qtbot.waitUntil(lambda: view.view.frames_painted >= 2, timeout=5000)
    qtbot.wait(100)
    shown = view.view.image_rect()
    assert shown.width() >= 320 and shown.height() >= 240
    assert view.view.note == NO_MODEL and view.stats_label.isVisible()
    qtbot.mouseClick(view.start_button, Qt.LeftButton)
    win.close()
