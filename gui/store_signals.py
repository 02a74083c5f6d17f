"""Store events (from any thread) as a Qt signal delivered on the GUI thread."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot

from annotations.store import Store, StoreEvent


class StoreSignals(QObject):
    """changed(table, action, ids): emitted on the GUI thread after each committed change."""
    changed = Signal(str, str, list)
    _relay = Signal(object)

    def __init__(self, store: Store, parent: QObject | None = None):
        super().__init__(parent)
        self._relay.connect(self._deliver, Qt.QueuedConnection)
        self._unsubscribe = store.subscribe(self._relay.emit)

    @Slot(object)
    def _deliver(self, ev: StoreEvent) -> None:
        self.changed.emit(ev.table, ev.action, ev.ids)

    def detach(self) -> None:
        self._unsubscribe()
