"""Forms that fit their dock: no horizontal scrolling, no label cut to a letter.

A dock is often narrower than a form's natural width (a combo box is as wide as its longest entry, a
label column as wide as its longest label). `fit_form` lets such a form shrink: combo boxes and line
edits may be narrower than their contents (the full text stays in the popup and the tooltip), and a
row whose label and field do not fit side by side puts the field under its label.
"""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QSizePolicy, QWidget

MIN_CHARS = 10  # a combo box shows at least this many characters


def shrinkable(widget: QWidget) -> None:
    if isinstance(widget, QComboBox):
        widget.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        widget.setMinimumContentsLength(MIN_CHARS)
        widget.setSizePolicy(QSizePolicy.Expanding, widget.sizePolicy().verticalPolicy())
    elif isinstance(widget, QLineEdit):
        widget.setMinimumWidth(60)


def fit_form(form: QFormLayout) -> None:
    form.setRowWrapPolicy(QFormLayout.WrapLongRows)
    form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.FieldRole)
        if item is None:
            continue
        if item.widget() is not None:
            shrinkable(item.widget())
        elif item.layout() is not None:
            lay = item.layout()
            for i in range(lay.count()):
                if lay.itemAt(i).widget() is not None:
                    shrinkable(lay.itemAt(i).widget())
