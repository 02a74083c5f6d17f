"""One rule for a number that comes from outside (a command line, a form, a run folder's options, a
method parameter): its type (a whole number or any number, never a boolean), finite, in range.
Each caller words the refusal for its place (an argparse option, a training option, a parameter)."""
from __future__ import annotations

import math
import numbers

BIG = 2**63 - 1  # the largest whole number SQLite (ids), numpy and torch (seeds) take


def span(lo, hi, above: bool = False) -> str:
    """ "0 to 1", "1 or more", "more than 0 and at most 1"."""
    lo, hi = (v if isinstance(v, int) or v is None else f"{v:g}" for v in (lo, hi))
    if lo is None:
        return f"at most {hi}"
    if hi is None:
        return f"more than {lo}" if above else f"{lo} or more"
    return f"more than {lo} and at most {hi}" if above else f"{lo} to {hi}"


def problem(value, kind: type, lo=None, hi=None, above: bool = False) -> str | None:
    """What is wrong with `value` as a `kind` (int or float) in lo..hi (`above`: more than lo, not lo
    itself): "type", "finite" or "range"; None when nothing is."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if kind is int else numbers.Real):
        return "type"
    if kind is float and not math.isfinite(value):
        return "finite"
    if (lo is not None and (value <= lo if above else value < lo)) or (hi is not None and value > hi):
        return "range"
    return None
