"""`--max-pixels N`: the option of every command that reads images (import, export, predict, train,
rank, explain), which the pixel limit's message names. Without it the limit is
$SIGHTLINE_MAX_PIXELS or the default (see imageio.pixel_limit). Nothing heavy is imported here:
main.py builds every command's parser at start."""
from __future__ import annotations

import argparse
import math


def _pixels(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of pixels (e.g. 1e9)")
    return int(value)


def add_max_pixels_argument(p) -> None:
    p.add_argument("--max-pixels", type=_pixels, metavar="N",
                   help="largest image (width x height) accepted, against decompression bombs "
                        "(default 268 million, or $SIGHTLINE_MAX_PIXELS)")


def apply_max_pixels(args) -> None:
    """Sets the limit for this process (and the data loader workers it forks) when the option was given."""
    if getattr(args, "max_pixels", None) is not None:
        from .imageio import set_pixel_limit
        set_pixel_limit(args.max_pixels)
