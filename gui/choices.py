"""One choice of a combo box that is offered only when it can work."""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox


def offer_choice(combo: QComboBox, row: int, enabled: bool, why_not: str, fallback_row: int) -> None:
    """Enable or disable `row` of `combo` (its tooltip says why it is off). A disabled choice that is
    current moves to `fallback_row` without emitting currentIndexChanged, so no slot (a file dialog,
    say) runs for a choice the user did not make."""
    item = combo.model().item(row)
    item.setEnabled(enabled)
    item.setToolTip("" if enabled else why_not)
    if not enabled and combo.currentIndex() == row:
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(fallback_row)
        combo.blockSignals(blocked)
