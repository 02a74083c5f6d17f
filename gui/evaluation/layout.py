"""The Evaluation panel's widgets and their layout (a mixin of EvaluationPanel: tabs, controls, and
the switch between controls beside and above the tabs as the dock changes shape).

The window opens the panel in a side dock (tall and narrow): the controls then sit in four compact
rows above the tabs and the precision-recall plot gets most of the height. Docked under the canvas or
floated wide, the controls become a column beside the tabs and the plots stand side by side."""
from __future__ import annotations


import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import (QBoxLayout, QComboBox, QDoubleSpinBox, QFrame, QGridLayout, QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QMenu, QProgressBar, QPushButton, QScrollArea,
                               QSlider, QSplitter, QStackedWidget, QTableView, QTableWidget, QTabWidget, QVBoxLayout, QWidget)

from ..run_hints import no_project
from .charts import CurveChart, f1_tooltip, pr_tooltip
from .heatmap import ConfusionHeatmap
from .tables import ERROR_COLUMNS, ErrorsModel

SPLITS = (("All images", None), ("Train split", "train"), ("Validation split", "val"), ("Test split", "test"))
CLASS_HEADERS = ["Class", "AP", "AP50", "AP75", "AR", "AP small", "AP medium", "AP large", "VOC AP",
                 "VOC AP 11pt", "Best F1", "at score", "Labels", "Predictions"]
CLASS_SHORT = ["Class", "AP", "AP50", "AP75", "AR", "APs", "APm", "APl", "VOC", "VOC11", "F1", "F1 @",
               "Labels", "Preds"]  # shown (CLASS_HEADERS are the tooltips and the CSV header)
ALL = -1  # class-list key of the averaged curve
# Per-class columns a narrow dock hides first (never the class, AP, AP50 or the counts); every column
# is still in the exported table, and widening the dock shows them again.
NARROW_DROP = ("VOC11", "APs", "APm", "APl", "AP75", "VOC", "F1 @", "AR")
CONTROLS_WIDTH = 250
SLIDER_STEPS = 1000  # threshold slider positions per unit of score
NO_PROJECT = no_project("Evaluate")
STACK_HEIGHT = 700  # a narrow dock at least this tall stacks the two plots; a shorter one tabs them


def _fit_image_column(view: QTableView, model: ErrorsModel) -> None:
    """The Image column as wide as the file names of the first rows (within reason)."""
    column = [k for k, _ in ERROR_COLUMNS].index("file_name")
    names = {model.data(model.index(r, column)) for r in range(min(model.rowCount(), 300))}
    fm = view.fontMetrics()
    width = max([fm.horizontalAdvance(str(n)) for n in names] + [fm.horizontalAdvance("Image")]) + 16
    view.setColumnWidth(column, int(min(max(width, 84), 320)))


class EvaluationLayout:
    def _build(self) -> None:
        self.run_combo = QComboBox()
        self.run_combo.setMinimumContentsLength(12)
        self.run_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.type_combo = QComboBox()
        self.type_combo.addItem("Boxes", "bbox")
        self.type_combo.addItem("Masks", "segm")
        self.split_combo = QComboBox()
        for text, split in SPLITS:
            self.split_combo.addItem(text, split)
        self.iou_spin = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=0.95, singleStep=0.05, value=0.5)
        self.iou_spin.setToolTip("IoU for matching objects, VOC AP, F1 and the confusion matrix")
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.clicked.connect(self.start_evaluation)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_evaluation)
        self.progress = QProgressBar()
        self.status = QLabel(NO_PROJECT)
        self.status.setWordWrap(True)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)  # fine steps for a drag; arrow keys and pages move 0.01 and 0.1
        self.slider.setSingleStep(SLIDER_STEPS // 100)
        self.slider.setPageStep(SLIDER_STEPS // 10)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.valueChanged.connect(self._slider_moved)
        self.threshold_label = QLabel("score >= 0.50")
        self.counts_label = QLabel("")
        self.counts_label.setWordWrap(True)
        self.best_button = QPushButton("Best F1")
        self.best_button.setToolTip("Move the threshold to the score with the highest F1 over all classes")
        self.best_button.clicked.connect(self.go_to_best_threshold)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._summary_tab(), "Summary")
        self.tabs.addTab(self._curves_tab(), "Curves")
        self.tabs.addTab(self._confusion_tab(), "Confusion")
        self.tabs.addTab(self._errors_tab(), "Errors")

        self.export_plot_button = QPushButton("Export plot...")
        plot_menu = QMenu(self)
        for key, text in (("pr", "Precision-recall curves"), ("f1", "F1 curves"), ("confusion", "Confusion matrix")):
            plot_menu.addAction(text, lambda k=key: self._ask_export_plot(k))
        self.export_plot_button.setMenu(plot_menu)
        self.export_csv_button = QPushButton("Export table...")
        csv_menu = QMenu(self)
        for key, text in (("classes", "Per-class table"), ("summary", "Summary (12 stats)"),
                          ("confusion", "Confusion matrix"), ("errors", "Error list"), ("tide", "TIDE errors")):
            csv_menu.addAction(text, lambda k=key: self._ask_export_csv(k))
        self.export_csv_button.setMenu(csv_menu)

        self._run_label, self._iou_label, self._threshold_caption = QLabel("Run"), QLabel("Match IoU"), QLabel("Threshold")
        self._box = QBoxLayout(QBoxLayout.TopToBottom, self)
        self._box.setContentsMargins(4, 2, 4, 2)
        self._box.addWidget(self._controls(), 0)
        self._box.addWidget(self.tabs, 1)
        self._wide: bool | None = None
        self._arrange(True)  # measured once: the controls go beside the tabs only where that fits
        self._wide_min_width = self.minimumSizeHint().width()
        self._arrange(False)

    # Where each control goes: (row, column, column span) in the wide column and in the narrow rows.
    def _places(self, wide: bool):
        w = self
        if wide:
            rows = ((w._run_label, w.run_combo), (w.type_combo, w.split_combo), (w._iou_label, w.iou_spin),
                    (w.evaluate_button, w.cancel_button), (w.progress,), (w._threshold_caption, w.slider),
                    (w.threshold_label, w.best_button), (w.counts_label,), (w.status,), None,
                    (w.export_plot_button, w.export_csv_button))
            for r, row in enumerate(rows):
                for c, widget in enumerate(row or ()):
                    yield widget, r, c, 2 if len(row) == 1 else 1
            return
        rows = (((w._run_label, 1), (w.run_combo, 3), (w.type_combo, 1), (w.split_combo, 1)),
                ((w._iou_label, 1), (w.iou_spin, 1), (w.evaluate_button, 1), (w.cancel_button, 1),
                 (w.progress, 2)),
                ((w._threshold_caption, 1), (w.slider, 3), (w.threshold_label, 1), (w.best_button, 1)),
                ((w.counts_label, 4), (w.export_plot_button, 1), (w.export_csv_button, 1)),
                ((w.status, 6),))
        for r, row in enumerate(rows):
            c = 0
            for widget, span in row:
                yield widget, r, c, span
                c += span

    def _arrange(self, wide: bool, tall: bool = True) -> None:
        """Controls as a column beside the tabs (wide) or compact rows above them (narrow); the plots
        side by side (wide), one above the other (narrow and tall), or as two tabs (narrow and short,
        where stacking would squeeze the axes to "...")."""
        self._place_charts("side" if wide else "stacked" if tall else "tabs")
        if wide == self._wide:
            return
        self._wide = wide
        grid = self._grid
        # removeWidget deletes each item; one taken out and kept alive (a Python wrapper can outlive the
        # call) keeps the widget's size cache, and a label's new text would then not change its height.
        while grid.count():
            grid.removeWidget(grid.itemAt(0).widget())  # every item is a widget (_places)
        for r in range(grid.rowCount()):
            grid.setRowStretch(r, 0)
        for c in range(grid.columnCount()):
            grid.setColumnStretch(c, 0)
        for widget, r, c, span in self._places(wide):
            grid.addWidget(widget, r, c, 1, span)
        if wide:
            grid.setRowStretch(9, 1)  # the export buttons at the foot of the column
            grid.setColumnStretch(1, 1)
        else:
            for c in (1, 2, 3):
                grid.setColumnStretch(c, 1)
        self._box.setDirection(QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom)
        self._summary_box.setDirection(QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom)
        self._confusion_split.setOrientation(Qt.Horizontal if wide else Qt.Vertical)
        self._curve_side.setMaximumWidth(200 if wide else 150)
        self._curve_split.setSizes([200 if wide else 150, 100000])  # the plots take the rest, no gap
        scroll = self._box.itemAt(0).widget()
        if wide:
            scroll.setFixedWidth(CONTROLS_WIDTH)
            scroll.setMinimumHeight(0)
            scroll.setMaximumHeight(16777215)
        else:
            scroll.setMinimumWidth(0)
            scroll.setMaximumWidth(16777215)
        self._fit_controls_height()

    def _place_charts(self, mode: str) -> None:
        if mode == getattr(self, "_charts_mode", None):
            return
        self._charts_mode = mode
        if mode == "tabs":
            self._chart_tabs.addTab(self.pr_chart, "Precision-recall")
            self._chart_tabs.addTab(self.f1_chart, "F1 against confidence")
            self._chart_stack.setCurrentWidget(self._chart_tabs)
            return
        self._charts.insertWidget(0, self.pr_chart)
        self._charts.insertWidget(1, self.f1_chart)
        self.pr_chart.show()
        self.f1_chart.show()
        side = mode == "side"
        self._charts.setOrientation(Qt.Horizontal if side else Qt.Vertical)
        # Stacked, the precision-recall plot gets five eighths of the height; side by side, halves.
        self._charts.setStretchFactor(0, 1 if side else 5)
        self._charts.setStretchFactor(1, 1 if side else 3)
        self._charts.setSizes([3000, 3000] if side else [5000, 3000])
        self._chart_stack.setCurrentWidget(self._charts)

    def _fit_controls_height(self) -> None:
        """Above the tabs, the controls are as tall as their text needs (a status line that wraps to a
        second line makes them taller): never a scroll bar over half a sentence."""
        scroll = self._box.itemAt(0).widget()
        if self._wide:
            return
        box = scroll.widget()
        width = max(scroll.viewport().width(), 100)
        height = box.layout().heightForWidth(width) if box.layout().hasHeightForWidth() else -1
        scroll.setFixedHeight(max(height, box.sizeHint().height()) + 4)

    def _fit_class_columns(self) -> None:
        """Every per-class column at the width its text needs, the class names taking what is left; in a
        dock too narrow for all of them, the least used go (NARROW_DROP order) rather than eliding the
        figures to "0..." or scrolling sideways."""
        t = self.class_table
        n = t.columnCount()
        if not n:
            return
        fm, pad = t.fontMetrics(), 14
        header = t.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(False)
        names = [str(t.model().headerData(c, Qt.Horizontal) or "") for c in range(n)]  # (None while filling)
        need = []
        for c in range(n):
            texts = [names[c]] + [t.item(r, c).text() for r in range(t.rowCount()) if t.item(r, c) is not None]
            need.append(max(fm.horizontalAdvance(x) for x in texts) + pad)
        room = t.viewport().width() - 2
        shown = list(range(n))
        for name in NARROW_DROP:
            if sum(need[c] for c in shown) <= room:
                break
            if name in names:
                shown.remove(names.index(name))
        for c in range(n):
            t.setColumnHidden(c, c not in shown)
        spare = max(0, room - sum(need[c] for c in shown))
        for c in shown:
            t.setColumnWidth(c, need[c] + (spare if c == 0 else 0))
        hidden = [names[c] for c in range(n) if c not in shown]
        header.setToolTip("Hidden in this narrow dock (widen it, or export the table): " + ", ".join(hidden)
                          if hidden else "")

    def eventFilter(self, obj, ev) -> bool:
        grid = getattr(self, "_grid", None)  # filters are installed while the panel is being built
        if ev.type() == QEvent.LayoutRequest and grid is not None and obj is grid.parentWidget():
            self._fit_controls_height()
        elif ev.type() == QEvent.Resize and grid is not None and obj is self.class_table.viewport():
            self._fit_class_columns()
        return super().eventFilter(obj, ev)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        # Decide by the room the dock gives (the scroll area's viewport around this panel), not by
        # this panel's own size, which its current layout's minimum may hold wider than the dock.
        room = self.parentWidget() if self.parentWidget() is not None else self
        self._arrange(room.width() >= max(1.6 * room.height(), self._wide_min_width), room.height() >= STACK_HEIGHT)

    def _controls(self) -> QWidget:
        box = QWidget()
        self._grid = QGridLayout(box)
        self._grid.setContentsMargins(0, 0, 4, 0)
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(3)
        for label in (self.status, self.counts_label):
            label.setMinimumWidth(60)
        box.installEventFilter(self)  # a status that wraps anew refits the controls' height
        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        return scroll

    def sizeHint(self) -> QSize:
        return QSize(560, 640)  # a side dock: compact controls on top, the plots stacked

    def _summary_tab(self) -> QWidget:
        self.stats_table = QTableWidget()
        self.class_table = QTableWidget()
        for t in (self.stats_table, self.class_table):
            t.verticalHeader().setVisible(False)
            t.setSelectionBehavior(QTableWidget.SelectRows)
            t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
        self.stats_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.class_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        self.class_table.viewport().installEventFilter(self)  # columns refit to the room
        self.tide_table = QTableWidget()  # TIDE: what kind of mistake costs how much AP
        self.tide_table.verticalHeader().setVisible(False)
        self.tide_table.verticalHeader().setDefaultSectionSize(self.tide_table.fontMetrics().height() + 6)
        self.tide_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.tide_table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        top = QWidget()
        figures = QHBoxLayout(top)
        figures.setContentsMargins(0, 0, 0, 0)
        figures.addWidget(self.stats_table, 0, Qt.AlignTop)
        figures.addWidget(self.tide_table, 0, Qt.AlignTop)
        figures.addStretch(1)
        w = QWidget()
        self._summary_box = QBoxLayout(QBoxLayout.LeftToRight, w)  # stacked in a narrow dock
        self._summary_box.setContentsMargins(0, 0, 0, 0)
        self._summary_box.addWidget(top, 0, Qt.AlignLeft | Qt.AlignTop)
        self._summary_box.addWidget(self.class_table, 1)
        return w

    def _curves_tab(self) -> QWidget:
        self.class_list = QListWidget()
        self.class_list.itemChanged.connect(lambda _item: self._draw_curves())
        self.curve_iou = QComboBox()
        for t in np.linspace(0.5, 0.95, 10):
            self.curve_iou.addItem(f"IoU {t:.2f}", float(round(t, 2)))
        self.curve_iou.currentIndexChanged.connect(lambda _i: self._draw_curves())
        self.pr_chart = CurveChart("Precision-recall", "Recall", "Precision")
        self.pr_chart.set_describer(pr_tooltip)
        self.f1_chart = CurveChart("F1 against confidence", "Score threshold", "F1")
        self.f1_chart.set_describer(f1_tooltip)
        self.hover_label = QLabel("")
        self.hover_label.setWordWrap(True)
        self.pr_chart.hovered.connect(self.hover_label.setText)
        self.f1_chart.hovered.connect(self.hover_label.setText)
        charts = self._charts = QSplitter(Qt.Horizontal)  # side by side: the height goes to the plots
        charts.addWidget(self.pr_chart)
        charts.addWidget(self.f1_chart)
        self._chart_tabs = QTabWidget()
        self._chart_tabs.setDocumentMode(True)
        self._chart_stack = QStackedWidget()
        self._chart_stack.addWidget(charts)
        self._chart_stack.addWidget(self._chart_tabs)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.curve_iou)
        ll.addWidget(self.class_list, 1)
        ll.addWidget(self.hover_label)
        buttons = QHBoxLayout()
        self.all_classes_button = QPushButton("Every class")
        self.all_classes_button.clicked.connect(lambda: self.choose_classes(self._class_keys()))
        self.mean_only_button = QPushButton("Mean only")
        self.mean_only_button.clicked.connect(lambda: self.choose_classes([ALL]))
        buttons.addWidget(self.all_classes_button)
        buttons.addWidget(self.mean_only_button)
        ll.addLayout(buttons)
        left.setMaximumWidth(200)
        self._curve_side = left
        split = self._curve_split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(self._chart_stack)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        return split

    def _class_keys(self) -> list[int]:
        return [self.class_list.item(i).data(Qt.UserRole) for i in range(self.class_list.count())]

    def _confusion_tab(self) -> QWidget:
        self.heatmap = ConfusionHeatmap()
        self.heatmap.cell_clicked.connect(self.open_cell)
        self.cell_model = ErrorsModel(self)
        self.cell_view = self._object_view(self.cell_model)
        self.cell_label = QLabel("Click a cell to list its objects.")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.cell_label)
        rl.addWidget(self.cell_view, 1)
        split = self._confusion_split = QSplitter(Qt.Horizontal)  # stacked in a narrow dock
        split.addWidget(self.heatmap)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        return split

    def _errors_tab(self) -> QWidget:
        self.error_kind = QComboBox()
        self.error_kind.addItem("False positives", "FP")
        self.error_kind.addItem("False negatives (missed labels)", "FN")
        self.error_sort = QComboBox()
        self.error_sort.addItem("Sort by score", "score")
        self.error_sort.addItem("Sort by IoU", "iou")
        for combo in (self.error_kind, self.error_sort):
            combo.currentIndexChanged.connect(lambda _i: self._refresh_errors())
        self.errors_model = ErrorsModel(self)
        self.errors_view = self._object_view(self.errors_model)
        self.errors_label = QLabel("")
        w = QWidget()
        lay = QVBoxLayout(w)
        row = QHBoxLayout()
        for x in (self.error_kind, self.error_sort, self.errors_label):
            row.addWidget(x)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.errors_view, 1)
        return w

    def _object_view(self, model: ErrorsModel) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSortingEnabled(True)
        view.setSelectionBehavior(QTableView.SelectRows)
        view.setSelectionMode(QTableView.SingleSelection)
        # Fixed sizes: sizing to contents would measure every row of a 100k-row error list on each
        # threshold change.
        rows = view.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.Fixed)
        rows.setDefaultSectionSize(view.fontMetrics().height() + 6)
        cols = view.horizontalHeader()
        cols.setSectionResizeMode(QHeaderView.Interactive)
        cols.setDefaultSectionSize(84)
        cols.setStretchLastSection(True)
        view.setTextElideMode(Qt.ElideMiddle)  # a long path keeps its file name in sight
        model.modelReset.connect(lambda v=view, m=model: _fit_image_column(v, m))
        view.clicked.connect(lambda index, m=model: self.open_object(m, index.row()))
        return view
