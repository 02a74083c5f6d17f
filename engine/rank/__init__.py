"""What to label next, and which labels are probably wrong: scores from a run's stored predictions.

Strategies (engine/rank/strategies, one module each): uncertainty (least confidence), margin and
entropy of unlabelled images; disagreement between two runs (or one model on an image and its
mirror image, engine.rank.flip); mistakenness of labelled images (FiftyOne Brain's definitions).
rank_project scores, stores the scores (annotations.scores) and can pick a diverse batch in the
run model's embedding space (engine.rank.diversity, engine.rank.embeddings). No Qt; torch only in
the modules that run a model (embeddings, flip, models), imported on use.
"""
from annotations.scores import ImageScore, ObjectScore

from .base import AGGREGATES, LABELLED, UNLABELLED, RankError, RankOptions, Strategy
from .ranking import Ranking, rank_project
from .report import to_json, why
from .strategies import get_strategy, strategy_names

__all__ = ["AGGREGATES", "LABELLED", "UNLABELLED", "ImageScore", "ObjectScore", "RankError", "RankOptions",
           "Ranking", "Strategy", "get_strategy", "rank_project", "strategy_names", "to_json", "why"]
