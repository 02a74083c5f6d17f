"""One engine task at a time for a view of the Explain dock, with its progress and its cancel.

    runner = TaskRunner(bridge)
    runner.start(fn, on_done, "Grad-CAM")   # fn(loaded, token, progress) on the engine thread
    runner.cancel()                         # the task stops at its next check; on_done is never called

A task started while another runs cancels the older one; what an older task still delivers is
dropped. Signals: started(text), progress(done, total), ended(message, failed) -- "TEXT: done." before
on_done runs, "Cancelled." after a cancel: a view shows nothing half-done, only what on_done was given.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from ..bridge import EngineBridge


class TaskRunner(QObject):
    started = Signal(str)
    progress = Signal(int, int)
    ended = Signal(str, bool)  # message, failed

    def __init__(self, bridge: EngineBridge, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.rid = 0
        self._on_done: Callable | None = None
        self._text = ""
        bridge.task_done.connect(self._done)
        bridge.task_failed.connect(self._failed)
        bridge.task_cancelled.connect(self._cancelled)
        bridge.task_progress.connect(self._progress)

    @property
    def running(self) -> bool:
        return self.rid != 0

    def start(self, fn, on_done: Callable, text: str) -> int:
        if self.rid:
            self.bridge.cancel_task(self.rid)
        self._on_done, self._text = on_done, text
        self.rid = self.bridge.run_task(fn)
        self.started.emit(text)
        return self.rid

    def cancel(self) -> None:
        if self.rid:
            self.bridge.cancel_task(self.rid)
            self._finish("Cancelled.", False)

    def _finish(self, message: str, failed: bool) -> None:
        self.rid, self._on_done = 0, None
        self.ended.emit(message, failed)

    def _progress(self, rid: int, done: int, total: int) -> None:
        if rid == self.rid:
            self.progress.emit(done, total)

    def _done(self, rid: int, value) -> None:
        if rid != self.rid:
            return
        on_done = self._on_done
        self._finish(f"{self._text}: done.", False)
        try:
            on_done(value)
        except Exception as e:  # noqa: BLE001 - a result a view cannot show is a message, not a crash
            self.ended.emit(f"{self._text}: {e}", True)

    def _failed(self, rid: int, message: str) -> None:
        if rid == self.rid:
            self._finish(f"{self._text} failed: {message}", True)

    def _cancelled(self, rid: int) -> None:
        if rid == self.rid:
            self._finish("Cancelled.", False)
