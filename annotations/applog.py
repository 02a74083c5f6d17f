"""Logging for the whole app: stdlib logging to a rotating file in the user's data folder.

setup_logging() is called once by each entry point (the window, every command-line command, the
training child). Every job, engine-worker and child-process failure is logged there with its
traceback; Help > "Open log folder" opens the folder. SIGHTLINE_LOG_DIR moves it (tests do).
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_DIR_ENV = "SIGHTLINE_LOG_DIR"
LOG_FILE = "sightline.log"
_FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"


def log_folder() -> Path:
    given = os.environ.get(LOG_DIR_ENV)
    if given:
        return Path(given)
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "sightline" / "logs"


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Attach the rotating file handler to the root logger (once). Returns the log file, or None
    when the folder cannot be written (the app then runs without a log file)."""
    root = logging.getLogger()
    for h in root.handlers:
        if getattr(h, "_sightline", False):
            return Path(h.baseFilename)
    folder = log_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / LOG_FILE, maxBytes=2_000_000, backupCount=5,
                                                       encoding="utf-8", delay=True)
    except OSError:
        return None
    handler._sightline = True
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    previous = sys.excepthook

    def log_uncaught(kind, value, tb):
        logging.getLogger("sightline").critical("uncaught exception", exc_info=(kind, value, tb))
        previous(kind, value, tb)
    if not getattr(sys.excepthook, "_sightline", False):
        log_uncaught._sightline = True
        sys.excepthook = log_uncaught
    return Path(handler.baseFilename)
