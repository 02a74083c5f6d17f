"""The Explain feature: a dock that explains the loaded model's predictions (gui/explain/), the heat
map as a canvas layer under the shapes, and the "explain" service other features call (the
evaluation view's error browser: why this false positive, why this missed label).

The dock opens under the canvas, like the live and evaluation views (its controls, the layer tree and
the two maps side by side need the width), from the Model menu ("Explain…") or by the service."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from .canvas.heatmap_layer import HeatmapLayer
from .explain.panel import ExplainPanel
from .features import Feature, FeatureContext

class ExplainService:
    """What other features may ask of the Explain dock."""

    def __init__(self, panel: ExplainPanel, host):
        self._panel, self._host = panel, host

    def explain_annotation(self, annotation_id: int, slot: int = 0) -> int | None:
        """Explain one stored prediction (why did the model find it?) or label (why was it missed?) with
        the dock's method and layer: its image is shown with the object selected. Returns the task's id."""
        target = self._panel.target_of_annotation(annotation_id)
        if target is None:
            self._host.warn("Explain", f"Annotation {annotation_id} is no longer in the project.")
            return None
        self._host.show_panel("explain")
        self._host.show_image(target.image_id, [int(annotation_id)])
        return self._panel.explain(slot, target)


def install(ctx: FeatureContext) -> ExplainPanel:
    edits = ctx.services.optional("edits")
    layer = None
    if edits is not None:
        layer = HeatmapLayer()
        edits.add_layer(layer)
    panel = ExplainPanel(ctx.services.get("engine"), ctx.session, layer, ctx.host.show_image)
    panel.setObjectName("explain_panel")
    ctx.host.add_panel("explain", "Explain", panel, Qt.BottomDockWidgetArea).hide()
    ctx.session.project_closing.connect(lambda _store: panel.clear_maps())
    ctx.host.add_shutdown_hook(panel.shutdown)
    action = QAction("E&xplain…", panel)
    action.setToolTip("Where did the model look? Heat maps for the selected prediction or label")
    action.triggered.connect(lambda: ctx.host.show_panel("explain"))
    ctx.host.menu("&Model").addAction(action)
    ctx.services.provide("explain", ExplainService(panel, ctx.host))
    return panel


FEATURE = Feature("explain", install, requires=("engine",), optional=("edits",), provides=("explain",))
