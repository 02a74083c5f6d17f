"""The one error base and the one cancellation mechanism of the app, for every layer.

`SightlineError` is what the app reports to a person: `str(e)` is a readable message (one line, or a
few), never a traceback. Every error class of annotations/, engine/ and gui/ derives from it, so a
command line or a job catches one type and prints `error: <message>`.

`Cancelled` is the only cancellation exception. `CancelToken` is the only cancellation token: the
side that asks (a GUI button, a signal handler) calls `cancel()`, the side that works calls
`check()` between steps (or reads `cancelled`).
"""
from __future__ import annotations

import threading


class SightlineError(Exception):
    """Bad input, an impossible request or a failed resource, with a message for a person."""

    @property
    def message(self) -> str:
        text = str(self)
        return text if text else self.__class__.__name__


class StoreError(SightlineError):
    """A user-facing problem with the project store (annotations/store.py)."""


class Cancelled(SightlineError):
    """The work was cancelled between two steps; what it promised not to change is unchanged."""

    def __init__(self, message: str = "cancelled"):
        super().__init__(message)


class CancelToken:
    """Thread-safe: one side cancels, the other checks between steps."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self, message: str = "cancelled") -> None:
        if self._event.is_set():
            raise Cancelled(message)

    def reset(self) -> None:
        self._event.clear()

