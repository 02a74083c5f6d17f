"""Background jobs for work that is not model inference: imports, exports, evaluations, scans.

    job = Job(fn, *args)            # fn(ctx, *args) -> result; ctx.progress(done, total, text)
    job.progress.connect(...); job.finished.connect(...); job.failed.connect(...)
    job.start()                     # runs on the global QThreadPool
    job.cancel()                    # ctx.cancelled becomes True; ctx.progress returns False

`fn` checks ctx.cancelled (or the return of ctx.progress) between steps and raises
Cancelled, or just returns. Exceptions reach `failed` as readable text, never as a traceback
dialog, and go to the log with their traceback (every job, whoever started it; `job.title` names
it there). Signals are delivered on the GUI thread.
"""
from __future__ import annotations

import logging
import threading
import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from annotations.errors import CancelToken, Cancelled

log = logging.getLogger(__name__)


class JobContext:
    def __init__(self, job: "Job"):
        self._job = job
        self.token = CancelToken()  # what the job's function may hand to engine/annotations code

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def progress(self, done: int, total: int, text: str = "") -> bool:
        """Report progress; returns False once the job was cancelled."""
        self._job.progress.emit(int(done), int(total), text)
        return not self.cancelled

    def check(self) -> None:
        self.token.check()


class _Runnable(QRunnable):
    def __init__(self, job: "Job"):
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self):
        job = self.job
        try:
            result = job._fn(job.ctx, *job._args, **job._kwargs)
        except Cancelled:
            job.cancelled.emit()
        except Exception as e:  # noqa: BLE001 - every failure becomes a message
            job.error_details = traceback.format_exc()
            log.error("%s failed:\n%s", job.title or getattr(job._fn, "__qualname__", "a job"), job.error_details)
            job.failed.emit(f"{e}" if str(e) else e.__class__.__name__)
        else:
            if job.ctx.cancelled:
                job.cancelled.emit()
            else:
                job.finished.emit(result)
        finally:
            job.done_event.set()


class Job(QObject):
    progress = Signal(int, int, str)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, fn, *args, parent: QObject | None = None, **kwargs):
        super().__init__(parent)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.ctx = JobContext(self)
        self.error_details = ""
        self.title = ""  # what the log calls it
        self.done_event = threading.Event()

    def start(self, pool: QThreadPool | None = None) -> "Job":
        (pool or QThreadPool.globalInstance()).start(_Runnable(self))
        return self

    def cancel(self) -> None:
        self.ctx.token.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests and shutdown only, never on a GUI path)."""
        return self.done_event.wait(timeout)
