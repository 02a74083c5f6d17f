"""The confusion heat map with many classes (COCO's 80): every class drawn has a row and a column a
name can be read against; where they do not all fit, those with the most errors are drawn, and a
line says so. Clicks and tooltips speak of the whole matrix."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from gui.evaluation.heatmap import ConfusionHeatmap

from pixels import argb


def _matrix(n: int) -> np.ndarray:
    """n classes and background; class 7 confused with 30 (5 times), class 50 missed 9 times, class 12
    predicted on background 4 times; every class right a few times."""
    m = np.zeros((n + 1, n + 1), np.int64)
    m[np.arange(n), np.arange(n)] = 3
    m[7, 30], m[50, n], m[n, 12] = 5, 9, 4
    return m


def test_many_classes_show_those_with_the_most_errors_at_a_readable_size(qtbot):
    n = 80
    heat = ConfusionHeatmap()
    qtbot.addWidget(heat)
    heat.resize(420, 400)
    heat.show()
    heat.set_matrix(_matrix(n), [f"class {i}" for i in range(n)])
    shown = heat.shown()
    assert 5 < len(shown) < n + 1 and shown[-1] == n  # background always, last
    assert {7, 30, 50, 12} <= set(shown) and shown == sorted(shown)
    line = heat.fontMetrics().height()
    first, second = heat.cell_rect(shown[0], shown[0]), heat.cell_rect(shown[1], shown[1])
    assert second.top() - first.top() >= line + 2  # a row per line of text: names never overlap
    hidden = min(set(range(n)) - set(shown))
    assert heat.cell_rect(hidden, hidden).isEmpty()  # a class not drawn has no cell
    picture = argb(heat.grab().toImage())
    below = heat.cell_rect(n, n).bottom() + 4  # the note under the matrix is drawn
    base = picture[-2, :4]  # the widget's background, in its bottom-left corner
    note = picture[below:below + line - 2, 4 * heat.cell_rect(n, 0).left():]
    assert (note.reshape(-1, 4) != base).any()
    clicked = []
    heat.cell_clicked.connect(lambda r, c: clicked.append((r, c)))
    qtbot.mouseClick(heat, Qt.LeftButton, pos=heat.cell_rect(7, 30).center())
    assert clicked == [(7, 30)]  # the whole matrix's indices


def test_few_classes_are_all_drawn(qtbot):
    heat = ConfusionHeatmap()
    qtbot.addWidget(heat)
    heat.resize(heat.minimumSize())  # the smallest the dock makes it
    heat.show()
    m = np.diag([3, 3, 3, 3, 0])
    m[0, 1] = m[2, 4] = 1
    heat.set_matrix(m, ["a", "b", "c", "d"])
    assert heat.shown() == [0, 1, 2, 3, 4]
    assert heat.cell_rect(1, 1).height() >= heat.fontMetrics().height()
