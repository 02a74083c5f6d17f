"""Work put off until a widget is on screen is done once it is, also when the first look came too
early (the window not yet exposed) and the person later picks the widget's dock tab: the Model panel
went on "asking the engine which models exist" for good in a real window."""
from PySide6.QtCore import Qt
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

from gui.first_seen import WhenFirstSeen


def test_work_is_done_once_when_the_dock_tab_is_picked_after_a_look_that_found_nothing(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    front, back = QDockWidget("Front"), QDockWidget("Back")
    front.setWidget(QLabel("front"))
    panel = QLabel("panel")
    back.setWidget(panel)
    for dock in (front, back):
        win.addDockWidget(Qt.RightDockWidgetArea, dock)
    win.tabifyDockWidget(front, back)
    calls = []
    WhenFirstSeen(panel, lambda: calls.append(1))
    panel.visibleRegion = QRegion  # the first looks find nothing on screen (the window not yet exposed)
    front.raise_()
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(400)
    assert calls == []
    del panel.visibleRegion  # on screen from now on
    front.raise_()
    back.raise_()  # the person picks the panel's tab: no Show reaches the panel, the dock says it
    qtbot.waitUntil(lambda: calls == [1], timeout=3000)
    front.raise_()
    back.raise_()
    qtbot.wait(400)
    assert calls == [1]  # once


def test_a_widget_visible_before_its_window_is_on_screen_is_looked_at_again(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    dock = QDockWidget("Only")
    panel = QLabel("panel")
    dock.setWidget(panel)
    win.addDockWidget(Qt.RightDockWidgetArea, dock)
    calls = []
    WhenFirstSeen(panel, lambda: calls.append(1))
    panel.visibleRegion = QRegion  # shown, but the window is not on screen yet
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(500)
    assert calls == []
    del panel.visibleRegion  # the window reaches the screen: no show, no tab pick, a later look sees it
    qtbot.waitUntil(lambda: calls == [1], timeout=3000)
