"""A category's swatch shows its colour on a selected row too (not tinted by the selection)."""
from PySide6.QtGui import QColor, QIcon


def test_a_swatch_keeps_its_colour_when_its_row_is_selected(qapp):
    from gui.panels.category_list import _swatch
    icon = _swatch(QColor("#e6194b"))
    for mode in (QIcon.Normal, QIcon.Selected):
        img = icon.pixmap(12, 12, mode).toImage()
        assert QColor(img.pixel(6, 6)).name() == "#e6194b"
