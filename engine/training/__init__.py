"""Fine-tuning on a project's labels: dataset, models, the training loop, validation, run folders.

Entry points: train(project, TrainOptions, run_dir, emit=...), default_options(model, source),
list_runs(project_root). `main.py train` wraps them for the command line and torchrun.

The names below load their module on first use, so that reading run folders (runs, options) does
not import torch: the window lists runs without it.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "TrainingDataError": "data", "TrainingError": "loop", "TrainResult": "loop", "train": "loop",
    "ModelSourceError": "models", "OptionsError": "options", "TrainOptions": "options", "default_options": "options",
    "family_defaults": "options", "RunInfo": "runs", "list_runs": "runs", "read_run": "runs",
    "new_run_dir": "runs", "resume_options": "runs",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
