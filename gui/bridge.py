"""The one bridge between the GUI and the engine (DESIGN.md, "Threads and processes").

One long-lived QThread runs an EngineWorker (gui/engine_worker.py), which alone touches the loaded
model. Every request gets a rising id, returned by the call; results come back through `result`.

- predict_image(id): the newest image request wins; an older one still waiting is skipped and an
  older result arriving late is dropped (the user moved on to another image).
- predict_frame(frame): while the worker is busy, a new frame replaces the pending one instead of
  queueing, so a live view lags by at most one frame. `frames_dropped` counts the replaced ones.
- predict_images(ids): a batch stored as a new run, with progress; cancel() stops it between batches.
- cancel() applies to every request made before it (a generation counter, checked between steps).
- Failures arrive as `error(str)` (and `failed(id, str)`): readable text, never a dead thread.
- run_task(fn): any other work with the loaded model (explanations): fn(loaded, token, progress) runs on
  the engine thread; task_done / task_failed / task_cancelled / task_progress carry the request id.
  Its CancelToken is its own (cancel_task), and cancel() sets it too. set_frame_overlay(fn) draws
  fn's picture over every live frame the worker predicts (the newest frame still wins).

Call everything from the GUI thread. The window's one bridge is the "engine" service
(gui/engine_service.py): it follows the session's open project (follow_session) and is shut down
with the window (no "QThread destroyed while running").
EngineBridge(hooks=...) or use_hooks() swaps the engine entry points (tests use a slow fake).
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from annotations.errors import CancelToken
from annotations.store import Store

from .engine_worker import (BatchResult, EngineHooks, EngineWorker, FrameResult, ImageResult, SharedState,
                            default_hooks)

__all__ = ["EngineBridge", "EngineHooks", "ImageResult", "FrameResult", "BatchResult", "LiveFrame"]


class LiveFrame:
    """A frame handed in as a bare array (captured now); engine.video.Frame has the same fields."""
    __slots__ = ("index", "image", "captured_at", "position_ms")

    def __init__(self, image: np.ndarray, index: int = 0, captured_at: float | None = None):
        self.image = image
        self.index = index
        self.captured_at = time.perf_counter() if captured_at is None else captured_at
        self.position_ms = 0.0


class EngineBridge(QObject):
    model_loaded = Signal(dict)  # name, task, device, precision, source, categories, note, ...
    model_failed = Signal(str)
    result = Signal(int, object)  # request id, ImageResult | FrameResult | BatchResult
    progress = Signal(int, int)  # done, total of the running batch
    error = Signal(str)
    busy = Signal(bool)
    capabilities = Signal(dict)  # cuda, cuda_name, models (answer to describe_engine)
    failed = Signal(int, str)  # request id, message (error carries the same message)
    task_done = Signal(int, object)  # request id, what run_task's fn returned
    task_failed = Signal(int, str)
    task_cancelled = Signal(int)
    task_progress = Signal(int, int, int)  # request id, done, total

    _req_load = Signal(int, str, str, str, bool, float, bool)
    _req_threshold = Signal(float)
    _req_image = Signal(int, int, int)
    _req_images = Signal(int, object, bool, int, int)
    _req_frame = Signal()
    _req_describe = Signal()
    _req_task = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, hooks: EngineHooks | None = None, batch_size: int = 2):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._last_id = 0
        self.shared = SharedState()
        self.batch_size = batch_size
        self.model_info: dict = {}
        self.is_busy = False
        self.results_dropped = 0  # stale image results dropped on arrival
        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._worker = EngineWorker(self.shared, hooks or default_hooks())
        self._worker.moveToThread(self._thread)
        # Bound methods of the worker: queued onto the engine thread.
        self._req_load.connect(self._worker.load)
        self._req_threshold.connect(self._worker.set_score_threshold)
        self._req_image.connect(self._worker.predict_image)
        self._req_images.connect(self._worker.predict_images)
        self._req_frame.connect(self._worker.predict_pending_frame)
        self._req_describe.connect(self._worker.describe)
        self._req_task.connect(self._worker.run_task)
        self._tasks: dict[int, CancelToken] = {}
        for sig in (self._worker.task_done, self._worker.task_failed, self._worker.task_cancelled):
            sig.connect(lambda rid, *_: self._tasks.pop(rid, None))
        self._worker.task_done.connect(self.task_done)
        self._worker.task_failed.connect(self.task_failed)
        self._worker.task_cancelled.connect(self.task_cancelled)
        self._worker.task_progress.connect(self.task_progress)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.load_failed.connect(self._on_load_failed)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._worker.progress.connect(self._on_progress)
        self._worker.busy.connect(self._on_busy)
        self.last_capabilities: dict | None = None  # the engine's latest answer, for late listeners
        self._worker.described.connect(self._on_described)
        self._running_batch = 0
        self._stopped = False
        app = QCoreApplication.instance()
        if app is not None:  # quitting without closing the window must not leave the thread running
            app.aboutToQuit.connect(self.shutdown)
        self._thread.start()

    def _on_described(self, caps: dict) -> None:
        self.last_capabilities = caps
        self.capabilities.emit(caps)

    # ---- requests ------------------------------------------------------------------------------
    def _next(self) -> int:
        self._last_id = next(self._ids)
        return self._last_id

    def peek_request_id(self) -> int:
        """The id of the latest request made (0 before any): later requests have larger ids."""
        return self._last_id

    def set_store(self, store: Store | None) -> None:
        """The project predictions go to. Waits for a store write in flight (never an inference)."""
        with self.shared.store_lock:
            self.shared.store = store

    def use_hooks(self, hooks: EngineHooks) -> None:
        """Swap the engine entry points (tests, embedding). Call while no request is running."""
        self._worker.hooks = hooks

    def describe_engine(self) -> None:
        """Ask the engine which models exist and whether CUDA is there (answer: `capabilities`)."""
        self._req_describe.emit()

    def load_model(self, name: str, source: str = "default", device: str = "auto", fp16: bool = False,
                   score_threshold: float | None = None, map_to_project: bool = False) -> int:
        """Load `name` with weights from `source` ("default", "random" or a checkpoint path), freeing
        the model loaded before. map_to_project: the model's classes become the project's (by name)."""
        rid = self._next()
        self.model_info = {}
        self._req_load.emit(rid, name, str(source), device, bool(fp16),
                            -1.0 if score_threshold is None else float(score_threshold), bool(map_to_project))
        return rid

    def set_score_threshold(self, score: float) -> None:
        self._req_threshold.emit(float(score))

    def predict_image(self, image_id: int) -> int:
        rid = self._next()
        self.shared.latest_image_request = rid
        self._req_image.emit(rid, int(image_id), self.shared.cancel_generation)
        return rid

    def predict_images(self, image_ids=None, unlabelled_only: bool = False) -> int:
        """Predict `image_ids` (None: all; unlabelled_only: those without labels) into a new run."""
        rid = self._next()
        self._running_batch = rid
        ids = None if image_ids is None else [int(i) for i in image_ids]
        self._req_images.emit(rid, ids, bool(unlabelled_only), self.batch_size, self.shared.cancel_generation)
        return rid

    def set_class_colors(self, colors: dict[str, tuple[int, int, int]]) -> None:
        """Colours of the project's classes for live overlays (class name -> (r, g, b))."""
        self.shared.class_colors = dict(colors)

    def predict_frame(self, frame) -> int:
        """Newest frame wins: replaces a frame still waiting for the worker."""
        if isinstance(frame, np.ndarray):
            frame = LiveFrame(frame)
        rid = self._next()
        with self.shared.lock:
            if self.shared.pending_frame is not None:
                self.shared.frames_dropped += 1
            self.shared.pending_frame = (rid, frame, self.shared.cancel_generation)
            post = not self.shared.frame_wake_posted
            self.shared.frame_wake_posted = True
        if post:
            self._req_frame.emit()
        return rid

    def run_task(self, fn) -> int:
        """Run fn(loaded, token, progress) on the engine thread after the requests before it."""
        rid = self._next()
        token = CancelToken()
        self._tasks[rid] = token
        self._req_task.emit(rid, fn, token)
        return rid

    def cancel_task(self, rid: int) -> None:
        """Stop one task at its next check (a task not started yet never runs)."""
        token = self._tasks.get(rid)
        if token is not None:
            token.cancel()

    def set_frame_overlay(self, fn) -> None:
        """fn(loaded, frame image, display) -> display, drawn over each predicted live frame; None: off."""
        self.shared.frame_overlay = fn

    def cancel(self) -> None:
        """Cancel every request made so far (the running one stops at its next check)."""
        for token in self._tasks.values():
            token.cancel()
        with self.shared.lock:
            self.shared.cancel_all()
            if self.shared.pending_frame is not None:
                self.shared.pending_frame = None

    def drop_pending_frame(self) -> None:
        """Forget a frame still waiting for the worker (a live view stopping); nothing else is cancelled."""
        with self.shared.lock:
            self.shared.pending_frame = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the worker has finished its current request (shutdown and tests only)."""
        return self.shared.idle.wait(timeout)

    @property
    def frames_dropped(self) -> int:
        return self.shared.frames_dropped

    @property
    def stale_dropped(self) -> int:
        """Image requests skipped or results dropped because a newer image was asked for."""
        return self.shared.stale_dropped + self.results_dropped

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel, let the current step finish, free the model, end the thread. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.cancel()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            self.error.emit("The engine thread did not stop in time.")
            return
        self._worker.release()
        self.set_store(None)

    # ---- results (GUI thread) -------------------------------------------------------------------
    @Slot(int, dict)
    def _on_loaded(self, rid: int, info: dict) -> None:
        self.model_info = info
        self.model_loaded.emit(info)

    @Slot(int, str)
    def _on_load_failed(self, rid: int, message: str) -> None:
        self.model_info = {}
        self.model_failed.emit(message)

    @Slot(int, object)
    def _on_done(self, rid: int, payload) -> None:
        if isinstance(payload, ImageResult) and rid < self.shared.latest_image_request:
            self.results_dropped += 1
            return
        if isinstance(payload, BatchResult) and rid == self._running_batch:
            self._running_batch = 0
        self.result.emit(rid, payload)

    @Slot(int, str)
    def _on_failed(self, rid: int, message: str) -> None:
        self.failed.emit(rid, message)
        self.error.emit(message)

    @Slot(int, int, int)
    def _on_progress(self, rid: int, done: int, total: int) -> None:
        self.progress.emit(done, total)

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        self.is_busy = busy
        self.busy.emit(busy)


def follow_session(bridge: EngineBridge, session) -> None:
    """The bridge works on the session's open project; before it closes, what writes to it stops."""
    session.project_opened.connect(bridge.set_store)
    session.project_closing.connect(lambda _store: _detach_store(bridge))
    if session.store is not None:
        bridge.set_store(session.store)


def _detach_store(bridge: EngineBridge) -> None:
    """Before a project closes: cancel what writes to it, then let go of it."""
    bridge.cancel()
    bridge.set_store(None)
