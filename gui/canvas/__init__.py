"""The labelling canvas: image view, shape items, tools, image decoding and prefetch."""
from .widget import CanvasWidget

__all__ = ["CanvasWidget"]
