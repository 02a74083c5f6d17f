"""Logging (annotations.applog): one rotating file in the log folder for the whole app; failures of the
engine thread (tests/gui/engine/test_bridge.py) and of the training child
(tests/gui/training) land there with what explains them; Help > "Open log folder"
opens that folder."""
from __future__ import annotations

import logging
import logging.handlers

from annotations.applog import LOG_FILE, log_folder, setup_logging


def _log_text(log_file) -> str:
    for h in logging.getLogger().handlers:
        h.flush()
    return log_file.read_text(encoding="utf-8") if log_file.exists() else ""


def _handler():
    return next(h for h in logging.getLogger().handlers if getattr(h, "_sightline", False))


def test_the_log_is_one_rotating_file_in_the_log_folder(tmp_path):
    log_file = setup_logging()
    assert log_file == log_folder() / LOG_FILE and setup_logging() == log_file  # attached once
    handler = _handler()
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes > 0 and handler.backupCount > 0
    kept = handler.maxBytes
    handler.maxBytes = 2000
    try:
        for i in range(40):
            logging.getLogger("sightline.test").warning("line %d of a long run: %s", i, "x" * 80)
        handler.flush()
    finally:
        handler.maxBytes = kept
    assert (log_file.parent / (LOG_FILE + ".1")).exists()  # rolled over, not grown without end
    assert log_file.stat().st_size <= 2000 + 200


def test_help_open_log_folder_opens_the_log_folder(qtbot, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from gui.main_window import MainWindow
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    win = MainWindow()
    qtbot.addWidget(win)
    (action,) = [a for a in win.menu("&Help").actions() if a.text() == "Open log folder"]
    action.trigger()
    assert [u.toLocalFile() for u in opened] == [str(log_folder())]
    win.close()
