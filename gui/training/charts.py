"""Live line charts of a run (QtCharts): losses, learning rate, validation metrics against iterations."""
from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget


class LiveChart(QChartView):
    """Named line series sharing one x axis (iterations); axes follow the data."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setRenderHint(QPainter.Antialiasing)
        self.chart_ = QChart()
        self.chart_.setTitle(title)
        self.chart_.legend().setAlignment(Qt.AlignBottom)
        self.x_axis, self.y_axis = QValueAxis(), QValueAxis()
        self.x_axis.setTitleText("iteration")
        self.x_axis.setLabelFormat("%d")
        self.y_axis.setTitleText(y_label)
        self.chart_.addAxis(self.x_axis, Qt.AlignBottom)
        self.chart_.addAxis(self.y_axis, Qt.AlignLeft)
        self.setChart(self.chart_)
        self.series: dict[str, QLineSeries] = {}
        self._x = [0.0, 1.0]
        self._y = [0.0, 1.0]
        self.setMinimumHeight(120)
        self.empty_note = QLabel("", self)  # what the chart will show, while it has nothing
        self.empty_note.setAlignment(Qt.AlignCenter)
        self.empty_note.setWordWrap(True)
        self.empty_note.setStyleSheet("QLabel { color: #555; background: rgba(255, 255, 255, 200); padding: 8px; }")

    def set_empty_note(self, text: str) -> None:
        self.empty_note.setText(text)
        self._place_note()

    def _place_note(self) -> None:
        self.empty_note.setVisible(bool(self.empty_note.text()) and not self.series)
        w = min(self.width() - 20, 460)
        self.empty_note.setFixedWidth(max(w, 80))
        self.empty_note.adjustSize()
        self.empty_note.move((self.width() - self.empty_note.width()) // 2,
                             (self.height() - self.empty_note.height()) // 2)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._place_note()

    def add_point(self, name: str, x: float, y: float) -> None:
        s = self.series.get(name)
        if s is None:
            s = QLineSeries()
            s.setName(name)
            self.chart_.addSeries(s)
            s.attachAxis(self.x_axis)
            s.attachAxis(self.y_axis)
            self.series[name] = s
            self.empty_note.hide()
        s.append(float(x), float(y))
        if sum(v.count() for v in self.series.values()) == 1:
            self._x, self._y = [x, x], [y, y]
        self._x = [min(self._x[0], x), max(self._x[1], x)]
        self._y = [min(self._y[0], y), max(self._y[1], y)]
        pad = (self._y[1] - self._y[0]) * 0.05 or abs(self._y[1]) * 0.05 or 1e-3
        self.x_axis.setRange(self._x[0], max(self._x[1], self._x[0] + 4))  # at least 4: whole steps
        self.y_axis.setRange(self._y[0] - pad, self._y[1] + pad)
        for axis in (self.x_axis, self.y_axis):  # ticks at round values: each label the value at its place
            axis.applyNiceNumbers()              # (iterations 0-37 in five ticks read 0, 9, 18, 27, 37)

    def points(self, name: str) -> list[tuple[float, float]]:
        s = self.series.get(name)
        return [] if s is None else [(p.x(), p.y()) for p in s.points()]

    def clear(self) -> None:
        for s in self.series.values():
            self.chart_.removeSeries(s)
        self.series.clear()
        self._place_note()


class RunCharts(QTabWidget):
    """Losses, learning rate and validation metrics of one run, fed with its events."""

    VALIDATION_KEYS = ("map", "map50", "segm_map", "segm_map50", "miou")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.losses = LiveChart("Training loss", "loss")
        self.lr = LiveChart("Learning rate", "lr")
        self.validation = LiveChart("Validation", "metric")
        self.addTab(self.losses, "Losses")
        self.addTab(self.lr, "Learning rate")
        self.addTab(self.validation, "Validation")
        self.losses.set_empty_note("Start a run: its losses are drawn here as it trains.")
        self.lr.set_empty_note("Start a run: its learning rate schedule is drawn here.")
        self.set_validation_split("val")

    def set_validation_split(self, split: str) -> None:
        """The Validation tab's note until the first validation arrives."""
        self.validation.set_empty_note(
            f"No validation yet: the run scores the '{split}' split after each epoch (mAP and AP50 appear "
            "here then)." if split else "No validation: no validation split is chosen for this run.")

    def clear(self) -> None:
        for c in (self.losses, self.lr, self.validation):
            c.clear()

    def add_event(self, ev: dict) -> None:
        kind = ev.get("event")
        if kind == "iteration":
            it = ev["iteration"]
            self.losses.add_point("total", it, ev["loss"])
            for name, value in ev.get("losses", {}).items():
                self.losses.add_point(name.removeprefix("loss_"), it, value)
            self.lr.add_point("lr", it, ev["lr"])
        elif kind == "validation":
            for key in self.VALIDATION_KEYS:
                if key in ev and ev[key] is not None and ev[key] >= 0:
                    self.validation.add_point(key, ev["iteration"], ev[key])
