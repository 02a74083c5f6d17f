"""What to label next, and which labels are probably wrong: scores from a run's stored predictions.

Strategies (engine/rank/strategies, one module each): uncertainty (least confidence), margin and
entropy of unlabelled images; disagreement between two runs (or one model on an image and its
mirror image, engine.rank.flip); mistakenness of labelled images (FiftyOne Brain's definitions).
run_ranking (engine.rank.request) is what the CLI and the window call: the model passes a request
needs (mirror images, embeddings), then rank_project, which scores, stores the scores
(annotations.scores) and can pick a diverse batch in the run model's embedding space
(engine.rank.diversity, engine.rank.embeddings). No Qt; torch only in
the modules that run a model (embeddings, flip, models), imported on use.
"""
from annotations.scores import ImageScore, ObjectScore

from .base import AGGREGATES, LABELLED, UNLABELLED, RankError, RankOptions, Strategy
from .ranking import Ranking, rank_project
from .report import to_json, why
from .request import FLIP, RankRequest, run_ranking
from .strategies import get_strategy, strategy_names

__all__ = ["AGGREGATES", "FLIP", "LABELLED", "UNLABELLED", "ImageScore", "ObjectScore", "RankError", "RankOptions",
           "RankRequest", "Ranking", "Strategy", "get_strategy", "rank_project", "run_ranking", "strategy_names",
           "to_json", "why"]
