"""The Model and Training forms fit their docks at 1280x800 and 1600x1000: no horizontal scroll bar,
no label or check box cut short."""
import pytest
from PySide6.QtWidgets import QAbstractScrollArea, QCheckBox, QDockWidget, QLabel


def _cut_short(widget):
    """Labels and check boxes of `widget` narrower than their text needs."""
    out = []
    for w in widget.findChildren(QLabel) + widget.findChildren(QCheckBox):
        if not w.isVisible() or not w.text() or (isinstance(w, QLabel) and w.wordWrap()):
            continue
        if w.width() < w.minimumSizeHint().width():
            out.append(w.text())
    return out


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)])
def test_model_and_training_forms_fit_their_docks(qtbot, make_window, demo_project, size):
    win = make_window(demo_project)
    win.resize(*size)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    for key in ("model", "training"):
        dock = win.findChild(QDockWidget, key)
        dock.show()
        dock.raise_()
    qtbot.wait(100)
    for key in ("model", "training"):
        dock = win.findChild(QDockWidget, key)
        assert dock.isVisible()
        scrolls = [s for s in dock.findChildren(QAbstractScrollArea) if s.isVisible()]
        wide = [s.objectName() or type(s).__name__ for s in scrolls
                if s.horizontalScrollBar().isVisible() and s.horizontalScrollBar().maximum() > 0
                and type(s).__name__ not in ("QTableWidget", "QPlainTextEdit", "QChartView", "LiveChart")]
        assert wide == [], f"{key} scrolls sideways"
        assert _cut_short(dock) == [], f"{key}: cut short"
    assert win.height() == size[1]  # the docks did not push the window past the screen
