import threading
import time

import cv2
import numpy as np
import pytest

from engine.video import Frame, VideoSource, VideoSourceError, parse_source


def write_avi(path, n=12, size=(64, 48), fps=25.0):
    """An MJPG .avi whose frame i is a flat grey of level 20*i (decodes back within a few levels)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 20 * i % 256, np.uint8))
    w.release()
    return path


class Collector:
    def __init__(self):
        self.frames: list[Frame] = []
        self.ends: list[tuple[str, bool]] = []
        self.done = threading.Event()

    def frame(self, f):
        self.frames.append(f)

    def end(self, message, failed):
        self.ends.append((message, failed))
        self.done.set()


def test_parse_source(tmp_path):
    assert parse_source("0") == 0 and parse_source(" 2 ") == 2
    assert parse_source("rtsp://cam.local/stream") == "rtsp://cam.local/stream"
    f = write_avi(tmp_path / "a.avi", n=2)
    assert parse_source(str(f)) == str(f)
    with pytest.raises(VideoSourceError, match="missing.avi"):
        parse_source(str(tmp_path / "missing.avi"))
    with pytest.raises(VideoSourceError, match="No source"):
        parse_source("  ")


def test_file_is_read_to_the_end_in_order(tmp_path):
    path = write_avi(tmp_path / "v.avi", n=12)
    c = Collector()
    src = VideoSource(str(path), c.frame, c.end, realtime=False).start()
    assert c.done.wait(10)
    src.stop()
    assert [f.index for f in c.frames] == list(range(12))
    levels = [int(f.image.mean()) for f in c.frames]
    assert all(abs(lv - 20 * i) <= 3 for i, lv in enumerate(levels)), levels
    assert c.frames[0].image.shape == (48, 64, 3) and c.frames[0].image.dtype == np.uint8
    assert all(a.captured_at <= b.captured_at for a, b in zip(c.frames, c.frames[1:]))
    assert len(c.ends) == 1
    message, failed = c.ends[0]
    assert not failed and "End of video file" in message and "12 frames" in message
    assert src.frame_count == 12 and not src.running


def test_realtime_file_is_paced_by_its_frame_rate(tmp_path):
    path = write_avi(tmp_path / "v.avi", n=6, fps=20.0)  # 6 frames at 20 fps: about 0.25 s
    c = Collector()
    t0 = time.perf_counter()
    VideoSource(str(path), c.frame, c.end, realtime=True).start()
    assert c.done.wait(10)
    assert time.perf_counter() - t0 >= 0.2
    assert len(c.frames) == 6


def test_pause_step_resume(tmp_path):
    path = write_avi(tmp_path / "v.avi", n=10)
    c = Collector()
    src = VideoSource(str(path), c.frame, c.end, realtime=False)
    src.pause()
    src.start()
    time.sleep(0.3)
    assert c.frames == []  # paused before the first read
    src.step()
    deadline = time.time() + 5
    while len(c.frames) < 1 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(c.frames) == 1  # exactly one frame per step
    src.step()
    src.step()
    deadline = time.time() + 5
    while len(c.frames) < 3 and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(c.frames) == 3
    src.resume()
    assert c.done.wait(10)
    assert len(c.frames) == 10


def test_stop_ends_the_thread(tmp_path):
    path = write_avi(tmp_path / "v.avi", n=200, fps=25.0)
    c = Collector()
    src = VideoSource(str(path), c.frame, c.end, realtime=True).start()
    time.sleep(0.15)
    src.stop()
    assert not src.running
    assert c.ends and not c.ends[-1][1] and "Stopped" in c.ends[-1][0]
    assert 0 < len(c.frames) < 200


def test_unopenable_source_is_reported(tmp_path):
    bad = tmp_path / "not_a_video.avi"
    bad.write_bytes(b"this is not a video")
    c = Collector()
    VideoSource(str(bad), c.frame, c.end).start()
    assert c.done.wait(10)
    assert c.frames == [] and c.ends[0][1] and "Could not open" in c.ends[0][0] and "not_a_video.avi" in c.ends[0][0]
    assert "not a video OpenCV can decode" in c.ends[0][0]


def test_why_a_source_did_not_open_is_said_for_its_kind(tmp_path, monkeypatch):
    from engine import video
    monkeypatch.setattr(video.sys, "platform", "linux")
    assert video.why_not_opened(5, str(tmp_path / "video*")) == "this machine has no camera (no /dev/video device)"
    for n in (0, 1):
        (tmp_path / f"video{n}").touch()
    assert video.why_not_opened(5, str(tmp_path / "video*")) == (
        f"no camera 5 here, or it is in use (cameras: {tmp_path / 'video0'}, {tmp_path / 'video1'})")
    assert video.why_not_opened("rtsp://10.0.0.9/x").startswith("the stream did not answer")


class VanishingCamera:
    """A capture that delivers a few frames and then fails, like an unplugged webcam."""

    def __init__(self, n):
        self.n = n

    def isOpened(self):
        return True

    def get(self, prop):
        return 0.0

    def read(self):
        if self.n <= 0:
            return False, None
        self.n -= 1
        return True, np.zeros((8, 8, 3), np.uint8)

    def release(self):
        pass


def test_camera_that_disappears_gives_a_message():
    c = Collector()
    VideoSource(0, c.frame, c.end, open_capture=lambda spec: VanishingCamera(3)).start()
    assert c.done.wait(10)
    assert len(c.frames) == 3
    message, failed = c.ends[0]
    assert failed and "Webcam 0 stopped delivering frames after 3" in message


def test_consumer_exception_ends_with_a_message(tmp_path):
    path = write_avi(tmp_path / "v.avi", n=5)
    c = Collector()

    def bad_consumer(frame):
        raise ValueError("boom")
    VideoSource(str(path), bad_consumer, c.end, realtime=False).start()
    assert c.done.wait(10)
    assert c.ends[0][1] and "boom" in c.ends[0][0]
