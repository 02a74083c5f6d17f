"""Tables of the evaluation view: the error list model (columns of numpy arrays, sorted with numpy,
so 100k rows cost milliseconds), a sortable numeric item, and CSV writing."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from annotations.imageio import atomic_write_text
from engine.evaluation.tide import ERROR_KINDS

ERROR_COLUMNS = (("kind", "Kind"), ("reason", "Reason"), ("file_name", "Image"), ("class", "Class"),
                 ("score", "Score"), ("iou", "IoU"), ("pred_id", "Prediction"), ("gt_id", "Label"))


_KEYS = tuple(k for k, _ in ERROR_COLUMNS)
_RIGHT = {"score", "iou", "pred_id", "gt_id"}
_DISPLAY, _ALIGN = Qt.DisplayRole, Qt.TextAlignmentRole
_RIGHT_ALIGN = int(Qt.AlignRight | Qt.AlignVCenter)


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{v:.3f}"
    if isinstance(v, (int, np.integer)) and v < 0:
        return ""
    return str(v)


class ErrorsModel(QAbstractTableModel):
    """Rows are objects (FP, FN, or one confusion cell); `row(i)` gives what a click needs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cols: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}
        self._order = np.zeros(0, np.int64)
        self._image_ids = np.zeros(0, np.int64)  # sorted; file names in the same order
        self._file_names = np.zeros(0, object)

    def set_image_names(self, names: dict[int, str]) -> None:
        """File names shown for image ids (an id not in it is shown as a number)."""
        ids = np.fromiter(names, np.int64, len(names))
        order = np.argsort(ids)
        self._image_ids = ids[order]
        self._file_names = np.asarray(list(names.values()), object)[order] if len(ids) else np.zeros(0, object)

    def _file_names_of(self, image_ids: np.ndarray) -> np.ndarray:
        image_ids = np.asarray(image_ids, np.int64)
        out = image_ids.astype(str).astype(object)
        if len(self._image_ids) and len(image_ids):
            at = np.minimum(np.searchsorted(self._image_ids, image_ids), len(self._image_ids) - 1)
            known = self._image_ids[at] == image_ids
            out[known] = self._file_names[at[known]]
        return out

    def set_table(self, cols: dict[str, np.ndarray], class_names: dict[int, str], sort_by: str = "score",
                  descending: bool = True) -> None:
        self.beginResetModel()
        self._cols = dict(cols)
        if "image_id" in cols:
            self._cols["file_name"] = self._file_names_of(cols["image_id"])
        self._names = class_names
        self._order = np.arange(len(cols.get("image_id", ())))
        self._sort(sort_by, descending)
        self.endResetModel()

    def _sort(self, key: str, descending: bool) -> None:
        if not len(self._order) or key not in self._cols:
            return
        v = self._cols[key]
        if v.dtype == object:
            v = v.astype(str)
            order = np.argsort(v, kind="stable")
            self._order = order[::-1] if descending else order
            return
        v = np.where(np.isnan(v), -np.inf, v) if v.dtype.kind == "f" else v
        self._order = np.argsort(-v if descending else v, kind="stable")

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        key = ERROR_COLUMNS[column][0]
        key = "category_id" if key == "class" else key
        self.layoutAboutToBeChanged.emit()
        self._sort(key, order == Qt.DescendingOrder)
        self.layoutChanged.emit()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(ERROR_COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return ERROR_COLUMNS[section][1]
        return None

    def row(self, i: int) -> dict:
        j = int(self._order[i])
        out = {k: v[j] for k, v in self._cols.items()}
        out["class"] = self._names.get(int(out["category_id"]), str(out["category_id"]))
        return out

    def data(self, index, role=Qt.DisplayRole):
        # Called for every visible cell and role on each repaint: keep it to one array lookup.
        if role == _DISPLAY:
            key = _KEYS[index.column()]
            j = self._order[index.row()]
            if key == "class":
                c = int(self._cols["category_id"][j])
                return self._names.get(c, str(c))
            return _fmt(self._cols[key][j])
        if role == _ALIGN and _KEYS[index.column()] in _RIGHT:
            return _RIGHT_ALIGN
        return None

    def rows_as_text(self) -> list[list[str]]:
        return [[_fmt(self.row(i)[k]) for k, _ in ERROR_COLUMNS] for i in range(self.rowCount())]


class NumberItem(QTableWidgetItem):
    """Sorts by its number (NaN and 'undefined' last), shows it with three decimals."""

    def __init__(self, value, decimals: int = 3):
        self.value = float("nan") if value is None else float(value)
        undefined = math.isnan(self.value) or (decimals and self.value < 0)
        text = "-" if undefined else (f"{self.value:.{decimals}f}" if decimals else str(int(self.value)))
        super().__init__(text)
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.setFlags(self.flags() & ~Qt.ItemIsEditable)
        self._key = -math.inf if undefined else self.value

    def __lt__(self, other) -> bool:
        if isinstance(other, NumberItem):
            return self._key < other._key
        return super().__lt__(other)


def fill_table(table: QTableWidget, headers: list[str], rows: list[list]) -> None:
    """rows hold str (text) or numbers (NumberItem; ints shown without decimals)."""
    table.setSortingEnabled(False)
    table.clear()
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, str):
                item = QTableWidgetItem(v)
                item.setFlags(item.flags() & ~Qt.ItemIsEditable)
            else:
                item = NumberItem(v, 0 if isinstance(v, (int, np.integer)) else 3)
            table.setItem(r, c, item)
    table.setSortingEnabled(True)


def table_rows(table: QTableWidget) -> list[list[str]]:
    """What the table shows, in its current sort order."""
    out = []
    for r in range(table.rowCount()):
        out.append([table.item(r, c).text() if table.item(r, c) else "" for c in range(table.columnCount())])
    return out


def write_csv(path, headers: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


TIDE_TIPS = {
    "classification": "Overlaps a label of another class (IoU >= the match IoU): right place, wrong class",
    "localisation": "Right class, poorly placed: best IoU with a label of its class between the background "
                    "IoU and the match IoU",
    "both": "Wrong class and poorly placed",
    "duplicate": "Right class and place, but another prediction already matched that label",
    "background": "Covers no label (IoU with every label at most the background IoU)",
    "missed": "A label that no prediction found, not even wrongly",
}


def fill_tide(table: QTableWidget, tide) -> None:
    """The TIDE breakdown: each kind of error, how many, and the AP points that fixing every one of
    them would add back (the biggest in bold). Empty when the evaluation has none (segmentation)."""
    if tide is None:
        table.clear()
        table.setRowCount(0)
        table.hide()
        return
    rows = [[kind, int(tide.counts[kind]), float(tide.dap[kind])] for kind in ERROR_KINDS]
    fill_table(table, ["Error (TIDE)", "Count", "dAP"], rows)
    table.setSortingEnabled(False)
    worst = max(range(len(rows)), key=lambda r: rows[r][2])
    for r, kind in enumerate(ERROR_KINDS):
        table.item(r, 0).setToolTip(TIDE_TIPS[kind])
        if rows[worst][2] > 0 and r == worst:
            for c in range(3):
                font = table.item(r, c).font()
                font.setBold(True)
                table.item(r, c).setFont(font)
    for c, tip in enumerate((f"TIDE at IoU {tide.pos_thr:.2f} (background below {tide.bg_thr:.2f})",
                             "How many predictions (or labels, for missed) made this error",
                             f"AP{int(round(tide.pos_thr * 100))} points that fixing every error of this kind "
                             f"adds back (TIDE's AP here: {tide.ap:.2f})")):
        table.horizontalHeaderItem(c).setToolTip(tip)
    for r in range(len(rows)):  # dAP in AP points, as TIDE reports them
        table.item(r, 2).setText(f"{rows[r][2]:.2f}")
    table.resizeColumnsToContents()
    table.setFixedWidth(sum(table.columnWidth(c) for c in range(3)) + 2 * table.frameWidth() + 2)
    table.setFixedHeight(table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(len(rows)))
                         + 2 * table.frameWidth() + 2)
    table.show()
