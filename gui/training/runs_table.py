"""The project's training runs (folders under <project>/runs/) with their options and results."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from engine.training.runs import RunInfo

COLUMNS = ("Run", "Model", "Status", "Progress", "Best", "Options", "Updated")


def _options_text(o: dict) -> str:
    parts = [f"{o.get('epochs')} ep", f"batch {o.get('batch_size')}", f"{o.get('image_size')} px",
             f"{o.get('optimizer')} lr {o.get('lr')}", f"from {o.get('source')}"]
    if o.get("freeze_backbone_epochs"):
        parts.append(f"frozen {o['freeze_backbone_epochs']} ep")
    return ", ".join(str(p) for p in parts)


class RunsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)
        self.runs: list[RunInfo] = []

    def set_runs(self, runs: list[RunInfo]) -> None:
        selected = self.selected_run()
        self.runs = list(runs)
        self.setRowCount(len(self.runs))
        for row, r in enumerate(self.runs):
            best = "-" if r.best_metric is None else f"{r.monitor or 'map'} {r.best_metric:.3f} (epoch {r.best_epoch})"
            total = r.total_iterations or 0
            cells = (r.name, r.model, r.status + (f": {r.error}" if r.error else ""),
                     f"epoch {r.epoch}/{r.options.get('epochs', '?')}, it {r.iteration}/{total}", best,
                     _options_text(r.options), time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at)))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text if col != 0 else str(r.path))
                item.setData(Qt.UserRole, str(r.path))
                self.setItem(row, col, item)
            if selected is not None and r.path == selected.path:
                self.selectRow(row)

    def select_path(self, path: str) -> None:
        for row, r in enumerate(self.runs):
            if str(r.path) == path:
                self.selectRow(row)
                return

    def set_progress(self, path: str | None, ev: dict) -> None:
        """Show a running run's position from its latest iteration event (no disk read)."""
        for row, r in enumerate(self.runs):
            if str(r.path) == path:
                text = f"epoch {ev['epoch']}/{ev['epochs']}, it {ev['iteration']}/{ev['total_iterations']}"
                item = self.item(row, COLUMNS.index("Progress"))
                if item is not None:
                    item.setText(text)
                status = self.item(row, COLUMNS.index("Status"))
                if status is not None and status.text() == "starting":
                    status.setText("running")
                return

    def selected_run(self) -> RunInfo | None:
        rows = {i.row() for i in self.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self.runs[row] if row < len(self.runs) else None
