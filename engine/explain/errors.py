"""The one error type of the explanations: a bad layer, target, method or parameter, said plainly."""
from __future__ import annotations

from difflib import get_close_matches

from annotations.errors import SightlineError


class ExplainError(SightlineError, ValueError):
    """An explanation that cannot be made as asked; the message names what was wrong and what exists."""


def unknown(what: str, name: str, known: list[str], limit: int = 8, plural: str = "") -> ExplainError:
    """"Unknown layer 'x'. Did you mean: a, b? (N layers: ...)" -- close names first, then a few known ones."""
    close = get_close_matches(str(name), known, n=4, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    shown = ", ".join(known[:limit]) + (", ..." if len(known) > limit else "")
    return ExplainError(f"Unknown {what} {name!r}.{hint} Known {plural or what + 's'} ({len(known)}): {shown}")
