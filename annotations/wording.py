"""How a message to a person words a count or a duration: one rule for every layer."""
from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """A count and its noun: "1 annotation", "2 annotations", "0 categories" (plural given)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def duration(seconds: float | None) -> str:
    """ "45 s", "3m20s", "1h05m"; "?" when not known."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
