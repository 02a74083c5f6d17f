"""What a panel that works on a run of predictions (Evaluation, Label next) says when it cannot yet:
one wording for both, naming the next step for the project that is open."""
from __future__ import annotations


def no_project(action: str) -> str:
    return f"Open a project with predictions, choose a run and press {action}."


def no_predictions(verb: str) -> str:
    return ("This project has no predictions yet: make some with the Model panel's Predict buttons (or main.py "
            f"predict, or import a COCO results file), then {verb} them.")
