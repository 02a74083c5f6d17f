"""The window: PySide6 only. Widgets never call torch; engine work goes through gui.bridge."""
