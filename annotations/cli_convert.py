"""`main.py import` / `main.py export`: not built yet."""
from __future__ import annotations

import sys


def add_arguments(p, name):
    pass


def run(args) -> int:
    print(f"main.py {args.command} is not available yet.", file=sys.stderr)
    return 2
