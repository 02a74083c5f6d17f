"""Measuring models against labels: COCO (boxes, masks), PR and F1 curves, VOC AP, per-object
matching with a confusion matrix, and semantic-segmentation metrics. No Qt here."""
from .coco import CocoResult, ClassMetrics, PRCurve, evaluate_coco, evaluate_project
from .inputs import EvaluationError

__all__ = ["CocoResult", "ClassMetrics", "PRCurve", "EvaluationError", "evaluate_coco", "evaluate_project"]
