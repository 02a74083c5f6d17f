"""The labelling canvas: image view, shape items, tools, image decoding and prefetch."""
from .. import pyside_fix  # noqa: F401  (before any scene work: see its docstring)
from .widget import CanvasWidget

__all__ = ["CanvasWidget"]
