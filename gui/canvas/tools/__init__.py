"""The canvas tools, by the names CanvasWidget.set_tool takes."""
from .brush import BrushTool, EraserTool
from .draw import PolygonTool, RectangleTool
from .select import SelectTool

TOOLS = {t.name: t for t in (SelectTool, RectangleTool, PolygonTool, BrushTool, EraserTool)}

__all__ = ["TOOLS", "SelectTool", "RectangleTool", "PolygonTool", "BrushTool", "EraserTool"]
