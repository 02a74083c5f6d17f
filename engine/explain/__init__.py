"""Explanations of detectors, segmenters and classifiers (no Qt): where did the model look, and can
the map be trusted? explain.explain for one map (with its deletion/insertion AUC), explain.estimate for
its cost before it runs, explain.sanity_check for the randomisation check, pointing.pointing_game for a
split, features and visualise for what the layers hold."""
from __future__ import annotations

from .errors import ExplainError
from .explain import Estimate, Explanation, estimate, explain, prepare, sanity_check
from .faithfulness import Curves, RandomisationStep
from .features import FeatureGrid, LayerStats, activation_statistics, feature_maps
from .maps import overlay, peak
from .methods import METHODS, method_names
from .model import CLASSIFIER, DETECTOR, SEMANTIC, Explainable
from .pointing import PointingReport, pointing_game
from .targets import (ClassTarget, DetectionTarget, RegionClassTarget, Target, best_class_for_box, box_region,
                      detection, label_box, semantic_target, top_detection_target)
from .visualise import deepdream, visualise_filter

__all__ = ["CLASSIFIER", "DETECTOR", "METHODS", "SEMANTIC", "ClassTarget", "Curves", "DetectionTarget", "Estimate",
           "ExplainError", "Explainable", "Explanation", "FeatureGrid", "LayerStats", "PointingReport",
           "RandomisationStep", "RegionClassTarget", "Target", "activation_statistics", "best_class_for_box",
           "box_region", "deepdream", "detection", "estimate", "explain", "feature_maps", "label_box",
           "method_names", "overlay", "peak", "pointing_game", "prepare", "sanity_check", "semantic_target",
           "top_detection_target", "visualise_filter"]
