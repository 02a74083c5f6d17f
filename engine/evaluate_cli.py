"""`main.py evaluate`: not built yet (see its issue)."""
from __future__ import annotations

import sys


def add_arguments(p, name):
    pass


def run(args) -> int:
    print("main.py evaluate is not available yet.", file=sys.stderr)
    return 2
