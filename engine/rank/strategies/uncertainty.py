"""Least confidence: an object is uncertain when its most likely class is not likely."""
from __future__ import annotations

from ..base import UNLABELLED, Strategy
from ..classes import least_confidence, uncertainty_scores

STRATEGY = Strategy(
    "uncertainty", "least confidence (1 - top class probability) of the run's objects", UNLABELLED,
    lambda data, opts: uncertainty_scores(data, opts, least_confidence))
