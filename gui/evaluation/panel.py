"""The evaluation view: choose a run of predictions, evaluate it against the labels in a background
job, and read the result: summary and per-class tables, PR and F1 curves, the confusion matrix and
the error lists, all following one score-threshold slider. Clicking an object opens its image on the
canvas with the prediction and the label highlighted (window.show_image).

The slider never re-evaluates: it reads the cached one-pass matching (engine.evaluation.matching).
"""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QListWidgetItem, QMessageBox, QWidget)

from engine.evaluation.matching import outcome_table, outcomes_to_table
from engine.evaluation.report import EvaluationReport, evaluate_project_report

from ..jobs import Job
from ..run_hints import no_predictions
from .layout import (ALL, CLASS_HEADERS, CLASS_SHORT, CONTROLS_WIDTH, NO_PROJECT, SLIDER_STEPS, SPLITS,  # noqa: F401
                     EvaluationLayout)
from .export import export_widget
from .tables import ERROR_COLUMNS, ERROR_KINDS, ErrorsModel, fill_table, fill_tide, table_rows, write_csv



class EvaluationPanel(EvaluationLayout, QWidget):
    evaluated = Signal(object)  # EvaluationReport
    threshold_applied = Signal(float)

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.window = window
        self.store = None
        self.report: EvaluationReport | None = None
        self._job: Job | None = None
        self._serial = 0
        self.last_update_ms = 0.0
        self._cell: tuple[int, int] | None = None
        self._threshold = 0.5  # exact (the best F1's score as it is); the slider shows it to 1/SLIDER_STEPS
        self._build()
        self._set_busy(False)

    # ---- layout -------------------------------------------------------------------------------










    # ---- project and runs -------------------------------------------------------------------------
    def set_store(self, store) -> None:
        self.cancel_evaluation()
        self.store = store
        self.report = None
        self._clear_results()
        self.refresh_runs()

    def refresh_runs(self) -> None:
        current = self.run_combo.currentData()
        self.run_combo.clear()
        if self.store is None:
            self.status.setText(NO_PROJECT)
            return
        for run in self.store.runs():
            if run.kind != "train":
                self.run_combo.addItem(f"#{run.id} {run.model}", run.id)
        i = self.run_combo.findData(current)
        self.run_combo.setCurrentIndex(i if i >= 0 else self.run_combo.count() - 1)
        self._set_busy(self._job is not None)
        if self.report is None and self._job is None:  # what to do next, for this project
            self.status.setText("Choose a run and press Evaluate." if self.run_combo.count() else
                                no_predictions("evaluate"))

    # ---- the background job ------------------------------------------------------------------------
    def start_evaluation(self) -> Job | None:
        if self.store is None or self.run_combo.currentData() is None:
            self.status.setText("Nothing to evaluate: open a project that has a run of predictions.")
            return None
        self.cancel_evaluation()
        store, run_id = self.store, int(self.run_combo.currentData())
        iou_type, split = self.type_combo.currentData(), self.split_combo.currentData()
        match_iou = round(self.iou_spin.value(), 2)
        image_ids = store.image_ids(split) if split else None
        if image_ids is not None and not image_ids:
            self.status.setText(f"The {split} split has no images.")
            return None

        def work(ctx):
            return evaluate_project_report(store, run_id, iou_type, image_ids, match_iou=match_iou,
                                           progress=ctx.progress, cancel=ctx.token)
        self._serial += 1
        serial = self._serial
        job = Job(work, parent=self)
        job.progress.connect(self._job_progress)
        job.finished.connect(lambda report, n=serial: self._job_done(n, report))
        job.failed.connect(lambda msg, n=serial: self._job_failed(n, msg))
        job.cancelled.connect(lambda n=serial: self._job_failed(n, "Evaluation cancelled."))
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(job.deleteLater)  # one evaluation after another must not pile up jobs
        self._job = job
        self._set_busy(True)
        self.status.setText(f"Evaluating run #{run_id}...")
        return job.start()

    def cancel_evaluation(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._serial += 1  # whatever it still delivers is stale
            self._job = None
            self._set_busy(False)

    def shutdown(self) -> None:
        """Cancel a running evaluation and give it a moment to stop reading the store."""
        job = self._job
        self.cancel_evaluation()
        if job is not None:
            job.wait(5)

    def project_closing(self, _store) -> None:
        self.shutdown()
        self.set_store(None)

    def _job_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        if text:
            self.status.setText(text)

    def _job_done(self, serial: int, report: EvaluationReport) -> None:
        if serial != self._serial:
            return
        self._job = None
        self._set_busy(False)
        self.show_report(report)

    def _job_failed(self, serial: int, message: str) -> None:
        if serial != self._serial:
            return
        self._job = None
        self._set_busy(False)
        self.status.setText(message)

    def _set_busy(self, busy: bool) -> None:
        self.evaluate_button.setEnabled(not busy and self.run_combo.count() > 0)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    # ---- showing a result ------------------------------------------------------------------------
    def _clear_results(self) -> None:
        for t in (self.stats_table, self.class_table, self.tide_table):
            t.clear()
            t.setRowCount(0)
        self.class_list.clear()
        self.pr_chart.clear()
        self.f1_chart.clear()
        self.heatmap.set_matrix(np.zeros((1, 1), np.int64), [])
        self.cell_model.set_table({}, {})
        self.errors_model.set_table({}, {})
        self.counts_label.setText("")

    def show_report(self, report: EvaluationReport) -> None:
        self.report = report
        if self.store is not None:
            names = {r.id: r.file_name for r in self.store.images()}
            self.cell_model.set_image_names(names)
            self.errors_model.set_image_names(names)
        coco = report.coco
        self.status.setText(f"{coco.iou_type} evaluation of {len(coco.image_ids)} images "
                            f"({coco.backend}, {coco.seconds:.2f} s). AP {coco.stats[0]:.3f}, "
                            f"AP50 {coco.stats[1]:.3f}.")
        self.status.setText(f"{self.status.text()} Scored: {report.image_set_short}.")  # a run may cover few images
        self._fill_stats(coco)
        fill_tide(self.tide_table, report.tide)
        rows = [[r["name"], r["ap"], r["ap50"], r["ap75"], r["ar"], r["ap_small"], r["ap_medium"], r["ap_large"],
                 r["voc_ap"], r["voc_ap11"], r["best_f1"], r["best_threshold"], int(r["num_gt"]),
                 int(r["num_dt"])] for r in report.class_rows()]
        fill_table(self.class_table, CLASS_SHORT, rows)
        for i, text in enumerate(CLASS_HEADERS):
            self.class_table.horizontalHeaderItem(i).setToolTip(text)
        self._fit_class_columns()
        self.class_list.blockSignals(True)
        self.class_list.clear()
        for key, name in [(ALL, "All classes (mean)")] + list(zip(coco.cat_ids, coco.cat_names)):
            item = QListWidgetItem(name)
            item.setData(Qt.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if key == ALL else Qt.Unchecked)
            self.class_list.addItem(item)
        self.class_list.blockSignals(False)
        self._draw_curves()
        self._cell = None
        self.cell_model.set_table({}, {})
        best = report.curves[None].best_threshold
        self.set_threshold(best if best is not None else 0.5, force=True)
        self.evaluated.emit(report)

    def _fill_stats(self, coco) -> None:
        """The 12 COCO figures in two pairs of columns (precision left, recall right), short names
        with the full pycocotools line as tooltip: no horizontal scrolling in a narrow dock."""
        half = (len(coco.stats) + 1) // 2
        cells = [(_stat_name(n), float(v), line.split("] =")[0].strip() + "]")
                 for n, v, line in zip(coco.stat_names, coco.stats, coco.stat_lines)]
        rows = [[*cells[i][:2], *(cells[i + half][:2] if i + half < len(cells) else ("", ""))] for i in range(half)]
        fill_table(self.stats_table, ["Figure", "Value", "Figure", "Value"], rows)
        self.stats_table.setSortingEnabled(False)
        for i, cell in enumerate(cells):
            item = self.stats_table.item(i % half, 2 * (i // half))
            item.setToolTip(cell[2])
        self.stats_table.resizeColumnsToContents()
        t = self.stats_table
        t.setFixedWidth(sum(t.columnWidth(c) for c in range(t.columnCount())) + 2 * t.frameWidth() + 2)
        t.setFixedHeight(t.horizontalHeader().height() + sum(t.rowHeight(r) for r in range(t.rowCount()))
                         + 2 * t.frameWidth() + 2)  # six rows, never scrolled; the class table takes the rest

    def chosen_classes(self) -> list[int]:
        return [self.class_list.item(i).data(Qt.UserRole) for i in range(self.class_list.count())
                if self.class_list.item(i).checkState() == Qt.Checked]

    def choose_classes(self, keys: list[int]) -> None:
        self.class_list.blockSignals(True)
        for i in range(self.class_list.count()):
            item = self.class_list.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in keys else Qt.Unchecked)
        self.class_list.blockSignals(False)
        self._draw_curves()

    def _draw_curves(self) -> None:
        self.pr_chart.clear()
        self.f1_chart.clear()
        if self.report is None:
            return
        iou = self.curve_iou.currentData()
        for n, key in enumerate(self.chosen_classes()):
            cat = None if key == ALL else key
            pr = self.report.coco.pr_curve(cat, iou=iou).reached()
            if len(pr.recall):
                self.pr_chart.add_curve(f"{pr.label} (AP {max(pr.ap, 0):.3f})", pr.recall, pr.precision, pr.scores,
                                        n, width=2.4 if cat is None else 1.6)
            f1 = self.report.curves.get(cat)
            if f1 is not None and len(f1.thresholds):
                self.f1_chart.add_curve(f1.label if cat is not None else "all classes (pooled)",
                                        f1.thresholds, f1.f1, f1.f1, n)
                if f1.best_threshold is not None:  # a class without labels has no best threshold
                    self.f1_chart.add_marker(f"best {f1.label}", f1.best_threshold, f1.best_f1, n)
        self.f1_chart.x_axis.setTitleText(f"Score threshold (IoU {self.report.match_iou:.2f})")

    # ---- the threshold --------------------------------------------------------------------------
    def threshold(self) -> float:
        return self._threshold

    def set_threshold(self, score: float, force: bool = False) -> None:
        """Apply this score threshold exactly (force: also when it is the current one); the slider
        moves to the nearest of its positions without changing it."""
        s = float(np.clip(score, 0.0, 1.0))
        changed, self._threshold = s != self._threshold, s
        self.slider.blockSignals(True)
        self.slider.setValue(round(s * SLIDER_STEPS))
        self.slider.blockSignals(False)
        if changed or force:
            self._apply_threshold()

    def go_to_best_threshold(self) -> None:
        if self.report is not None and self.report.curves[None].best_threshold is not None:
            self.set_threshold(self.report.curves[None].best_threshold)

    def _slider_moved(self, value: int) -> None:
        self._threshold = value / SLIDER_STEPS
        self._apply_threshold()

    def _apply_threshold(self) -> None:
        s = self._threshold
        self.threshold_label.setText(f"score >= {score_text(s)}")
        if self.report is None:
            return
        start = time.perf_counter()
        m = self.report.matches
        counts = m.at(s)
        self.heatmap.set_matrix(counts.confusion, m.cat_names)
        tp, fp, fn = counts.totals
        self.counts_label.setText(f"TP {tp}   FP {fp}   FN {fn}\nprecision {_ratio(tp, tp + fp)}   "
                                  f"recall {_ratio(tp, tp + fn)}   F1 {_ratio(2 * tp, 2 * tp + fp + fn)}")
        self._refresh_errors()
        if self._cell is not None:
            self._fill_cell(*self._cell)
        self.last_update_ms = (time.perf_counter() - start) * 1000
        self.threshold_applied.emit(s)

    def _class_names(self) -> dict[int, str]:
        m = self.report.matches
        return dict(zip(m.cat_ids, m.cat_names))

    def _refresh_errors(self) -> None:
        if self.report is None:
            return
        kind = self.error_kind.currentData()
        cols = outcome_table(self.report.matches, kind, self.threshold())
        self.errors_model.set_table(cols, self._class_names(), sort_by=self.error_sort.currentData())
        self.errors_label.setText(f"{len(cols['image_id'])} objects")

    # ---- cells and objects --------------------------------------------------------------------------
    def _fill_cell(self, row: int, col: int) -> list:
        m = self.report.matches
        objs = m.cell(row, col, self.threshold())
        names = m.cat_names + ["background"]
        self.cell_label.setText(f"label {names[row]}, predicted {names[col]}: {len(objs)} objects")
        self.cell_model.set_table(outcomes_to_table(objs), self._class_names())
        return objs

    def open_cell(self, row: int, col: int) -> None:
        """List the cell's objects and open the first one's image."""
        if self.report is None:
            return
        self._cell = (row, col)
        if self.cell_model.rowCount():
            self.cell_view.scrollToTop()
        if self._fill_cell(row, col):
            self.open_object(self.cell_model, 0)

    def open_object(self, model: ErrorsModel, row: int) -> None:
        if row < 0 or row >= model.rowCount():
            return
        r = model.row(row)
        highlight = [int(i) for i in (r["pred_id"], r["gt_id"]) if int(i) >= 0]
        self.window.show_image(int(r["image_id"]), highlight)

    # ---- export ---------------------------------------------------------------------------------------
    def plot_widget(self, which: str) -> QWidget:
        return {"pr": self.pr_chart, "f1": self.f1_chart, "confusion": self.heatmap}[which]

    def export_plot(self, which: str, path) -> None:
        export_widget(self.plot_widget(which), path, title=which)

    def csv_table(self, which: str) -> tuple[list[str], list[list[str]]]:
        if self.report is None:
            return [], []
        if which == "classes":
            return CLASS_HEADERS, table_rows(self.class_table)
        if which == "summary":
            return ["figure", "value"], [[n, f"{v:.6f}"] for n, v in zip(self.report.coco.stat_names,
                                                                         self.report.coco.stats)]
        if which == "confusion":
            names = self.report.matches.cat_names + ["background"]
            cm = self.report.matches.at(self.threshold()).confusion
            return ["label \\ predicted"] + names, [[names[i]] + [str(int(v)) for v in cm[i]] for i in range(len(cm))]
        if which == "errors":
            return [h for _, h in ERROR_COLUMNS], self.errors_model.rows_as_text()
        if which == "tide":
            t = self.report.tide
            if t is None:
                return ["error", "count", "dAP"], []
            return ["error", "count", "dAP"], [[k, str(t.counts[k]), f"{t.dap[k]:.4f}"] for k in ERROR_KINDS]
        raise ValueError(which)

    def export_csv(self, which: str, path) -> None:
        headers, rows = self.csv_table(which)
        write_csv(path, headers, rows)

    def _ask_export_plot(self, which: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", f"{which}.png", "PNG image (*.png);;SVG (*.svg)")
        if path:
            try:
                self.export_plot(which, path)
            except Exception as e:  # noqa: BLE001 - shown to the user
                QMessageBox.warning(self, "Export plot", str(e))

    def _ask_export_csv(self, which: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export table", f"{which}.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(which, path)
            except OSError as e:
                QMessageBox.warning(self, "Export table", f"{path}: {e}")


def _ratio(num: int, den: int) -> str:
    """A ratio with three decimals; "-" when undefined (no prediction kept: no precision)."""
    return f"{num / den:.3f}" if den else "-"


def _stat_name(name: str) -> str:
    """"AP50@100" -> "AP50", "AR_small@100" -> "AR small", "AR@10" -> "AR@10" (the detections kept)."""
    name = name.replace("_", " ")
    return name if name.startswith("AR@") else name.split("@")[0]


def score_text(s: float) -> str:
    """A threshold as short as it is exact: 0.50, 0.303, 0.30271 (at most 6 decimals)."""
    for d in range(2, 6):
        if abs(round(s, d) - s) < 1e-7:  # a float32 score (a model's) reads as its short form
            return f"{s:.{d}f}"
    return f"{s:.6f}"
