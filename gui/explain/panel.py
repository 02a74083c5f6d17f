"""The Explain dock: method, layer (a tree of the loaded model's modules, the family's default layer
selected) and target (the prediction or label selected on the canvas, the top detection, or a
class); two maps side by side (A and B), each with its deletion/insertion AUC and its sanity check;
the map shown on the canvas as a layer under the shapes, with an opacity slider; tabs for the
layer's feature maps and a filter's visualisation.

Everything runs on the engine thread (tasks.py through one TaskRunner): one progress bar, one
Cancel. A slow method (occlusion, AblationCAM, D-RISE) first has its cost predicted and shown; the
same button pressed again starts it.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QScrollArea, QSlider, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from annotations.wording import duration

from ..bridge import EngineBridge
from ..canvas.heatmap_layer import HeatmapLayer
from ..session import Session
from .cards import MapCard
from .layer_tree import LayerTree
from .layer_views import FeatureView, FilterView
from .runner import TaskRunner
from .tasks import (SLOW_METHODS, ExplainOutcome, ExplainRequest, ModelOutline, TargetSpec, estimate_task,
                    explain_task, outline_task)

NO_MODEL = "Load a model in the Model panel to explain what it sees."
SLOTS = ("A", "B")
ERROR_STYLE = "color: #d04040;"
CONTROLS_WIDTH = 250


class ExplainPanel(QWidget):
    explained = Signal(int, object)  # slot, ExplainOutcome (shown)

    def __init__(self, bridge: EngineBridge, session: Session, layer: HeatmapLayer | None = None,
                 show_image=None, parent: QWidget | None = None):
        """layer: the canvas's heat-map layer (None without a canvas); show_image(image_id, highlight)."""
        super().__init__(parent)
        self.bridge, self.session, self.layer = bridge, session, layer
        self._show_image = show_image
        self.outline: ModelOutline | None = None
        self._confirmed: tuple[ExplainRequest, int] | None = None  # estimated: the next press starts it
        self.auc_steps = 16  # points of the deletion/insertion curves (each costs two forward passes)
        self.sanity_stages = 2  # randomisation steps: the top half of the layers, then all of them
        self.predicted_seconds: float | None = None  # of the last slow method estimated
        self.quick_start_s = 10.0  # a slow method estimated under this starts without asking
        self.runner = TaskRunner(bridge, self)
        self._outline_runner = TaskRunner(bridge, self)
        self._outline_runner.ended.connect(lambda msg, failed: failed and self._model_note(msg, True))
        self._build()
        self.runner.started.connect(self._started)
        self.runner.progress.connect(self._progress)
        self.runner.ended.connect(self._ended)
        bridge.model_loaded.connect(self._on_model_loaded)
        bridge.model_failed.connect(lambda _msg: self._set_outline(None))
        session.image_changed.connect(self._on_image_changed)
        self._set_outline(None)
        if bridge.model_info:
            self._on_model_loaded(bridge.model_info)

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_label = QLabel(NO_MODEL, wordWrap=True)
        self.method_combo = QComboBox()
        self.method_combo.currentIndexChanged.connect(lambda _: self._method_changed())
        self.target_combo = QComboBox()
        for key, text in (("selection", "Selected on the canvas"), ("top", "Top detection"), ("class", "Class")):
            self.target_combo.addItem(text, key)
        self.target_combo.currentIndexChanged.connect(lambda _: self.class_combo.setEnabled(
            self.target_combo.currentData() == "class"))
        self.class_combo = QComboBox(enabled=False)
        self.tree = LayerTree()
        self.tree.setMinimumWidth(180)
        self.default_button = QPushButton("Default layer")
        self.default_button.clicked.connect(lambda: self.tree.select_layer(self.tree.default_layer))
        self.sanity_check = QCheckBox("Sanity check (randomised weights)")
        self.sanity_check.setToolTip("Explain again with the layers re-initialised: a map that does not change "
                                     "is not explaining the model (Adebayo et al.)")
        self.sanity_check.setChecked(True)
        self.explain_buttons = []
        for i, slot in enumerate(SLOTS):
            b = QPushButton(f"Explain into {slot}")
            b.setToolTip(f"Explain the target with the method and layer chosen; the map goes to map {slot}")
            b.clicked.connect(lambda _=False, s=i: self.explain(s))
            self.explain_buttons.append(b)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.progress_bar = QProgressBar(textVisible=False)
        self.progress_bar.setMaximumHeight(8)
        self.progress_bar.hide()
        self.status = QLabel("", wordWrap=True)
        self.status.setMinimumHeight(48)  # room for two lines: a message never resizes the controls
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.opacity_slider = QSlider(Qt.Horizontal, minimum=0, maximum=100, value=50)
        self.opacity_slider.valueChanged.connect(self._opacity_changed)
        self.clear_button = QPushButton("Hide")
        self.clear_button.setToolTip("Hide the heat map on the canvas")
        self.clear_button.clicked.connect(lambda: self.layer is not None and self.layer.clear())

        controls = QWidget()  # column 1: what to explain and how
        form = QFormLayout(controls)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.model_label)
        form.addRow("Method", self.method_combo)
        form.addRow("Target", self.target_combo)
        form.addRow("Class", self.class_combo)
        form.addRow(self.sanity_check)
        buttons = QHBoxLayout()
        for b in self.explain_buttons:
            buttons.addWidget(b)
        form.addRow(buttons)
        running = QHBoxLayout()
        running.addWidget(self.progress_bar, 1)
        running.addWidget(self.cancel_button)
        form.addRow(running)
        opacity = QHBoxLayout()
        opacity.addWidget(self.opacity_slider, 1)
        opacity.addWidget(self.clear_button)
        form.addRow("Opacity", opacity)
        form.addRow(self.status)

        layers = QWidget()  # column 2: the model's modules
        layers_lay = QVBoxLayout(layers)
        layers_lay.setContentsMargins(0, 0, 0, 0)
        layer_row = QHBoxLayout()
        layer_row.addWidget(QLabel("Layer"))
        layer_row.addStretch(1)
        layer_row.addWidget(self.default_button)
        layers_lay.addLayout(layer_row)
        layers_lay.addWidget(self.tree, 1)

        self.cards = [MapCard(f"Map {s}") for s in SLOTS]  # column 3: the maps side by side, or a layer's views
        for card in self.cards:
            card.show_requested.connect(self.show_on_canvas)
        maps = QSplitter(Qt.Horizontal)
        maps.setChildrenCollapsible(False)
        for card in self.cards:
            maps.addWidget(card)
        say = self._say
        self.feature_view = FeatureView(self.runner, self.tree.layer, self.image_path, say)
        self.filter_view = FilterView(self.runner, self.tree.layer, say)
        self.tabs = QTabWidget()
        self.tabs.addTab(maps, "Maps A | B")
        self.tabs.addTab(self.feature_view, "Feature maps")
        self.tabs.addTab(self.filter_view, "Filter")

        self._controls = scroll = QScrollArea()  # a short dock scrolls the column: no message is cut off
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(CONTROLS_WIDTH)
        scroll.setMaximumWidth(CONTROLS_WIDTH + 80)
        self.columns = columns = QSplitter(Qt.Horizontal)
        columns.setChildrenCollapsible(False)
        for w in (scroll, layers, self.tabs):
            columns.addWidget(w)
        columns.setStretchFactor(1, 1)
        columns.setStretchFactor(2, 3)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(columns)

    def resizeEvent(self, ev) -> None:
        """Columns in a dock under the canvas; stacked when the dock is taller than wide (moved beside it)."""
        super().resizeEvent(ev)
        tall = self.height() > self.width()
        if tall != (self.columns.orientation() == Qt.Vertical):
            self.columns.setOrientation(Qt.Vertical if tall else Qt.Horizontal)
            self._controls.setMaximumWidth(16777215 if tall else CONTROLS_WIDTH + 80)

    # ---- the model -------------------------------------------------------------------------------
    def _on_model_loaded(self, info: dict) -> None:
        self._set_outline(None)
        self._model_note(f"Reading the layers of {info.get('name', 'the model')}…", False)
        self._outline_runner.start(outline_task(), self._set_outline, "Reading the model's layers")

    def _model_note(self, text: str, failed: bool) -> None:
        self.model_label.setText(text)
        self.model_label.setStyleSheet(ERROR_STYLE if failed else "")

    def _set_outline(self, outline: ModelOutline | None) -> None:
        self.outline = outline
        self._confirmed = None
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        self.class_combo.clear()
        if outline is None:
            self.tree.clear()
            self._model_note(NO_MODEL, False)
        else:
            for m in outline.methods:
                self.method_combo.addItem(m.title, m.name)
            self.class_combo.addItems([c for c in outline.categories if c not in ("__background__", "N/A")])
            self.tree.set_layers(outline.layers, outline.default_layer)
            self._model_note(f"{outline.name} ({outline.kind}); default layer {outline.default_layer}", False)
        self.method_combo.blockSignals(False)
        ok = outline is not None
        for w in (self.method_combo, self.target_combo, self.tree, self.default_button, *self.explain_buttons,
                  self.feature_view.show_button, self.filter_view.run_button):
            w.setEnabled(ok)
        self.class_combo.setEnabled(ok and self.target_combo.currentData() == "class")
        self._method_changed()

    def _method(self):
        name = self.method_combo.currentData()
        return next((m for m in self.outline.methods if m.name == name), None) if self.outline else None

    def _method_changed(self) -> None:
        self._confirmed = None
        m = self._method()
        self.default_button.setEnabled(m is not None)
        if m is not None and not m.uses_layer:
            self.tree.setToolTip(f"{m.title} works on the input pixels: the layer is not used")
        else:
            self.tree.setToolTip("")
        self._reset_buttons()

    def select_method(self, name: str) -> bool:
        i = self.method_combo.findData(name)
        if i >= 0:
            self.method_combo.setCurrentIndex(i)
        return i >= 0

    # ---- targets -----------------------------------------------------------------------------------
    def image_path(self) -> str | None:
        store, image_id = self.session.store, self.session.image_id
        rec = None if store is None or image_id is None else store.image(image_id)
        return None if rec is None else str(store.image_path(rec))

    def target_of_annotation(self, annotation_id: int) -> TargetSpec | None:
        store = self.session.store
        ann = None if store is None else store.annotation(int(annotation_id))
        if ann is None:
            return None
        cat = store.category(ann.category_id)
        return TargetSpec("prediction" if ann.is_prediction else "label", tuple(float(v) for v in ann.bbox),
                          cat.name if cat is not None else None, ann.id, ann.image_id)

    def _target(self) -> TargetSpec | None:
        mode, image_id = self.target_combo.currentData(), self.session.image_id
        if mode == "selection":
            selection = self.session.selection
            if not selection:
                self._say("Select a prediction or a label on the canvas first (or choose Top detection or a "
                          "class as the target).", True)
                return None
            return self.target_of_annotation(selection[0])
        if mode == "class":
            name = self.class_combo.currentText()
            return TargetSpec("class", None, name, None, image_id) if name else None
        return TargetSpec("top", None, None, None, image_id)

    # ---- explaining ---------------------------------------------------------------------------------
    def request(self, target: TargetSpec | None = None) -> ExplainRequest | None:
        """The explanation the controls ask for (None, with the reason shown, when they ask for none)."""
        m = self._method()
        if m is None:
            self._say(NO_MODEL, True)
            return None
        target = target or self._target()
        if target is None:
            return None
        store = self.session.store
        rec = None if store is None or target.image_id is None else store.image(target.image_id)
        if rec is None:
            self._say("Open an image first.", True)
            return None
        layer = self.tree.layer() if m.uses_layer else None
        return ExplainRequest(str(store.image_path(rec)), target, m.name, layer or None,
                              sanity=self.sanity_check.isChecked(), sanity_stages=self.sanity_stages,
                              auc_steps=self.auc_steps)

    def explain(self, slot: int = 0, target: TargetSpec | None = None) -> int | None:
        """Explain into map A (0) or B (1); a slow method is estimated first, started on the next press
        (at once when the estimate is under quick_start_s)."""
        req = self.request(target)
        if req is None:
            return None
        if req.method in SLOW_METHODS and self._confirmed != (req, slot):
            return self.runner.start(estimate_task(req), lambda est: self._estimated(req, slot, est),
                                     f"Predicting the cost of {req.method}")
        self._confirmed = None
        self._reset_buttons()
        return self.runner.start(explain_task(req), lambda o: self._explained(slot, o),
                                 f"{self.method_combo.currentText()} for the {req.target.text()}")

    def _estimated(self, req: ExplainRequest, slot: int, est: tuple[int, float, float]) -> None:
        passes, seconds, unchecked = est
        self._confirmed = (req, slot)
        self.predicted_seconds = seconds
        if seconds < self.quick_start_s:  # not worth a second press
            QTimer.singleShot(0, lambda: self.explain(slot, req.target))
            return
        self.explain_buttons[slot].setText(f"Start (about {duration(seconds)})")
        checks = "its AUC curves and the sanity check" if req.sanity else "its AUC curves"
        title = self.method_combo.itemText(max(0, self.method_combo.findData(req.method))) or req.method
        without = f" (about {duration(unchecked)} without the check)" if req.sanity and seconds > 60 else ""
        self._say(f"{title} with {checks}: {passes} forward passes, about {duration(seconds)} here{without}. "
                  "Press Start to run it.", False)

    def _reset_buttons(self) -> None:
        for slot, b in zip(SLOTS, self.explain_buttons):
            b.setText(f"Explain into {slot}")

    def _explained(self, slot: int, o: ExplainOutcome) -> None:
        self.cards[slot].set_outcome(o)
        self.show_on_canvas(o)
        self._say(f"Map {SLOTS[slot]}: {o.request.method} in {o.seconds:.1f} s.", False)
        self.explained.emit(slot, o)

    def show_on_canvas(self, o: ExplainOutcome) -> None:
        image_id = o.request.target.image_id
        store = self.session.store
        rec = None if store is None or image_id is None else store.image(image_id)
        if self.layer is None or rec is None:
            return
        if self.session.image_id != image_id and self._show_image is not None:
            self._show_image(image_id, [o.request.target.annotation_id] if o.request.target.annotation_id else [])
        self.layer.set_map(o.heatmap, image_id, (rec.width, rec.height))
        self.layer.set_alpha(self.opacity_slider.value() / 100)

    def _on_image_changed(self, image_id) -> None:
        if self.layer is not None and self.layer.image_id is not None and self.layer.image_id != image_id:
            self.layer.clear()
        self._confirmed = None
        self._reset_buttons()

    def _opacity_changed(self, value: int) -> None:
        if self.layer is not None:
            self.layer.set_alpha(value / 100)

    # ---- progress ---------------------------------------------------------------------------------
    def _started(self, text: str) -> None:
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.cancel_button.setEnabled(True)
        self._say(f"{text}…", False)

    def _progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)

    def _ended(self, message: str, failed: bool) -> None:
        self.progress_bar.hide()
        self.cancel_button.setEnabled(self.runner.running)
        if message:
            self._say(message, failed)

    def _say(self, text: str, failed: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if failed else "")

    def clear_maps(self) -> None:
        """Forget the maps (the project they belong to is closing)."""
        self.runner.cancel()
        for card in self.cards:
            card.clear()
        if self.layer is not None:
            self.layer.clear()

    def shutdown(self) -> None:
        self.runner.cancel()
        self._outline_runner.cancel()
