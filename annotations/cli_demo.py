"""`main.py demo PATH`: write the synthetic demo project."""
from __future__ import annotations

import sys

from .cli_numbers import number
from .ranges import BIG


def add_arguments(p, name):
    p.add_argument("path", help="folder to create (must not hold a project yet)")
    p.add_argument("--images", type=number(int, 1, 100_000), default=300, help="number of images (default 300)")
    p.add_argument("--seed", type=number(int, 0, BIG), default=0)


def run(args) -> int:
    from .demo import generate_demo
    from .progress import TerminalProgress
    try:
        with TerminalProgress("demo") as bar:
            store = generate_demo(args.path, n_images=args.images, seed=args.seed, progress=bar)
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"Demo project written to {store.root}: {store.image_count()} images, "
          f"{store.annotation_count()} labels, {len(store.categories())} categories.")
    store.close()
    return 0
