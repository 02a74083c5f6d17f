"""The list widget both Label next tabs show (ranked images, flagged labels)."""
from __future__ import annotations

from PySide6.QtWidgets import QTreeWidget


def ranked_list(columns) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setHeaderLabels(list(columns))
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    tree.setMinimumHeight(96)  # the dock may be short: the list shrinks, the form stays
    tree.header().setStretchLastSection(True)
    return tree
