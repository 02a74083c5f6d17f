"""The evaluation feature: a dock with the evaluation panel and a Model-menu entry to open it."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .evaluation.panel import EvaluationPanel


def install(window) -> EvaluationPanel:
    panel = EvaluationPanel(window)
    panel.setObjectName("evaluation_panel")
    dock = window.add_panel("evaluation", "Evaluation", panel, Qt.BottomDockWidgetArea)
    dock.hide()  # opened from the Model menu; a saved layout may show it again

    def open_view():
        dock.show()
        dock.raise_()
    window.menu("&Model").addAction("Evaluate predictions...", open_view)
    window.project_opened.connect(panel.set_store)
    window.project_closing.connect(panel.project_closing)
    window.add_shutdown_hook(panel.shutdown)
    return panel
