"""Entropy: an object is uncertain when its class probabilities are spread."""
from __future__ import annotations

from ..base import UNLABELLED, Strategy
from ..classes import entropy, uncertainty_scores

STRATEGY = Strategy(
    "entropy", "normalised entropy of the class probabilities of the run's objects", UNLABELLED,
    lambda data, opts: uncertainty_scores(data, opts, entropy))
