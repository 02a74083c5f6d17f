"""Work-arounds for defects of the installed Qt binding, applied once, on import.

PySide6 6.12 on Python 3.11: SignalInstance.emit() returns True without adding a reference, so each
emit made from Python takes one reference away from True. After a few hundred emits the interpreter
aborts ("Fatal Python error: bool_dealloc"), typically while a live view or a batch reports progress.
True and False are never freed (Python 3.12 makes them immortal), so when the defect is detected they
are given references to spare. Harmless where the binding is fixed: then nothing is changed.
gui/pyside_fix.py guards None against the same kind of defect in void-returning methods.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

SPARE_REFERENCES = 1 << 40


class _Probe(QObject):
    ping = Signal()


def emit_steals_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before - 4


def _pin_bools() -> bool:
    if sys.version_info >= (3, 12) or sys.getrefcount(True) > SPARE_REFERENCES // 2:
        return False  # immortal bools, or already pinned
    if not emit_steals_a_reference():
        return False
    for value in (True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += SPARE_REFERENCES
    return True


PINNED = _pin_bools()
