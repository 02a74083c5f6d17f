"""The evaluation feature: a dock with the evaluation panel and a Model-menu entry to open it.

The dock is a tab beside the labelling panels (full height, so that plots are readable), and
widens the side area when opened; the canvas keeps the window's height."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .evaluation.panel import EvaluationPanel
from .features import Feature, FeatureContext


def install(ctx: FeatureContext) -> EvaluationPanel:
    panel = EvaluationPanel(ctx.host)
    panel.setObjectName("evaluation_panel")
    ctx.host.add_panel("evaluation", "Evaluation", panel, Qt.RightDockWidgetArea).hide()
    ctx.host.menu("&Model").addAction("Evaluate predictions...",
                                      lambda: ctx.host.show_panel("evaluation", width_fraction=0.45))
    ctx.session.project_opened.connect(panel.set_store)
    ctx.session.project_closing.connect(panel.project_closing)
    ctx.session.runs_changed.connect(lambda _change: panel.refresh_runs())
    ctx.host.add_shutdown_hook(panel.shutdown)
    return panel


FEATURE = Feature("evaluation", install)
