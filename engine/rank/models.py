"""The model a run was made with, loaded again from the run's provenance (or a given source)."""
from __future__ import annotations

from annotations.store import Store

from .base import RankError


def run_source(store: Store, run_id: int, weights: str | None = None) -> tuple[str, str]:
    """(model name, weights source for load_model) of a run: `weights` when given, else what the
    run recorded ("checkpoint PATH" -> PATH, torchvision's DEFAULT -> "default")."""
    run = store.run(run_id)
    if run is None:
        raise RankError(f"project {store.root}: no model run {run_id}")
    if weights:
        return run.model, weights
    recorded = run.weights or ""
    if recorded.startswith("checkpoint "):
        return run.model, recorded[len("checkpoint "):]
    if recorded.startswith("torchvision DEFAULT"):
        return run.model, "default"
    raise RankError(f"run {run_id} ({run.model}) was made with {recorded or 'unrecorded weights'}, which cannot be "
                    "loaded again; give the weights it was made with (a checkpoint file)")


def predictor_for_run(store: Store, run_id: int, weights: str | None = None, device: str = "auto",
                      batch_size: int = 4):
    """A Predictor with the run's model and the run's settings (score threshold, classes, NMS)."""
    from engine.predictor import Predictor
    from engine.weights import load_model

    name, source = run_source(store, run_id, weights)
    params = store.run(run_id).params
    loaded = load_model(name, source, device)
    return Predictor(loaded, score_threshold=params.get("score_threshold"), classes=params.get("classes"),
                     nms_iou=params.get("nms_iou"), batch_size=batch_size)
