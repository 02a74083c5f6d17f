"""Progress and cancellation for explanation work: one object the methods step through.

A caller passes a progress(done, total) callback (returning False asks to stop, like the rest of the
engine) and/or an annotations.errors.CancelToken; `Steps.step()` checks both between batches.
"""
from __future__ import annotations

from typing import Callable

from annotations.errors import Cancelled, CancelToken

Progress = Callable[[int, int], "bool | None"] | None


class Steps:
    def __init__(self, total: int, progress: Progress = None, cancel: CancelToken | None = None) -> None:
        self.total = max(1, int(total))
        self.done = 0
        self.progress = progress
        self.cancel = cancel

    def check(self) -> None:
        if self.cancel is not None:
            self.cancel.check("explanation cancelled")

    def step(self, n: int = 1) -> None:
        """n more units done; raises Cancelled when the token is set or progress returned False."""
        self.check()
        self.done = min(self.total, self.done + n)
        if self.progress is not None and self.progress(self.done, self.total) is False:
            raise Cancelled("explanation cancelled")

    def finish(self) -> None:
        if self.done < self.total:
            self.step(self.total - self.done)
