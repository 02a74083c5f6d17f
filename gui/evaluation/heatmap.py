"""The confusion matrix as a heat map: rows are label classes, columns predicted classes, the last
row and column are "background". Colour is the share of the row; the number is the count.
Clicking a cell emits cell_clicked(row, col), in the whole matrix's indices.

Every class has a row and a column where their names can be read (a cell at least a line of text
high); where the classes do not all fit, those with the most errors are shown (confused with another
class, missed, or predicted on background; in the matrix's order), background always, and a line
under the matrix says how many of how many. The table export holds the whole matrix."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

BACKGROUND = "background"


class ConfusionHeatmap(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix = np.zeros((1, 1), np.int64)
        self.names: list[str] = [BACKGROUND]
        self.selected: tuple[int, int] | None = None
        self._by_errors: list[int] = []  # class indices, most errors first
        self._measure_names()
        self.setMinimumSize(260, 220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(520, 440)

    def set_matrix(self, matrix: np.ndarray, class_names: list[str]) -> None:
        self.matrix = np.asarray(matrix)
        self.names = list(class_names) + [BACKGROUND]
        self._measure_names()
        m, n = self.matrix, len(self.names)  # n x n: the classes and background
        errors, labels = m.sum(1) + m.sum(0) - 2 * np.diag(m), m.sum(1)  # off the diagonal, row and column
        self._by_errors = sorted(range(n - 1), key=lambda i: (-errors[i], -labels[i], i))
        self.update()

    def _measure_names(self) -> None:
        """The longest name's width, measured once per matrix (every cell's rectangle needs it)."""
        fm = self.fontMetrics()
        self._longest = max(fm.horizontalAdvance(name[:16]) for name in self.names)

    # ---- geometry ---------------------------------------------------------------------------
    def _layout(self) -> tuple[int, int, float, list[int]]:
        """(left margin, top margin, cell size, the rows and columns drawn as whole-matrix indices).
        Margins: room for the longest class name, up to a third of the widget. Drawn: every class
        where all fit at a readable size, else those with the most errors in the matrix's order (and
        a line under them says so); background last."""
        fm, longest, n = self.fontMetrics(), self._longest, len(self.names)
        left = min(max(60, longest + 10), self.width() // 3)
        top = min(max(40, int(longest * 0.87) + fm.height()), self.height() // 3)  # names at 60 degrees
        right = max(4, longest // 2 - 10)  # the last column's slanted name reaches past its cell
        least = fm.height() + 2  # a cell a name beside it can be read against
        wide, high = self.width() - left - right, self.height() - top - 4
        room = min(wide, high)
        if n <= 1 or room >= n * least:
            shown = list(range(n))
        else:
            room = min(wide, high - fm.height())  # the note goes under the matrix
            shown = sorted(self._by_errors[:max(1, min(n - 1, room // least - 1))]) + [n - 1]
        return left, top, max(4.0, room / len(shown)), shown

    def shown(self) -> list[int]:
        return self._layout()[3]

    @staticmethod
    def _rect(left: int, top: int, cell: float, r: int, c: int) -> QRect:
        """The cell at drawn row r and column c."""
        return QRect(int(left + c * cell), int(top + r * cell), max(1, int(cell) - 1), max(1, int(cell) - 1))

    def cell_rect(self, row: int, col: int) -> QRect:
        """The cell of label class `row` and predicted class `col` (whole-matrix indices); an empty
        rectangle for a class not drawn."""
        left, top, cell, shown = self._layout()
        if row not in shown or col not in shown:
            return QRect()
        return self._rect(left, top, cell, shown.index(row), shown.index(col))

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        left, top, cell, shown = self._layout()
        col, row = int((pos.x() - left) // cell), int((pos.y() - top) // cell)
        if pos.x() < left or pos.y() < top or row >= len(shown) or col >= len(shown):
            return None
        return shown[row], shown[col]

    # ---- painting and input -------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        left, top, cell, shown = self._layout()
        n = len(self.names)
        m = self.matrix.astype(float)
        share = m / np.maximum(m.sum(1, keepdims=True), 1)
        font = QFont(self.font())
        font.setPointSizeF(max(5.0, min(10.0, cell / 3.2)))
        p.setFont(font)
        for i, r in enumerate(shown):
            for j, c in enumerate(shown):
                rect = self._rect(left, top, cell, i, j)
                v = share[r, c] if r < len(share) and c < len(share) else 0.0
                hue = QColor.fromHsvF(0.33 if r == c and r < n - 1 else 0.0, min(1.0, 0.15 + 0.85 * v), 0.95) \
                    if m[r, c] else QColor(245, 245, 245)
                p.fillRect(rect, hue)
                if (r, c) == self.selected:
                    p.setPen(QColor(0, 0, 0))
                    p.drawRect(rect.adjusted(0, 0, -1, -1))
                if cell >= 14 and m[r, c]:
                    p.setPen(QColor(0, 0, 0))
                    p.drawText(rect, Qt.AlignCenter, str(int(m[r, c])))
        p.setPen(self.palette().text().color())
        p.setFont(self.font())
        for i, k in enumerate(shown):
            name = self.names[k][:16]
            p.drawText(QRect(2, int(top + i * cell), left - 6, int(cell)), Qt.AlignRight | Qt.AlignVCenter, name)
            p.save()
            p.translate(left + i * cell + cell / 2, top - 4)
            p.rotate(-60)
            p.drawText(0, 0, name)
            p.restore()
        p.drawText(QRect(2, 2, left - 4, top - 4), Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, "label \\ predicted")
        if len(shown) < n:
            below = int(top + len(shown) * cell) + 2
            p.drawText(QRect(left, below, self.width() - left - 2, self.fontMetrics().height()),
                       Qt.AlignLeft | Qt.AlignVCenter,
                       f"{len(shown) - 1} of {n - 1} classes shown: those with the most errors")
        p.end()

    def mousePressEvent(self, event) -> None:
        hit = self.cell_at(event.position().toPoint())
        if hit is not None and event.button() == Qt.LeftButton:
            self.selected = hit
            self.update()
            self.cell_clicked.emit(*hit)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        hit = self.cell_at(event.position().toPoint())
        if hit is None:
            self.setToolTip("")
        else:
            r, c = hit
            self.setToolTip(f"label {self.names[r]}, predicted {self.names[c]}: {int(self.matrix[r, c])}")
        super().mouseMoveEvent(event)
