"""Live frame sources: a webcam by index, a video file, or an RTSP/HTTP URL, through cv2.VideoCapture.

Each source reads in its own thread and hands every frame to a callback, with the moment it was
captured, so a consumer can measure end-to-end latency. Opening happens in that thread too (an RTSP
URL can take seconds to time out). The end of a file, a camera that disappears or a stream that drops
is reported once through `on_end(message, failed)`, and then the thread stops; nothing is raised into
the caller.

    src = VideoSource(parse_source("0"), on_frame=..., on_end=...)
    src.start(); src.pause(); src.step(); src.resume(); src.stop()

cv2 is imported on the source's thread when it first opens (importing it costs the window's start
tens of milliseconds, and the window imports this module for the Live view's form).
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from annotations.errors import SightlineError

URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass
class Frame:
    index: int  # 0-based count of frames read from this source
    image: np.ndarray  # HxWx3 uint8 RGB
    captured_at: float  # time.perf_counter() right after the read returned
    position_ms: float = 0.0  # position in a file; 0 for live sources


class VideoSourceError(SightlineError):
    """A source spec that cannot name anything (the message says why)."""


def parse_source(text: str | int) -> int | str:
    """A webcam index ("0"), a URL, or a video file path that exists."""
    if isinstance(text, int):
        return text
    t = str(text).strip()
    if not t:
        raise VideoSourceError("No source given: enter a webcam index (0, 1, ...), a video file or a URL.")
    if t.isdigit():
        return int(t)
    if t.lower().startswith(URL_SCHEMES):
        return t
    p = Path(t).expanduser()
    if not p.is_file():
        raise VideoSourceError(f"{p}: no such video file (a webcam is given by its index, a stream by its URL).")
    return str(p)


def describe_source(spec: int | str) -> str:
    if isinstance(spec, int):
        return f"webcam {spec}"
    if str(spec).lower().startswith(URL_SCHEMES):
        return f"stream {spec}"
    return f"video file {spec}"


def why_not_opened(spec: int | str, devices: str = "/dev/video*") -> str:
    """Why OpenCV could not open `spec`, as far as can be told: the cameras this machine has (Linux),
    a file that is no video OpenCV can decode (parse_source found the file), a stream that did not answer."""
    if isinstance(spec, int):
        import glob
        found = sorted(glob.glob(devices))
        if sys.platform.startswith("linux"):
            if not found:
                return "this machine has no camera (no /dev/video device)"
            return f"no camera {spec} here, or it is in use (cameras: {', '.join(found)})"
        return f"no camera {spec} here, or it is in use by another program"
    if str(spec).lower().startswith(URL_SCHEMES):
        return "the stream did not answer (check the address, the network and the camera's login)"
    return "not a video OpenCV can decode (unknown format, or a damaged file)"


class VideoSource:
    """Reads frames from `spec` on a daemon thread until the end, an error, or stop().

    `realtime` paces a video file at its own frame rate; with realtime=False a file is read as
    fast as it decodes (benchmarks, tests). Webcams and streams are paced by the device.
    """

    def __init__(self, spec: int | str, on_frame: Callable[[Frame], None],
                 on_end: Callable[[str, bool], None] | None = None, realtime: bool = True,
                 open_capture: Callable[[int | str], Any] | None = None):
        self.spec = spec
        self.name = describe_source(spec)
        self._on_frame = on_frame
        self._on_end = on_end or (lambda message, failed: None)
        self._realtime = realtime
        self._open_capture = open_capture
        self._stop = threading.Event()
        self._paused = False
        self._steps = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._times: deque[float] = deque(maxlen=30)
        self.frames_read = 0
        self.file_fps = 0.0
        self.frame_count = 0  # frames in a file, when the container says (0 = unknown)
        self.size = (0, 0)  # width, height once open

    # ---- control (any thread) ------------------------------------------------------------------
    def start(self) -> "VideoSource":
        self._thread = threading.Thread(target=self._run, name=f"capture {self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (a blocked camera read may take up to `timeout`)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._steps = 0
            self._cond.notify_all()

    def step(self) -> None:
        """While paused, read exactly one more frame."""
        with self._cond:
            self._paused = True
            self._steps += 1
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def capture_fps(self) -> float:
        """Frames per second read over the last few frames (0 before two frames)."""
        t = list(self._times)
        if len(t) < 2 or t[-1] <= t[0]:
            return 0.0
        return (len(t) - 1) / (t[-1] - t[0])

    # ---- the capture thread ----------------------------------------------------------------------
    def _wait_turn(self) -> bool:
        """Block while paused (unless a step is owed). False when stopping."""
        with self._cond:
            while self._paused and self._steps == 0 and not self._stop.is_set():
                self._cond.wait(0.25)
            if self._steps:
                self._steps -= 1
        return not self._stop.is_set()

    def _run(self) -> None:
        try:
            import cv2
            cap = (self._open_capture or cv2.VideoCapture)(self.spec)
        except Exception as e:  # noqa: BLE001 - a backend failure becomes a message
            self._on_end(f"Could not open {self.name}: {e}", True)
            return
        if cap is None or not cap.isOpened():
            self._on_end(f"Could not open {self.name}: {why_not_opened(self.spec)}.", True)
            return
        try:
            self._read_loop(cap)
        finally:
            cap.release()

    def _read_loop(self, cap) -> None:
        import cv2
        is_file = isinstance(self.spec, str) and not self.spec.lower().startswith(URL_SCHEMES)
        self.file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.frame_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if is_file else 0
        period = 1.0 / self.file_fps if (is_file and self._realtime and self.file_fps > 0) else 0.0
        next_due = time.perf_counter()
        while self._wait_turn():
            if period:
                delay = next_due - time.perf_counter()
                if delay > 0 and self._stop.wait(delay):
                    break
                next_due = max(next_due + period, time.perf_counter() - period)
            try:
                ok, bgr = cap.read()
            except Exception as e:  # noqa: BLE001
                self._on_end(f"Reading {self.name} failed: {e}", True)
                return
            if self._stop.is_set():
                break
            if not ok or bgr is None:
                self._report_end(is_file)
                return
            now = time.perf_counter()
            self._times.append(now)
            pos = float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) if is_file else 0.0
            if bgr.ndim == 2:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
            else:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            self.size = (rgb.shape[1], rgb.shape[0])
            frame = Frame(self.frames_read, rgb, now, pos)
            self.frames_read += 1
            try:
                self._on_frame(frame)
            except Exception as e:  # noqa: BLE001 - a consumer bug must not kill the thread silently
                self._on_end(f"Handling a frame of {self.name} failed: {e}", True)
                return
        self._on_end(f"Stopped {self.name} after {self.frames_read} frames.", False)

    def _report_end(self, is_file: bool) -> None:
        n = self.frames_read
        if is_file:
            self._on_end(f"End of {self.name} after {n} frames.", False)
        elif isinstance(self.spec, int):
            self._on_end(f"{self.name.capitalize()} stopped delivering frames after {n} "
                         "(unplugged, or in use by another program?).", True)
        else:
            self._on_end(f"The {self.name} ended or was lost after {n} frames.", True)
