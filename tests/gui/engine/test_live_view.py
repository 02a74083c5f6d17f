"""The live view on an MJPG .avi written by the test: frames shown, predictions drawn, end of stream,
pause and step, and "add this frame to the project"."""
import numpy as np
import pytest
from bridge_fakes import FakeEngine, SlowFakePredictor, VanishingCamera, level_of, write_avi
from PySide6.QtCore import Qt

from annotations.imageio import read_rgb
from gui.overlay import class_color


@pytest.fixture
def make_live(qtbot, make_bridge):
    from gui.live_view import LiveView
    views = []

    def make(predictor=None, load=True, realtime=True, store=None):
        engine = FakeEngine(predictor or SlowFakePredictor(0))
        bridge = make_bridge(engine)
        if load:
            with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
                bridge.load_model("fake_detector", "random", "cpu")
        view = LiveView(bridge, realtime=realtime)
        view.set_store(store)
        qtbot.addWidget(view)
        view.resize(320, 300)
        view.show()
        qtbot.waitExposed(view)
        views.append(view)
        return view, engine
    yield make
    for v in views:
        v.shutdown()


def grab(view):
    img = view.view.grab().toImage()
    w, h = img.width(), img.height()
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine())[:, :w * 4]
    return arr.reshape(h, w, 4)[..., [2, 1, 0]].copy()  # ARGB32 little endian: B, G, R, A


def pixels_of(rgb, color):
    return int(np.all(rgb == np.asarray(color, np.uint8), axis=-1).sum())


def test_frames_are_shown_without_a_model_and_the_end_is_handled(qtbot, make_live, tmp_path):
    view, _ = make_live(load=False, realtime=False)
    path = write_avi(tmp_path / "clip.avi", n=15)
    with qtbot.waitSignal(view.stopped, timeout=10000) as ended:
        assert view.start(str(path))
        assert view.start_button.text() == "Stop" and not view.source_edit.isEnabled()
    message, failed = ended.args
    assert not failed and "End of video file" in message and "15 frames" in message
    assert view.source is None and view.start_button.text() == "Start" and view.source_edit.isEnabled()
    assert view.message_label.text() == message
    qtbot.waitUntil(lambda: view.view.frames_painted >= 1, timeout=3000)
    assert 1 <= view.frames_received <= 15
    assert abs(level_of(view.view.frame) - (8 + 16 * 14)) <= 4  # the newest frame won: the last one
    rgb = grab(view)
    centre = rgb[rgb.shape[0] // 2, rgb.shape[1] // 2]
    assert np.abs(centre.astype(int) - 232).max() <= 6  # the frame itself is painted
    assert pixels_of(rgb, class_color("bright")) == 0 and view.view.prediction is None
    assert view.view.latencies  # capture-to-paint latency measured


def test_predictions_are_drawn_over_their_frame(qtbot, make_live, tmp_path):
    view, engine = make_live(SlowFakePredictor(0.02, with_masks=True), realtime=True)
    path = write_avi(tmp_path / "clip.avi", n=15, fps=25.0)
    with qtbot.waitSignal(view.stopped, timeout=15000):
        view.start(str(path))
    assert view.results_shown >= 2 and len(engine.predictor.calls) >= view.results_shown
    qtbot.wait(100)
    pred = view.view.prediction
    assert pred is not None and len(pred.labels) == 1
    level = level_of(view.shown_frame.image)
    label = "bright" if level > 127 else "dark"
    assert pred.labels == [label]  # the overlay belongs to the frame on screen
    rgb = grab(view)
    assert pixels_of(rgb, class_color(label)) > 50  # the label tag, painted in the class colour
    r = view.view.image_rect()
    inside = rgb[int(r.center().y()), int(r.center().x())].astype(int)
    outside = rgb[int(r.top() + 3), int(r.left() + 3)].astype(int)
    assert np.abs(outside - level).max() <= 8  # outside the mask: the bare frame
    assert np.abs(inside - level).max() > 20  # inside the mask: tinted by the class colour
    assert view.view.latencies and min(view.view.latencies) >= 0.02  # at least one inference long
    assert "Inference" in view.stats_label.text() and "Latency" in view.stats_label.text()


def test_live_frames_are_dropped_not_queued_when_the_model_is_slow(qtbot, make_live, tmp_path):
    view, engine = make_live(SlowFakePredictor(0.2), realtime=False)
    path = write_avi(tmp_path / "clip.avi", n=40)
    with qtbot.waitSignal(view.stopped, timeout=15000):
        view.start(str(path))
    qtbot.wait(500)
    calls = len(engine.predictor.calls)
    assert 1 <= calls < 20  # 40 frames decode in far less than 40 * 0.2 s: most were skipped
    assert view.results_shown <= calls


def test_pause_and_step_with_the_buttons(qtbot, make_live, tmp_path):
    view, _ = make_live(load=False, realtime=True)
    path = write_avi(tmp_path / "clip.avi", n=100, fps=20.0)
    view.source_edit.setText(str(path))
    qtbot.mouseClick(view.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.frames_received >= 2, timeout=5000)
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)
    assert view.source.paused
    qtbot.wait(300)
    read = view.source.frames_read
    qtbot.wait(300)
    assert view.source.frames_read == read  # paused: nothing more is read
    qtbot.mouseClick(view.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.source.frames_read == read + 1, timeout=3000)
    qtbot.wait(200)
    assert view.source.frames_read == read + 1
    qtbot.waitUntil(lambda: abs(level_of(view.view.frame) - (8 + 16 * read) % 256) <= 4, timeout=3000)
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)  # resume
    qtbot.waitUntil(lambda: view.source.frames_read > read + 3, timeout=3000)
    with qtbot.waitSignal(view.stopped, timeout=5000) as stopped:
        qtbot.mouseClick(view.start_button, Qt.LeftButton)  # Stop
    assert "Stopped" in stopped.args[0] and view.source is None


def test_add_this_frame_creates_an_image_in_the_store(qtbot, make_live, tmp_path, store):
    view, _ = make_live(realtime=True, store=store)
    path = write_avi(tmp_path / "clip.avi", n=60, fps=20.0)
    assert not view.add_button.isEnabled()  # nothing shown yet
    view.start(str(path))
    qtbot.waitUntil(lambda: view.results_shown >= 2, timeout=5000)
    view.set_paused(True)
    qtbot.wait(200)
    shown = view.shown_frame
    assert view.add_button.isEnabled()
    with qtbot.waitSignal(view.frame_added, timeout=5000) as added:
        qtbot.mouseClick(view.add_button, Qt.LeftButton)
    image = store.image(added.args[0])
    assert store.image_count() == 1 and image.file_name.startswith("live/frame_")
    assert (image.width, image.height) == (64, 48)
    written = read_rgb(store.image_path(image))
    assert np.array_equal(written, shown.image)  # the bare frame, no overlay, lossless
    assert "added to the project" in view.message_label.text()


def test_add_frame_without_a_project_says_so(qtbot, make_live):
    view, _ = make_live(load=False)
    assert view.add_current_frame() is None and "Open a project" in view.message_label.text()


def test_bad_sources_give_messages(qtbot, make_live, tmp_path):
    view, _ = make_live(load=False)
    assert not view.start(str(tmp_path / "missing.avi"))
    assert "missing.avi" in view.message_label.text() and view.source is None
    bad = tmp_path / "garbage.avi"
    bad.write_bytes(b"not a video at all")
    with qtbot.waitSignal(view.stopped, timeout=10000) as ended:
        view.start(str(bad))
    assert ended.args[1] and "Could not open" in ended.args[0] and "garbage.avi" in ended.args[0]
    assert view.source is None and view.start_button.text() == "Start"
    assert view.view.placeholder == "No video"  # the picture said "Opening garbage.avi..." for good


def test_camera_that_disappears_stops_the_view(qtbot, make_live, monkeypatch):
    import engine.video as video

    real_init = video.VideoSource.__init__

    def init(self, spec, on_frame, on_end=None, realtime=True, open_capture=None):
        real_init(self, spec, on_frame, on_end, realtime, open_capture=lambda s: VanishingCamera(5))
    monkeypatch.setattr(video.VideoSource, "__init__", init)
    view, _ = make_live(load=False)
    with qtbot.waitSignal(view.stopped, timeout=10000) as ended:
        view.start("0")
    message, failed = ended.args
    assert failed and "Webcam 0 stopped delivering frames after 5" in message
    assert view.source is None and view.frames_received >= 1 and view.message_label.text() == message


def test_model_menu_opens_the_live_view_dock_and_close_stops_it(qtbot, tmp_path, store):
    from PySide6.QtWidgets import QDockWidget

    from gui.main_window import MainWindow
    win = MainWindow()
    win.resize(1280, 800)  # the size these tests' coordinates assume
    qtbot.addWidget(win)
    win.open_project(store)
    win.show()
    qtbot.waitExposed(win)
    dock = win.findChild(QDockWidget, "live_view")
    action = next(a for a in win.menu("&Model").actions() if a.text() == "&Live view…")
    action.trigger()
    assert dock.isVisible() and dock.widget().widget() is win.feature("live_view") and win.feature("live_view").store is store
    path = write_avi(tmp_path / "clip.avi", n=400, fps=25.0)
    win.feature("live_view").start(str(path))
    qtbot.waitUntil(lambda: win.feature("live_view").frames_received >= 2, timeout=5000)
    source = win.feature("live_view").source
    win.close()  # the capture thread and the engine thread both end
    assert not source.running and not win.services.get("engine").running
