"""Explanations of detectors, segmenters and classifiers (no Qt): where did the model look, and can
the map be trusted? See explain.explain for one map, pointing.pointing_game for a split, features and
visualise for what layers hold."""
from __future__ import annotations

from .errors import ExplainError
from .explain import Estimate, Explanation, estimate, explain, prepare, sanity_check
from .faithfulness import Curves, RandomisationStep
from .methods import METHODS, method_names
from .model import CLASSIFIER, DETECTOR, SEMANTIC, Explainable
from .targets import ClassTarget, DetectionTarget, RegionClassTarget, Target, detection, label_box

__all__ = ["CLASSIFIER", "DETECTOR", "METHODS", "SEMANTIC", "ClassTarget", "Curves", "DetectionTarget",
           "Estimate", "ExplainError", "Explainable", "Explanation", "RandomisationStep", "RegionClassTarget",
           "Target", "detection", "estimate", "explain", "label_box", "method_names", "prepare", "sanity_check"]
