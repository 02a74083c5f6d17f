"""The evaluation feature: a dock with the evaluation panel and a Model-menu entry to open it.

The dock opens under the canvas (a third of the window's height; its layout puts the controls beside
the tabs and the plots side by side), and the canvas refits to the room left."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .evaluation.panel import EvaluationPanel
from .features import Feature, FeatureContext


def install(ctx: FeatureContext) -> EvaluationPanel:
    panel = EvaluationPanel(ctx.host)
    panel.setObjectName("evaluation_panel")
    ctx.host.add_panel("evaluation", "Evaluation", panel, Qt.BottomDockWidgetArea).hide()
    ctx.host.menu("&Model").addAction("Evaluate predictions...", lambda: ctx.host.show_panel("evaluation"))
    ctx.session.project_opened.connect(panel.set_store)
    ctx.session.project_closing.connect(panel.project_closing)
    ctx.session.runs_changed.connect(lambda _change: panel.refresh_runs())
    ctx.host.add_shutdown_hook(panel.shutdown)
    return panel


FEATURE = Feature("evaluation", install)
