"""The Evaluation panel's widgets and their layout (a mixin of EvaluationPanel: tabs, controls, and
the switch between controls beside and above the tabs as the dock changes shape)."""
from __future__ import annotations


import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QBoxLayout, QComboBox, QDoubleSpinBox, QFrame, QHBoxLayout, QHeaderView,
                               QLabel, QListWidget, QMenu, QProgressBar, QPushButton,
                               QScrollArea, QSlider, QSplitter, QTableView, QTableWidget, QTabWidget, QVBoxLayout,
                               QWidget)


from .charts import CurveChart, f1_tooltip, pr_tooltip
from .heatmap import ConfusionHeatmap
from .tables import ERROR_COLUMNS, ErrorsModel

SPLITS = (("All images", None), ("Train split", "train"), ("Validation split", "val"), ("Test split", "test"))
CLASS_HEADERS = ["Class", "AP", "AP50", "AP75", "AR", "AP small", "AP medium", "AP large", "VOC AP",
                 "VOC AP 11pt", "Best F1", "at score", "Labels", "Predictions"]
CLASS_SHORT = ["Class", "AP", "AP50", "AP75", "AR", "APs", "APm", "APl", "VOC", "VOC11", "F1", "F1 @",
               "Labels", "Preds"]  # shown (CLASS_HEADERS are the tooltips and the CSV header)

SPLITS = (("All images", None), ("Train split", "train"), ("Validation split", "val"), ("Test split", "test"))
CLASS_HEADERS = ["Class", "AP", "AP50", "AP75", "AR", "AP small", "AP medium", "AP large", "VOC AP",
                 "VOC AP 11pt", "Best F1", "at score", "Labels", "Predictions"]
CLASS_SHORT = ["Class", "AP", "AP50", "AP75", "AR", "APs", "APm", "APl", "VOC", "VOC11", "F1", "F1 @",
               "Labels", "Preds"]  # shown (CLASS_HEADERS are the tooltips and the CSV header)
ALL = -1  # class-list key of the averaged curve
CONTROLS_WIDTH = 250


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
        self.status = QLabel("Open a project with predictions, choose a run and press Evaluate.")
        self.status.setWordWrap(True)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
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
                          ("confusion", "Confusion matrix"), ("errors", "Error list")):
            csv_menu.addAction(text, lambda k=key: self._ask_export_csv(k))
        self.export_csv_button.setMenu(csv_menu)

        # Controls in a column beside the tabs: a bottom dock has width to spare but little height,
        # which the plots and tables need. The column scrolls rather than make the dock taller.
        # Wide and short (a bottom dock): controls beside the tabs, plots side by side. Narrow and
        # tall (a side dock): controls above the tabs, plots one above the other.
        self._box = QBoxLayout(QBoxLayout.LeftToRight, self)
        self._box.setContentsMargins(4, 2, 4, 2)
        self._box.addWidget(self._controls(), 0)
        self._box.addWidget(self.tabs, 1)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        # Decide by the room the dock gives (the scroll area's viewport around this panel), not by
        # this panel's own size, which its current layout's minimum may hold wider than the dock.
        room = self.parentWidget() if self.parentWidget() is not None else self
        wide = room.width() >= room.height()
        self._box.setDirection(QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom)
        self._charts.setOrientation(Qt.Horizontal if wide else Qt.Vertical)
        scroll = self._box.itemAt(0).widget()
        if wide:
            scroll.setFixedWidth(CONTROLS_WIDTH)
            scroll.setMaximumHeight(16777215)
        else:
            scroll.setMinimumWidth(0)
            scroll.setMaximumWidth(16777215)
            scroll.setMaximumHeight(scroll.widget().sizeHint().height() + 4)

    def _controls(self) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 4, 0)
        col.setSpacing(4)
        rows = ((QLabel("Run"), self.run_combo), (self.type_combo, self.split_combo),
                (QLabel("Match IoU"), self.iou_spin), (self.evaluate_button, self.cancel_button),
                (self.progress,), (QLabel("Threshold"), self.slider), (self.threshold_label, self.best_button),
                (self.counts_label,), (self.status,))
        for widgets in rows:
            row = QHBoxLayout()
            for w in widgets:
                row.addWidget(w, 1 if w in (self.run_combo, self.slider, self.status, self.counts_label) else 0)
            col.addLayout(row)
        col.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.export_plot_button)
        row.addWidget(self.export_csv_button)
        col.addLayout(row)
        scroll = QScrollArea()
        scroll.setWidget(box)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFixedWidth(CONTROLS_WIDTH)
        return scroll

    def sizeHint(self) -> QSize:
        return QSize(1000, 320)  # what a bottom dock opens at: the plots get about 260 px

    def _summary_tab(self) -> QWidget:
        self.stats_table = QTableWidget()
        self.class_table = QTableWidget()
        for t in (self.stats_table, self.class_table):
            t.verticalHeader().setVisible(False)
            t.setSelectionBehavior(QTableWidget.SelectRows)
            t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
        self.stats_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.stats_table, 0)
        row.addWidget(self.class_table, 1)
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
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(charts)
        split.setStretchFactor(1, 3)
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
        split = QSplitter(Qt.Horizontal)
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
