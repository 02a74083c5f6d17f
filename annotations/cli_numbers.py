"""Number options of the command line, checked as they are parsed: `type=number(float, 0, 1)`
refuses a value of the wrong type, NaN, infinity or a value out of range with one line
("argument --score: 2: expected 0 to 1"), before anything runs. Nothing heavy is imported here."""
from __future__ import annotations

import argparse

from .ranges import problem, span


def number(kind: type, lo: float | None = None, hi: float | None = None, above: bool = False):
    """An argparse type: `kind` (int or float) in lo..hi (`above`: more than lo, not lo itself)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") \
                from None
        wrong = problem(value, kind, lo, hi, above)
        if wrong == "finite":
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if wrong == "range":
            raise argparse.ArgumentTypeError(f"{text}: expected {span(lo, hi, above)}")
        return value
    parse.__name__ = kind.__name__
    return parse
