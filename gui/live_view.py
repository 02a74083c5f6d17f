"""Live view: a webcam, video file or stream, with the loaded model's predictions drawn over it.

Frames are read on the capture thread (engine/video.py); the GUI thread takes only the newest one
and hands it to the engine bridge, which predicts the newest frame and drops the ones it had no time
for. With predictions on, the view shows each predicted frame with its own boxes and masks, so the
overlay always fits the picture; the measured latency is from capture to that paint.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from annotations.imageio import write_rgb
from annotations.model import ImageRecord
from annotations.store import Store
from engine.video import Frame, VideoSource, VideoSourceError, describe_source, parse_source

from .bridge import EngineBridge, FrameResult
from .explain.tasks import LiveOverlay
from .features import Feature, FeatureContext
from .frame_view import FrameView
from .jobs import Job
from .overlay import project_colors

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
LIVE_FOLDER = "live"  # frames added to a project go to this folder inside it
CONTROLS_WIDTH = 250
NO_MODEL = "Predict is on, but no model is loaded: load one in the Model panel to see predictions."


class LiveView(QWidget):
    frame_added = Signal(int)  # image id of a frame added to the project
    stopped = Signal(str, bool)  # message, failed: the source ended or was stopped
    _frame_ready = Signal()  # from the capture thread: a new frame is waiting
    _source_ended = Signal(object, str, bool)  # source, message, failed

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None, realtime: bool = True):
        super().__init__(parent)
        self.bridge = bridge
        self.store: Store | None = None
        self.source: VideoSource | None = None
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._posted = False
        self._first_request = 0  # frame results older than this session's first request are ignored
        self._result_times: deque[float] = deque(maxlen=20)
        self.shown_frame: Frame | None = None  # the frame now on screen (what "add" writes)
        self.frames_received = 0  # frames the GUI thread took from the capture thread
        self.results_shown = 0
        self.add_jobs: list[Job] = []
        self._build(realtime)
        self._frame_ready.connect(self._take_frame, Qt.QueuedConnection)
        self._source_ended.connect(self._on_source_ended, Qt.QueuedConnection)
        bridge.result.connect(self._on_result)
        bridge.error.connect(self._on_engine_error)
        bridge.model_loaded.connect(lambda info: self._update_controls())
        bridge.model_failed.connect(lambda msg: self._update_controls())
        self._stats_timer = QTimer(self)
        self._stats_timer.setInterval(250)
        self._stats_timer.timeout.connect(self._show_stats)
        self._update_controls()

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self, realtime: bool) -> None:
        self.source_edit = QLineEdit(placeholderText="Webcam index (0), video file, or rtsp:// / http:// URL")
        self.source_edit.returnPressed.connect(self.start)
        self.browse_button = QPushButton("Video file…")
        self.browse_button.clicked.connect(self._browse)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self._start_or_stop)
        self.pause_button = QPushButton("Pause", checkable=True)
        self.pause_button.toggled.connect(self.set_paused)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Pause and read one more frame")
        self.step_button.clicked.connect(self.step)
        self.predict_check = QCheckBox("Predict")
        self.predict_check.setToolTip("Run the model loaded in the Model panel on the newest frame")
        self.predict_check.setChecked(True)
        self.predict_check.toggled.connect(lambda _: self._update_controls())
        self.eigencam_check = QCheckBox("EigenCAM")
        self.eigencam_check.setToolTip("Overlay where the model looks (EigenCAM of its default layer) on each "
                                       "predicted frame; computed on the engine thread with the prediction")
        self.eigencam_check.toggled.connect(self.set_eigencam)
        self.bridge.model_loaded.connect(lambda info: self.set_eigencam(self.eigencam_check.isChecked()))
        self.realtime_check = QCheckBox("Real time")
        self.realtime_check.setToolTip("Play video files at their own frame rate (off: as fast as they decode)")
        self.realtime_check.setChecked(realtime)
        self.add_button = QPushButton("Add frame to project")
        self.add_button.setToolTip("Save the frame on screen into the project folder as an image to label")
        self.add_button.clicked.connect(self.add_current_frame)
        self.view = FrameView(self)
        self.stats_label = QLabel("")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.stats_label.setWordWrap(True)
        # Controls in a column beside the picture: a bottom dock is wide but short, and the video
        # needs the height (a 240-line source shows at least 1:1 in a dock of 40% of an 800 px window).
        column = QWidget()
        col = QVBoxLayout(column)
        col.setContentsMargins(0, 0, 4, 0)
        col.addWidget(self.source_edit)
        for pair in ((self.browse_button, self.start_button), (self.pause_button, self.step_button),
                     (self.predict_check, self.eigencam_check)):
            row = QHBoxLayout()
            for w in pair:
                row.addWidget(w)
            col.addLayout(row)
        col.addWidget(self.realtime_check)
        col.addWidget(self.add_button)
        col.addWidget(self.stats_label)
        col.addWidget(self.message_label)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFixedWidth(CONTROLS_WIDTH)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(scroll)
        layout.addWidget(self.view, 1)

    def _update_controls(self) -> None:
        running = self.source is not None
        self.start_button.setText("Stop" if running else "Start")
        self.source_edit.setEnabled(not running)
        self.browse_button.setEnabled(not running)
        self.realtime_check.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.step_button.setEnabled(running)
        self.add_button.setEnabled(self.store is not None and self.view.frame is not None)
        if not self.bridge.model_info:
            self.predict_check.setToolTip(NO_MODEL)
        self.view.set_note(NO_MODEL if self.predict_check.isChecked() and not self.bridge.model_info else "")

    def set_store(self, store: Store | None) -> None:
        self.store = store
        self.refresh_colors()
        self._update_controls()

    def refresh_colors(self) -> None:
        """Draw the project's classes in the project's category colours."""
        colors = project_colors(self.store.categories()) if self.store is not None else {}
        self.view.colors = colors
        self.bridge.set_class_colors(colors)

    # ---- source control --------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video file", "", VIDEO_FILTER)
        if path:
            self.source_edit.setText(path)

    def _start_or_stop(self) -> None:
        if self.source is None:
            self.start()
        else:
            self.stop()

    @Slot()
    def start(self, text: str | None = None) -> bool:
        """Open the source typed in (or `text`); False, with the reason shown, when it cannot be named."""
        if self.source is not None:
            self.stop()
        if text is not None:
            self.source_edit.setText(str(text))
        try:
            spec = parse_source(self.source_edit.text())
        except VideoSourceError as e:
            self._message(str(e), True)
            return False
        with self._lock:
            self._latest, self._posted = None, False
        self.refresh_colors()  # categories may have been renamed or recoloured since
        self._first_request = self.bridge.peek_request_id() + 1
        self._result_times.clear()
        self.view.latencies.clear()
        self.view.clear(f"Opening {describe_source(spec)}…")
        self.shown_frame = None
        self.pause_button.setChecked(False)
        cell: list[VideoSource] = []  # lets the end callback say which source ended
        self.source = VideoSource(spec, self._on_capture,
                                  lambda msg, failed: self._source_ended.emit(cell[0], msg, failed),
                                  realtime=self.realtime_check.isChecked())
        cell.append(self.source)
        self.source.start()
        self._message(f"Playing {self.source.name}.", False)
        self._stats_timer.start()
        self._update_controls()
        return True

    @Slot()
    def stop(self) -> None:
        src, self.source = self.source, None
        if src is not None:
            src.stop(timeout=1.0)  # a camera read that hangs ends on its own (daemon thread)
            self.bridge.drop_pending_frame()  # of no use now; a batch of the Model panel goes on
            self._no_longer_opening()
            message = f"Stopped {src.name} after {src.frames_read} frames."
            self._message(message, False)
            self.stopped.emit(message, False)
        self._stats_timer.stop()
        self._show_stats()
        self._update_controls()

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        if self.source is None:
            return
        if paused:
            self.source.pause()
        else:
            self.source.resume()
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)

    @Slot()
    def step(self) -> None:
        if self.source is not None:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(True)
            self.pause_button.blockSignals(False)
            self.source.step()

    @Slot(bool)
    def set_eigencam(self, on: bool) -> None:
        """EigenCAM over every predicted frame (a fresh overlay per model: it keeps no old model alive)."""
        self.bridge.set_frame_overlay(LiveOverlay() if on else None)
        if self.eigencam_check.isChecked() != on:
            self.eigencam_check.setChecked(on)

    @property
    def predicting(self) -> bool:
        return self.predict_check.isChecked() and bool(self.bridge.model_info)

    # ---- capture thread side ---------------------------------------------------------------------
    def _on_capture(self, frame: Frame) -> None:
        """Runs on the capture thread: keep only the newest frame; wake the GUI once per batch."""
        with self._lock:
            self._latest = frame
            post = not self._posted
            self._posted = True
        if post:
            self._frame_ready.emit()

    # ---- GUI thread ------------------------------------------------------------------------------
    @Slot()
    def _take_frame(self) -> None:
        with self._lock:
            frame, self._latest = self._latest, None
            self._posted = False
        if frame is None or self.source is None:
            return
        self.frames_received += 1
        if self.predicting:
            self.bridge.predict_frame(frame)
            if self.view.frame is None or self.pause_button.isChecked():
                self.shown_frame = frame  # until the first result: the bare frame
                self.view.set_frame(frame.image, None, None)
        else:
            self.shown_frame = frame
            self.view.set_frame(frame.image, None, frame.captured_at)
        self._update_controls()

    @Slot(int, object)
    def _on_result(self, rid: int, payload) -> None:
        if not isinstance(payload, FrameResult) or rid < self._first_request or self.source is None:
            return
        self.results_shown += 1
        self._result_times.append(time.perf_counter())
        self.shown_frame = payload.frame
        self.view.set_frame(payload.display, payload.prediction, payload.frame.captured_at)
        self._update_controls()

    @Slot(str)
    def _on_engine_error(self, message: str) -> None:
        if self.source is not None and message.startswith("Predicting frame"):
            self._message(message, True)

    @Slot(object, str, bool)
    def _on_source_ended(self, source: VideoSource, message: str, failed: bool) -> None:
        if source is not self.source:  # a source stopped by the user: stop() already tidied up
            return
        self.source = None
        source.stop(timeout=1.0)
        self._stats_timer.stop()
        self._show_stats()
        self._no_longer_opening()
        self._message(message, failed)
        self.stopped.emit(message, failed)
        self._update_controls()

    def _no_longer_opening(self) -> None:
        """A source that ended before its first frame: the picture no longer says "Opening ...";
        one that showed frames keeps its last."""
        if self.view.frame is None:
            self.view.clear()

    def _message(self, text: str, failed: bool) -> None:
        self.message_label.setStyleSheet("color: #d04040;" if failed else "")
        self.message_label.setText(text)

    def inference_fps(self) -> float:
        t = list(self._result_times)
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0

    @Slot()
    def _show_stats(self) -> None:
        capture = self.source.capture_fps() if self.source is not None else 0.0
        parts = [f"Capture {capture:.1f} fps"]
        if self.predicting or self._result_times:
            parts.append(f"Inference {self.inference_fps():.1f} fps")
            parts.append(f"Dropped {self.bridge.frames_dropped}")
        if self.view.latencies:
            parts.append(f"Latency {1000 * self.view.mean_latency():.0f} ms")
        info = self.bridge.model_info
        if info:
            parts.append(f"{info['name']} on {info.get('device', '?')} ({info.get('precision', '')})")
        self.stats_label.setText(" · ".join(parts))

    # ---- adding a frame to the project ---------------------------------------------------------
    @Slot()
    def add_current_frame(self) -> Job | None:
        """Write the frame on screen (without overlay) into the project and register it as an image."""
        if self.store is None:
            self._message("Open a project first: the frame is saved into its folder.", True)
            return None
        frame = self.shown_frame
        if frame is None:
            self._message("No frame to add yet.", True)
            return None
        store, image = self.store, frame.image.copy()
        stamp = datetime.now().strftime("%Y%m%d_%H%M%S_%f")
        name = f"{LIVE_FOLDER}/frame_{stamp}_{frame.index:06d}.png"

        def write(ctx):
            path = Path(store.root) / name
            write_rgb(path, image)
            h, w = image.shape[:2]
            return store.add_image(ImageRecord(None, store.relative_name(path), w, h))
        job = Job(write)
        job.finished.connect(self._on_frame_added)
        job.failed.connect(lambda msg: self._message(f"Could not add the frame: {msg}", True))
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(lambda *_: self.add_jobs.remove(job) if job in self.add_jobs else None)
        self.add_jobs.append(job)
        return job.start()

    @Slot(object)
    def _on_frame_added(self, image_id: int) -> None:
        self._message(f"Frame added to the project as image {image_id}.", False)
        self.frame_added.emit(int(image_id))

    def shutdown(self) -> None:
        self.stop()
        for job in list(self.add_jobs):
            job.wait(5)


def install(ctx: FeatureContext) -> LiveView:
    """A "Live view" dock (hidden until asked for from the Model menu)."""
    view = LiveView(ctx.services.get("engine"))
    ctx.host.add_panel("live_view", "Live view", view, Qt.BottomDockWidgetArea).hide()
    ctx.session.project_opened.connect(view.set_store)
    ctx.session.project_closing.connect(lambda _store: view.set_store(None))
    if ctx.session.store is not None:
        view.set_store(ctx.session.store)
    ctx.host.add_shutdown_hook(view.shutdown)
    action = QAction("&Live view…", view)
    action.setToolTip("Run the loaded model on a webcam, a video file or a stream")
    action.triggered.connect(lambda: (ctx.host.show_panel("live_view"), view.source_edit.setFocus()))
    ctx.host.menu("&Model").addAction(action)
    return view


FEATURE = Feature("live_view", install, requires=("engine",))
