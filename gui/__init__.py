"""The window: PySide6 only. Widgets never call torch; engine work goes through gui.bridge."""
from . import pyside_fix  # noqa: F401 - guards the binding's reference-count defect before any Qt call
