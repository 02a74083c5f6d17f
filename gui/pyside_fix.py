"""Guard against a reference-count bug in the installed PySide6/shiboken6 build.

In this build every Qt method returning void hands Python a `None` it never counted (probe: 100
calls of QGraphicsItem.setPos lower None's reference count by 100). On Python < 3.12, where None is
not immortal, a long session (a canvas makes thousands of such calls per image switch) eventually
drives the count to zero and the process aborts with "none_dealloc: deallocating None". We detect
the bug at import and, only then, give None a reserve of references so large that no session can
exhaust it, which is what Python 3.12 does for None anyway.
"""
from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40


def void_calls_lose_none_refs() -> bool:
    from PySide6.QtCore import QObject
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(50):
        obj.setObjectName("probe")
    return sys.getrefcount(None) < before - 25


def apply() -> bool:
    """Pin None when the bug is present; returns whether it did. Safe to call more than once."""
    if sys.version_info >= (3, 12) or sys.getrefcount(None) > RESERVE // 2:
        return False
    if not void_calls_lose_none_refs():
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += RESERVE
    return True


APPLIED = apply()
