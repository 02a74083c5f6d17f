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


@pytest.fixture
def axis_labels():
    """check(chart_view): the numbers drawn along a QtCharts view's bottom and left axes, read from its
    scene as drawn, must step evenly where their ticks do (so each says the value at its place: five
    ticks on 0-1 labelled "%.1f" read 0, 0.3, 0.5, 0.8, 1). Returns (bottom, left) label values."""
    import numpy as np
    from PySide6.QtWidgets import QGraphicsTextItem

    def check(view):
        numbers = []
        for it in view.scene().items():
            if isinstance(it, QGraphicsTextItem) and it.isVisible():
                try:
                    numbers.append((float(it.toPlainText()), it.sceneBoundingRect().center()))
                except ValueError:  # titles, the legend
                    pass
        bottom = max(c.y() for _, c in numbers)
        xs = sorted((c.x(), v) for v, c in numbers if abs(c.y() - bottom) < 3)
        ys = sorted((-c.y(), v) for v, c in numbers if c.x() < min(x for x, _ in xs) - 3)
        out = []
        for axis in (xs, ys):
            pos, val = np.array(axis).T
            assert len(axis) >= 3, axis
            assert np.abs(np.diff(pos) - np.diff(pos).mean()).max() < 2, axis  # evenly placed ticks
            step = np.diff(val)
            assert (step > 0).all() and np.abs(step - step[0]).max() <= 1e-9 * np.abs(val).max(), axis
            out.append(val)
        return tuple(out)
    return check
