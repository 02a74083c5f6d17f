"""Measuring models against labels: COCO (boxes, masks), PR and F1 curves, VOC AP, per-object
matching with a confusion matrix, the TIDE error breakdown, and semantic-segmentation metrics.
No Qt here."""
from .coco import ClassMetrics, CocoResult, PRCurve, evaluate_coco, evaluate_project
from .curves import ConfidenceCurve, confidence_curves
from .inputs import EvaluationError
from .matching import Matches, ObjectOutcome, ThresholdCounts, match_objects
from .report import EvaluationReport, build_report, evaluate_project_report
from .semantic import SemanticConfusion, SemanticMetrics, semantic_metrics
from .tide import TideResult, tide_errors
from .voc import VocResult, evaluate_voc, evaluate_voc_both, voc_ap

__all__ = [
    "ClassMetrics", "CocoResult", "PRCurve", "evaluate_coco", "evaluate_project",
    "ConfidenceCurve", "confidence_curves", "EvaluationError",
    "Matches", "ObjectOutcome", "ThresholdCounts", "match_objects",
    "EvaluationReport", "build_report", "evaluate_project_report",
    "SemanticConfusion", "SemanticMetrics", "semantic_metrics", "TideResult", "tide_errors",
    "VocResult", "evaluate_voc", "evaluate_voc_both", "voc_ap",
]
