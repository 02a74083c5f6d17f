"""The general settings (File > Settings > General), kept in QSettings and applied at once and at
start: the tool a window starts with, the default score threshold of the Model dock (used by
"Accept all above threshold"), whether the window layout is saved on close, and the theme.

QSettings is a file a person may edit or another version may have written: every value read from it
is checked (`stored_number` for numbers), and anything unreadable falls back to its default."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QGuiApplication

from annotations.ranges import problem

from .session import TOOLS
from .theme import THEMES

GROUP = "general"


@dataclass(frozen=True)
class GeneralSettings:
    default_tool: str = "select"
    threshold: float = 0.5
    autosave_layout: bool = True
    theme: str = "system"


def _bool(raw, default: bool) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return default
    return str(raw).strip().lower() in ("1", "true", "yes", "on")


def stored_number(key: str, default: float, lo: float, hi: float, settings: QSettings | None = None) -> float:
    """The number kept under `key`, clamped to lo..hi; `default` where it is not a finite number."""
    raw = (settings or QSettings()).value(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return default
    return default if problem(value, float) else min(max(value, lo), hi)


def load(settings: QSettings | None = None) -> GeneralSettings:
    """What is stored, each value checked; anything unreadable falls back to its default."""
    s = settings or QSettings()
    d = GeneralSettings()
    tool = str(s.value(f"{GROUP}/default_tool", d.default_tool))
    threshold = stored_number(f"{GROUP}/threshold", d.threshold, 0.0, 1.0, s)
    theme = str(s.value(f"{GROUP}/theme", d.theme))
    return GeneralSettings(tool if tool in TOOLS else d.default_tool, threshold,
                           _bool(s.value(f"{GROUP}/autosave_layout"), d.autosave_layout),
                           theme if theme in THEMES else d.theme)


def save(values: GeneralSettings, settings: QSettings | None = None) -> None:
    if values.default_tool not in TOOLS:
        raise ValueError(f"unknown tool {values.default_tool!r}")
    if values.theme not in THEMES:
        raise ValueError(f"unknown theme {values.theme!r}")
    s = settings or QSettings()
    s.setValue(f"{GROUP}/default_tool", values.default_tool)
    s.setValue(f"{GROUP}/threshold", float(values.threshold))
    s.setValue(f"{GROUP}/autosave_layout", bool(values.autosave_layout))
    s.setValue(f"{GROUP}/theme", values.theme)
    s.sync()


class _Follower(QObject):
    """Keeps the window following the settings after start: re-applies the theme when the desktop
    switches light/dark (theme "system"), and the chosen threshold when the Model dock picks a model
    (which sets that model's own default). A child of the window, so its connections end with it."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self.scheme_changed)
        model = window.services.optional("model")
        if model is not None:  # connected after the dock's own slot, so this one runs last
            model.on_model_chosen(self.model_changed)

    def scheme_changed(self, _scheme=None) -> None:
        from . import theme
        if self.window.general_settings.theme == "system":
            theme.apply_theme(QGuiApplication.instance(), "system")

    def model_changed(self, _index=None) -> None:
        if QSettings().contains(f"{GROUP}/threshold"):
            _set_threshold(self.window, self.window.general_settings.threshold)


def _set_threshold(window, value: float) -> None:
    model = window.services.optional("model")  # the Model feature's service, when it is installed
    if model is not None:
        model.set_threshold(value)


def apply(window, values: GeneralSettings, starting: bool = False) -> None:
    """Make the window follow the settings: the theme app-wide, the Model dock's threshold (once the
    user has chosen one; until then each model's own default), and the default tool (at start, or
    when the default itself changed)."""
    from PySide6.QtWidgets import QApplication

    from . import theme
    theme.apply_theme(QApplication.instance(), values.theme)
    if starting and window.findChild(_Follower) is None:
        _Follower(window)
    if starting or window.general_settings.default_tool != values.default_tool:
        window.session.set_tool(values.default_tool)
    window.general_settings = values
    if QSettings().contains(f"{GROUP}/threshold"):
        _set_threshold(window, values.threshold)
