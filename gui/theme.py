"""Light, dark, or the system's choice, applied app-wide: Qt's Fusion style with a dark palette
and resources/style-dark.qss on top of resources/style.qss for dark; the platform's own style and
palette for light."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

THEMES = ("system", "light", "dark")
THEME_TITLES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
_RESOURCES = Path(__file__).resolve().parents[1] / "resources"
_original: dict = {}  # the platform's style name and palette, before any theme was applied


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(theme: str) -> str:
    """"light" or "dark" (system: what the desktop asks for)."""
    if theme == "system":
        return "dark" if system_is_dark() else "light"
    return theme


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(45, 47, 51), QColor(32, 33, 36), QColor(222, 224, 228)
    for role, colour in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                         (QPalette.AlternateBase, QColor(40, 42, 46)), (QPalette.ToolTipBase, window),
                         (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, window),
                         (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 90, 90)),
                         (QPalette.Link, QColor(110, 160, 230)), (QPalette.Highlight, QColor(59, 111, 182)),
                         (QPalette.HighlightedText, QColor(255, 255, 255)),
                         (QPalette.PlaceholderText, QColor(140, 144, 150))):
        p.setColor(role, colour)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor(120, 123, 128))
    return p


def style_sheet(dark: bool) -> str:
    parts = [_RESOURCES / "style.qss"] + ([_RESOURCES / "style-dark.qss"] if dark else [])
    return "\n".join(p.read_text(encoding="utf-8") for p in parts)


def apply_theme(app, theme: str) -> str:
    """Apply `theme` to the application; returns what it resolved to ("light" or "dark"). The platform
    look is left as it is until a dark theme was applied once."""
    mode = resolve(theme)
    if app is None:
        return mode
    if not _original:
        _original.update(style=app.style().name(), palette=QPalette(app.palette()))
    current = app.property("sightline_theme") or "light"
    if mode == current:
        app.setProperty("sightline_theme", mode)
        return mode
    if mode == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    else:
        app.setStyle(_original["style"])
        app.setPalette(_original["palette"])
    app.setStyleSheet(style_sheet(mode == "dark"))
    app.setProperty("sightline_theme", mode)
    return mode
