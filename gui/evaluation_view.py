"""The evaluation feature: a dock with the evaluation panel and a Model-menu entry to open it.

The dock opens on the right, beside the labelling panels, at 45% of the window's width and most of its
height: the canvas keeps the window's full height (and refits), and the precision-recall plot gets the
height it needs, which a dock under the canvas cannot give on a 1280x800 screen."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

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
    explain = ctx.services.optional("explain")
    if explain is not None:
        enable_explain(panel, explain.explain_annotation)
    return panel


def explained_annotation(row: dict) -> int | None:
    """What "explain" means for an object of the error lists: an FN's label (why was it missed?),
    otherwise the prediction (why this FP?); None when the row has neither."""
    ann = int(row["gt_id"]) if row["kind"] == "FN" or int(row["pred_id"]) < 0 else int(row["pred_id"])
    return ann if ann >= 0 else None


def enable_explain(panel: EvaluationPanel, explain) -> None:
    """An "Explain" action on the object lists; explain(annotation id) is the Explain service."""
    def run(model, view):
        row = view.currentIndex().row()
        ann = explained_annotation(model.row(row)) if 0 <= row < model.rowCount() else None
        return None if ann is None else explain(ann)
    for view, model in ((panel.errors_view, panel.errors_model), (panel.cell_view, panel.cell_model)):
        action = QAction("Explain: where did the model look?", view)
        action.setObjectName("explain_object")
        action.triggered.connect(lambda _=False, m=model, v=view: run(m, v))
        view.setContextMenuPolicy(Qt.ActionsContextMenu)
        view.addAction(action)


FEATURE = Feature("evaluation", install, optional=("explain",))
