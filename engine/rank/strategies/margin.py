"""Margin: an object is uncertain when its two most likely classes (or class and nothing) are close."""
from __future__ import annotations

from ..base import UNLABELLED, Strategy
from ..classes import margin, uncertainty_scores

STRATEGY = Strategy(
    "margin", "1 - (top - second class probability) of the run's objects", UNLABELLED,
    lambda data, opts: uncertainty_scores(data, opts, margin))
