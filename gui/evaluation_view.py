"""The evaluation feature: a dock with the evaluation panel and a Model-menu entry to open it.

The dock opens on the right, beside the labelling panels, at 45% of the window's width and most of its
height: the canvas keeps the window's full height (and refits), and the precision-recall plot gets the
height it needs, which a dock under the canvas cannot give on a 1280x800 screen."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .evaluation.panel import EvaluationPanel
from .features import Feature, FeatureContext


def install(ctx: FeatureContext) -> EvaluationPanel:
    panel = EvaluationPanel(ctx.host)
    panel.setObjectName("evaluation_panel")
    ctx.host.add_panel("evaluation", "Evaluation", panel, Qt.RightDockWidgetArea).hide()
    ctx.host.menu("&Model").addAction("Evaluate predictions...", lambda: ctx.host.show_panel("evaluation", width_fraction=0.45))
    ctx.session.project_opened.connect(panel.set_store)
    ctx.session.project_closing.connect(panel.project_closing)
    ctx.session.runs_changed.connect(lambda _change: panel.refresh_runs())
    ctx.host.add_shutdown_hook(panel.shutdown)
    return panel


FEATURE = Feature("evaluation", install)
