"""Fine-tuning on a project's labels: dataset, models, the training loop, validation, run folders.

Entry points: train(project, TrainOptions, run_dir, emit=...), default_options(model, source),
list_runs(project_root). `main.py train` wraps them for the command line and torchrun.
"""
from .data import TrainingDataError
from .loop import TrainingError, TrainResult, train
from .models import ModelSourceError
from .options import TrainOptions, default_options, family_defaults
from .runs import RunInfo, list_runs, new_run_dir, read_run, resume_options

__all__ = ["TrainOptions", "TrainResult", "TrainingError", "TrainingDataError", "ModelSourceError", "train",
           "default_options", "family_defaults", "RunInfo", "list_runs", "read_run", "new_run_dir",
           "resume_options"]
