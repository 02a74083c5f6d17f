"""The "Label next" feature: a dock that ranks a run's images (what to label next) and reviews the
labels the run's predictions contradict, plus the keys that walk both.

  Next (Shift+N)      the next ranked image on the canvas (gui.label_next.panel)
  Accept model (M)    the model's version of the flagged label, undoable (gui.label_next.review)
  Keep label (K)      the label is right; the next flagged one
  Delete label (X)    the label goes, undoable; the next flagged one

Ranking runs in a background job; torch loads there, only for the model passes (flip, embeddings).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from . import shortcuts
from .features import Feature, FeatureContext
from .label_next.panel import RankPanel
from .label_next.review import STRATEGY, ReviewPanel

KEYS = (("rank.next", "next"), ("review.accept", "accept"), ("review.keep", "keep"), ("review.delete", "delete"))


class LabelNextView(QWidget):
    """The dock's content: the ranking and the review, as two tabs."""

    def __init__(self, session, host, parent: QWidget | None = None):
        super().__init__(parent)
        self.rank = RankPanel(host)
        self.review = ReviewPanel(session, host)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.rank, "Rank images")
        self.tabs.addTab(self.review, "Review labels")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)
        run_combo = self.rank.run_combo
        run_combo.currentIndexChanged.connect(lambda _i: self.review.show_run(run_combo.currentData()))
        self.rank.ranked.connect(self._ranked)
        self.review.find_asked.connect(self.find_wrong_labels)

    def find_wrong_labels(self) -> None:
        """Rank the chosen run with mistakenness: its progress and Cancel on the ranking tab, then
        the review tab with what it flags (_ranked)."""
        combo = self.rank.strategy_combo
        combo.setCurrentIndex(combo.findData(STRATEGY))
        self.tabs.setCurrentWidget(self.rank)
        self.rank.start_ranking()

    def _ranked(self, result) -> None:
        if result.ranking.strategy == STRATEGY:
            self.review.show_run(result.ranking.run_id)
            self.tabs.setCurrentWidget(self.review)

    def set_store(self, store) -> None:
        self.rank.set_store(store)
        self.review.show_run(self.rank.run_combo.currentData())

    def project_closing(self, store) -> None:
        self.rank.project_closing(store)
        self.review.show_run(None)

    # ---- keys --------------------------------------------------------------------------------
    def next(self) -> None:
        self.rank.next_image()

    def accept(self) -> None:
        self.review.accept()

    def keep(self) -> None:
        self.review.keep()

    def delete(self) -> None:
        self.review.delete()


def install(ctx: FeatureContext) -> LabelNextView:
    view = LabelNextView(ctx.session, ctx.host)
    view.setObjectName("label_next_view")
    ctx.host.add_panel("label_next", "Label next", view, Qt.RightDockWidgetArea).hide()
    menu = ctx.host.menu("&Model").addMenu("Label next")
    menu.addAction("Rank images and review labels...", lambda: ctx.host.show_panel("label_next", width_fraction=0.35))
    keymap = shortcuts.load_keymap()
    for cid, slot in KEYS:
        act = QAction(shortcuts.COMMANDS_BY_ID[cid].text, view)
        act.setObjectName(cid)
        act.setShortcuts(shortcuts.key_sequences(keymap.get(cid, ())))
        act.triggered.connect(getattr(view, slot))
        menu.addAction(act)
    ctx.session.project_opened.connect(view.set_store)
    ctx.session.project_closing.connect(view.project_closing)
    ctx.session.runs_changed.connect(lambda _change: view.rank.refresh_runs())
    ctx.host.add_shutdown_hook(view.rank.shutdown)
    return view


FEATURE = Feature("label_next", install)
