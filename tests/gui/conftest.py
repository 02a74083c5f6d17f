"""Fixtures for every GUI test."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(autouse=True)
def settings_dir(qapp, tmp_path):
    """QSettings() everywhere in the app reads and writes an INI file under tmp_path (every GUI
    test: none may touch the user's real settings)."""
    path = tmp_path / "settings"
    path.mkdir()
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(path))
    QCoreApplication.setOrganizationName("SightlineTests")
    QCoreApplication.setApplicationName("gui-tests")
    QSettings().clear()
    return path


@pytest.fixture(autouse=True)
def thumbnail_cache_dir(tmp_path, monkeypatch):
    """The film strip's disk cache under tmp_path (no GUI test writes or prunes the user's cache)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("SIGHTLINE_CACHE_DIR", str(path))
    return path
