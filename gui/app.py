"""QApplication set-up and the first project shown."""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "Sightline"
ORG_NAME = "Sightline"


def default_demo_path() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "sightline" / "demo"


def create_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    from .theme import style_sheet
    app.setStyleSheet(style_sheet(dark=False))
    return app


def run_app(project: str | None = None) -> int:
    from annotations.applog import setup_logging
    setup_logging()
    app = create_app()
    from .main_window import MainWindow
    win = MainWindow()
    win.show()
    if project is None:
        win.open_demo_project(default_demo_path())
    else:
        win.open_path(project)
    return app.exec()
