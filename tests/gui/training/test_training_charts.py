"""The live charts of a run as a person reads them: each axis label says the value at its place."""
import math

import pytest

from gui.training.charts import LiveChart


@pytest.mark.parametrize("n, f", [(37, lambda i: 1.3 * math.exp(-i / 9) + 0.21), (5, lambda i: 0.5 + 0.0004 * i),
                                  (800, lambda i: 1e-3 * (1 - i / 900)), (1, lambda i: 2.0)])
def test_each_axis_label_says_the_value_at_its_place(qtbot, axis_labels, n, f):
    chart = LiveChart("loss", "loss")
    qtbot.addWidget(chart)
    chart.resize(500, 300)
    chart.show()
    qtbot.waitExposed(chart)
    for i in range(n + 1):
        chart.add_point("total", i, f(i))
    qtbot.wait(20)
    xs, ys = axis_labels(chart)
    values = [f(i) for i in range(n + 1)]
    assert xs.min() <= 0 and xs.max() >= n  # the labels span the data
    assert ys.min() <= min(values) and ys.max() >= max(values)
