"""Line charts of the evaluation: precision-recall and F1 against confidence (QtCharts).

Each series keeps its data points (x, y, threshold); hovering a line names the nearest point:
precision, recall and the confidence threshold it is reached at.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCharts import QChart, QChartView, QLineSeries, QScatterSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QToolTip

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def colour(i: int) -> QColor:
    return QColor(PALETTE[i % len(PALETTE)])


class CurveChart(QChartView):
    """A chart of named curves on [0, 1] x [0, 1]; `hover_text` holds what the last hover showed."""
    hovered = Signal(str)

    def __init__(self, title: str, x_title: str, y_title: str, parent=None):
        self._chart = QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QPainter.Antialiasing)
        self.title = title  # the tab and the axes say what the chart is: no title row, the legend on top
        self._chart.legend().setAlignment(Qt.AlignTop)
        self._chart.layout().setContentsMargins(0, 0, 0, 0)
        self._chart.setMargins(QMargins(4, 2, 8, 2))
        self._chart.setBackgroundRoundness(0)
        self.x_axis, self.y_axis = QValueAxis(), QValueAxis()
        for axis, text in ((self.x_axis, x_title), (self.y_axis, y_title)):
            axis.setRange(0.0, 1.0)
            axis.setTitleText(text)
            axis.setTickCount(6)  # 0, 0.2, ... 1: each label the value at its tick (5 ticks would say 0.3 at 0.25)
            axis.setLabelFormat("%.1f")
        self._chart.addAxis(self.x_axis, Qt.AlignBottom)
        self._chart.addAxis(self.y_axis, Qt.AlignLeft)
        self._points: dict[QLineSeries, tuple[str, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.hover_text = ""
        self._describe = None

    def clear(self) -> None:
        self._chart.removeAllSeries()
        self._points.clear()

    def set_describer(self, fn) -> None:
        """fn(label, x, y, threshold) -> tooltip text."""
        self._describe = fn

    def add_curve(self, label: str, xs, ys, thresholds, index: int, width: float = 1.6,
                  dashed: bool = False) -> QLineSeries:
        xs, ys, th = (np.asarray(v, float) for v in (xs, ys, thresholds))
        s = QLineSeries()
        s.setName(label)
        s.replace([QPointF(float(x), float(y)) for x, y in zip(xs, ys)])
        pen = QPen(colour(index), width)
        if dashed:
            pen.setStyle(Qt.DashLine)
        s.setPen(pen)
        self._chart.addSeries(s)
        s.attachAxis(self.x_axis)
        s.attachAxis(self.y_axis)
        self._points[s] = (label, xs, ys, th)
        s.hovered.connect(lambda point, state, series=s: self._on_hover(series, point, state))
        return s

    def add_marker(self, label: str, x: float, y: float, index: int) -> None:
        m = QScatterSeries()
        m.setName(label)
        m.setMarkerSize(9)
        m.setColor(colour(index))
        m.append(float(x), float(y))
        self._chart.addSeries(m)
        m.attachAxis(self.x_axis)
        m.attachAxis(self.y_axis)
        self._chart.legend().markers(m)[0].setVisible(False)

    def series(self) -> list[QLineSeries]:
        return list(self._points)

    def describe(self, series: QLineSeries, point: QPointF) -> str:
        label, xs, ys, th = self._points[series]
        if not len(xs):
            return ""
        i = int(np.argmin(np.hypot(xs - point.x(), ys - point.y())))
        t = float(th[i]) if len(th) else math.nan
        if self._describe is not None:
            return self._describe(label, float(xs[i]), float(ys[i]), t)
        return f"{label}: x {xs[i]:.3f}, y {ys[i]:.3f}"

    def _on_hover(self, series: QLineSeries, point: QPointF, state: bool) -> None:
        if not state:
            QToolTip.hideText()
            return
        self.hover_text = self.describe(series, point)
        self.hovered.emit(self.hover_text)
        QToolTip.showText(self.cursor().pos(), self.hover_text, self)

    def position_of(self, series: QLineSeries, x: float, y: float):
        """Widget coordinates of a data point (tests drive the mouse with it)."""
        scene = self._chart.mapToPosition(QPointF(x, y), series)
        return self.mapFromScene(scene)


def pr_tooltip(label: str, recall: float, precision: float, threshold: float) -> str:
    th = "n/a (average over classes)" if math.isnan(threshold) else f"{threshold:.3f}"
    return f"{label}\nprecision {precision:.3f}\nrecall {recall:.3f}\nscore threshold {th}"


def f1_tooltip(label: str, threshold: float, f1: float, _unused: float) -> str:
    return f"{label}\nF1 {f1:.3f} at score >= {threshold:.3f}"
