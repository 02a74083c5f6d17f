"""A progress bar for terminals (stderr), used as a `progress(done, total)` callback."""
from __future__ import annotations

import sys
import time


class TerminalProgress:
    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._start = time.monotonic()

    def __call__(self, done: int, total: int) -> bool:
        now = time.monotonic()
        if self.tty and (now - self._last > 0.1 or done >= total):
            self._last = now
            frac = done / total if total else 1.0
            bar = "#" * int(frac * 30)
            eta = (now - self._start) / frac * (1 - frac) if frac > 0 else 0
            self.stream.write(f"\r{self.label}: [{bar:<30}] {done}/{total}  ETA {eta:5.0f}s")
            self.stream.flush()
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.tty:
            self.stream.write("\n")
