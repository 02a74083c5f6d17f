"""`main.py train` as a child process (QProcess): JSON lines in, signals out.

The child is `python -m main train ...` with the folder that holds this app's packages first on
its path: the checkout when run from one, site-packages when installed (`pip install .`).

The GUI thread only reads what the child prints; all the work is in the child. Stop asks the child
to save and end (SIGTERM on POSIX, which the child handles like Ctrl+C); kill ends it at once.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal


CODE_ROOT = Path(__file__).resolve().parents[2]  # holds main.py, annotations/, engine/, gui/
CHILD = ["-m", "main", "train"]
log = logging.getLogger(__name__)


class TrainingProcess(QObject):
    event = Signal(dict)  # one JSON object the child printed
    log = Signal(str)  # a line of its stderr, or stdout that is not JSON
    started = Signal()
    ended = Signal(int, str)  # exit code, last status ("finished", "interrupted", "failed", "crashed")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.proc: QProcess | None = None
        self._buffer = b""
        self._err = b""
        self._stderr_tail: deque[str] = deque(maxlen=40)
        self.status = ""
        self.run_dir: str | None = None
        self.last_error = ""

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.NotRunning

    def start(self, args: list[str], run_dir: str | None = None) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already going")
        self.status, self.last_error, self.run_dir = "running", "", run_dir
        self._buffer = self._err = b""
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        path = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", str(CODE_ROOT) + (os.pathsep + path if path else ""))
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(CODE_ROOT))
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error)
        self.proc = proc
        self._stderr_tail.clear()
        proc.start(sys.executable, [*CHILD, *args])
        self.started.emit()

    def stop(self) -> None:
        """Ask the run to save a checkpoint and end."""
        if self.is_running():
            self.proc.terminate()

    def kill(self) -> None:
        if self.is_running():
            self.proc.kill()

    def wait(self, msecs: int) -> bool:
        return self.proc is None or self.proc.state() == QProcess.NotRunning or self.proc.waitForFinished(msecs)

    def _lines(self, data: bytes, pending: bytes) -> tuple[list[str], bytes]:
        pending += data
        *lines, rest = pending.split(b"\n")
        return [ln.decode("utf-8", "replace").rstrip("\r") for ln in lines], rest

    def _read_stdout(self) -> None:
        lines, self._buffer = self._lines(bytes(self.proc.readAllStandardOutput()), self._buffer)
        for line in lines:
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                self.log.emit(line)
                continue
            if isinstance(ev, dict) and "event" in ev:
                if ev["event"] == "done":
                    self.status = ev.get("status", "finished")
                elif ev["event"] == "error":
                    self.status, self.last_error = "failed", ev.get("message", "")
                elif ev["event"] == "start" and not self.run_dir:
                    pass
                self.event.emit(ev)
            else:
                self.log.emit(line)

    def _read_stderr(self) -> None:
        lines, self._err = self._lines(bytes(self.proc.readAllStandardError()), self._err)
        for line in lines:
            if line.strip():
                self._stderr_tail.append(line)
                if not line.startswith("warning: "):  # each warning also comes as a JSON event, logged once
                    self.log.emit(line)

    def _finished(self, code: int, exit_status) -> None:
        self._read_stdout()
        self._read_stderr()
        if exit_status == QProcess.CrashExit and self.status == "running":
            self.status = "crashed"
        elif self.status == "running":
            self.status = "failed" if code else "finished"
        if self.status in ("failed", "crashed"):
            log.error("training run %s ended %s (exit code %s): %s\n%s", self.run_dir, self.status, code,
                      self.last_error, "\n".join(self._stderr_tail))
        self.ended.emit(int(code), self.status)

    def _error(self, err) -> None:
        if err == QProcess.FailedToStart:
            self.status = "failed"
            self.last_error = f"Could not start {sys.executable} {' '.join(CHILD)}: {self.proc.errorString()}"
            log.error("training child: %s", self.last_error)
            self.log.emit(self.last_error)
            self.ended.emit(-1, "failed")
