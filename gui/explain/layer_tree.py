"""The loaded model's modules as a tree (by their dotted names), with the engine's default layer of
the model's family selected and in view."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

NAME_ROLE = Qt.UserRole


class LayerTree(QTreeWidget):
    layer_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderLabels(["Layer", "Type"])
        self.setUniformRowHeights(True)
        self.setColumnWidth(0, 190)
        self._items: dict[str, QTreeWidgetItem] = {}
        self.default_layer = ""
        self.currentItemChanged.connect(lambda cur, _prev: cur is not None and self.layer_chosen.emit(self.layer()))

    def set_layers(self, layers: list[tuple[str, str]], default: str) -> None:
        """layers: (dotted name, module type) in the model's order; `default` is selected."""
        self.clear()
        self._items.clear()
        for name, kind in layers:
            parent_name, _, short = name.rpartition(".")
            parent = self._items.get(parent_name)
            item = QTreeWidgetItem([short, kind])
            item.setData(0, NAME_ROLE, name)
            item.setToolTip(0, name)
            (parent.addChild(item) if parent is not None else self.addTopLevelItem(item))
            self._items[name] = item
        self.default_layer = default
        self.select_layer(default)

    def select_layer(self, name: str) -> bool:
        item = self._items.get(name)
        if item is None:
            return False
        parent = item.parent()
        while parent is not None:
            parent.setExpanded(True)
            parent = parent.parent()
        self.setCurrentItem(item)
        self.scrollToItem(item, QTreeWidget.PositionAtCenter)
        return True

    def layer(self) -> str:
        item = self.currentItem()
        return "" if item is None else str(item.data(0, NAME_ROLE))

    def names(self) -> list[str]:
        return list(self._items)
