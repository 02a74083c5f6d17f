"""Guard against reference-count bugs in the installed PySide6/shiboken6 build (6.12.0).

In this build Qt methods returning void hand Python a `None` they never counted (100 calls of
QGraphicsItem.setPos lower None's reference count by 100), and emitting some signals (a
Signal(bool) carrying True, a Signal(str)) drops a reference to True or False. On Python < 3.12,
where these singletons are not immortal, a long session (a canvas makes thousands of such calls per
image switch) drives a count to zero and the process aborts with "none_dealloc: deallocating None"
or "bool_dealloc". We detect the loss at import and, only then, give None, True and False a reserve
of references so large that no session can exhaust it, which is what Python 3.12 does anyway.
"""
from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40
_SINGLETONS = (None, True, False)


def _refs() -> tuple[int, ...]:
    return tuple(sys.getrefcount(s) for s in _SINGLETONS)


def references_are_lost() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        flag = Signal(bool)
        text = Signal(str)

    probe = _Probe()
    sink = []
    probe.flag.connect(sink.append)
    probe.text.connect(sink.append)
    before = _refs()
    for _ in range(20):
        probe.setObjectName("probe")
        probe.flag.emit(True)
        probe.flag.emit(False)
        probe.text.emit("probe")
    sink.clear()
    return any(b - a >= 10 for a, b in zip(_refs(), before))


def apply() -> bool:
    """Pin the singletons when the bug is present; returns whether it did. Safe to call again."""
    if sys.version_info >= (3, 12) or min(_refs()) > RESERVE // 2:
        return False
    if not references_are_lost():
        return False
    for s in _SINGLETONS:
        ctypes.c_ssize_t.from_address(id(s)).value += RESERVE
    return True


APPLIED = apply()
