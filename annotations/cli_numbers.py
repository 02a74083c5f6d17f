"""Number options of the command line, checked as they are parsed: `type=number(float, 0, 1)`
refuses a value of the wrong type, NaN, infinity or a value out of range with one line
("argument --score: 2 is outside 0..1"), before anything runs. Nothing heavy is imported here."""
from __future__ import annotations

import argparse
import math

BIG = 2**63 - 1  # what SQLite and the seeds take


def number(kind: type, lo: float | None = None, hi: float | None = None, above: bool = False):
    """An argparse type: `kind` (int or float) in lo..hi (`above`: more than lo, not lo itself)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") \
                from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        low = lo is not None and (value <= lo if above else value < lo)
        if low or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{text}: expected {_span(lo, hi, above)}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _span(lo, hi, above: bool) -> str:
    lo, hi = (v if isinstance(v, int) or v is None else f"{v:g}" for v in (lo, hi))
    if lo is None:
        return f"at most {hi}"
    if hi is None:
        return f"more than {lo}" if above else f"{lo} or more"
    return f"more than {lo} and at most {hi}" if above else f"{lo} to {hi}"
