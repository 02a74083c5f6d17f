"""Fixtures for the window tests: a factory that builds the real window on a
real demo project, then closes it and checks that nothing was left running."""
from __future__ import annotations

import gc
import warnings

import pytest
from PySide6.QtCore import QCoreApplication, QThread, QThreadPool
from PySide6.QtWidgets import QApplication


def _running_qthreads() -> list:
    main = QCoreApplication.instance().thread()
    out = []
    with warnings.catch_warnings():  # isinstance() on some deprecated torch objects warns
        warnings.simplefilter("ignore")
        objects = [o for o in gc.get_objects() if isinstance(o, QThread)]
    for obj in objects:
        if isinstance(obj, QThread):
            try:
                if obj is not main and obj.isRunning():
                    out.append(obj)
            except RuntimeError:  # wrapper of a deleted C++ object
                pass
    return out


@pytest.fixture
def make_window(qtbot, settings_dir):
    """make_window(project_path) -> MainWindow showing the project's first image on the canvas."""
    from gui.main_window import MainWindow
    made = []

    def make(project, wait_for_image: bool = True) -> MainWindow:
        win = MainWindow()
        win.resize(1280, 800)  # the size these tests' coordinates assume
        qtbot.addWidget(win)
        made.append(win)
        win.show()
        qtbot.waitExposed(win)
        with qtbot.waitSignal(win.session.project_opened, timeout=20000):
            win.open_path(project)
        if wait_for_image:
            qtbot.waitUntil(lambda: win.canvas.current_image_id is not None and win.canvas.image_ready,
                            timeout=10000)
        win.activateWindow()  # shortcuts only fire in the active window
        qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
        return win

    yield make
    for win in made:
        win.close()
        assert win.store is None, "the project was not closed with the window"
        assert not win._jobs, "a job outlived the window"
    assert QThreadPool.globalInstance().waitForDone(10000), "pool threads still busy after close"
    qtbot.wait(10)
    assert not _running_qthreads(), "a QThread is still running after the window closed"
