"""The ranking half of the "Label next" dock: choose a run, a strategy and its options, rank in a
background job, and walk the ranked images with Next.

Each row shows the image's file name, its score and why (engine.rank.why). Next opens the image
after the last one opened from this list (the top one after a ranking) through the host's
show_image. The ranking stored earlier for the chosen strategy and run is shown without ranking again.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotations.scores import find_set, load_scores
from engine.rank import AGGREGATES, FLIP, RankOptions, RankRequest, get_strategy, strategy_names, why

from ..jobs import Job
from ..run_hints import no_predictions, no_project
from .lists import ranked_list
from .ranker import RankResult, rank_job

COLUMNS = ("#", "Image", "Score", "Why")


class RankPanel(QWidget):
    ranked = Signal(object)  # RankResult, after a ranking finished
    opened = Signal(int)  # image id opened from the list (row click or Next)

    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent)
        self.host = host
        self.store = None
        self.result: RankResult | None = None
        self.image_ids: list[int] = []  # the list's images, best first
        self.position = -1  # row of the image last opened from the list
        self._job: Job | None = None
        self._serial = 0
        self._build()
        self._set_busy(False)

    # ---- layout -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.run_combo = QComboBox()
        self.strategy_combo = QComboBox()
        for name in strategy_names():
            self.strategy_combo.addItem(name, name)
            self.strategy_combo.setItemData(self.strategy_combo.count() - 1, get_strategy(name).description,
                                            Qt.ToolTipRole)
        self.run2_combo = QComboBox()
        self.run2_combo.setToolTip("disagreement: the run to compare with, or the run's model on the mirror images")
        self.aggregate_combo = QComboBox()
        for how in AGGREGATES:
            self.aggregate_combo.addItem(f"{how} over objects", how)
        self.diverse_spin = QSpinBox(minimum=0, maximum=100000, value=0)
        self.diverse_spin.setSpecialValueText("off")
        self.diverse_spin.setToolTip("pick this many images, near-duplicates in the model's feature space penalised")
        for combo in (self.run_combo, self.strategy_combo, self.run2_combo, self.aggregate_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)  # a narrow dock leaves the canvas its room
        form = QFormLayout()
        form.addRow("Run", self.run_combo)
        form.addRow("Strategy", self.strategy_combo)
        form.addRow("Compare with", self.run2_combo)
        form.addRow("Image score", self.aggregate_combo)
        form.addRow("Diverse batch", self.diverse_spin)

        self.rank_button = QPushButton("Rank")
        self.rank_button.clicked.connect(self.start_ranking)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_ranking)
        self.next_button = QPushButton("Next")
        self.next_button.clicked.connect(self.next_image)
        self.progress = QProgressBar()
        buttons = QHBoxLayout()
        for w in (self.rank_button, self.cancel_button, self.progress, self.next_button):
            buttons.addWidget(w)
        self.status = QLabel(no_project("Rank"))
        self.status.setWordWrap(True)

        self.list = ranked_list(COLUMNS)
        header = self.list.header()
        for col in (0, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        header.resizeSection(1, 140)
        self.list.itemActivated.connect(lambda item, _col: self.open_row(self.list.indexOfTopLevelItem(item)))
        self.list.itemClicked.connect(lambda item, _col: self.open_row(self.list.indexOfTopLevelItem(item)))
        # The Why column is cut in a narrow dock: the current row's whole reason, wrapped, under the list.
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.list.currentItemChanged.connect(lambda item, _old: self._show_detail(item))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.detail)
        for combo in (self.run_combo, self.strategy_combo, self.run2_combo):
            combo.currentIndexChanged.connect(lambda _i: self._choice_changed())

    # ---- project and runs ---------------------------------------------------------------------
    def set_store(self, store) -> None:
        self.cancel_ranking()
        self.store = store
        self.result = None
        self.refresh_runs()
        self._choice_changed()

    def refresh_runs(self) -> None:
        current, current2 = self.run_combo.currentData(), self.run2_combo.currentData()
        for combo in (self.run_combo, self.run2_combo):
            combo.blockSignals(True)
            combo.clear()
        self.run2_combo.addItem("the run's model on mirror images", FLIP)
        runs = [] if self.store is None else [r for r in self.store.runs() if r.kind != "train"]
        for r in runs:
            text = f"#{r.id} {r.model}" + (" (mirror images)" if r.params.get("flip") else "")
            self.run_combo.addItem(text, r.id)
            self.run2_combo.addItem(text, r.id)
        i = self.run_combo.findData(current)
        self.run_combo.setCurrentIndex(i if i >= 0 else self.run_combo.count() - 1)
        j = self.run2_combo.findData(current2)
        self.run2_combo.setCurrentIndex(max(j, 0))
        for combo in (self.run_combo, self.run2_combo):
            combo.blockSignals(False)
        self._set_busy(self._job is not None)

    def request(self) -> RankRequest | None:
        run_id = self.run_combo.currentData()
        if self.store is None or run_id is None:
            return None
        strategy = get_strategy(self.strategy_combo.currentData())
        run2 = self.run2_combo.currentData() if strategy.needs_run2 else None
        return RankRequest(strategy.name, int(run_id), run2, RankOptions(aggregate=self.aggregate_combo.currentData()),
                           diverse=self.diverse_spin.value() or None)

    def _choice_changed(self) -> None:
        """Show the ranking stored for this strategy and run, if any (nothing is computed)."""
        strategy = get_strategy(self.strategy_combo.currentData())
        self.run2_combo.setEnabled(strategy.needs_run2 and self._job is None)
        if self._job is not None:
            return
        req = self.request()
        if req is None:
            self._fill([], {})
            self.status.setText(no_project("Rank") if self.store is None else no_predictions("rank"))
            return
        stored = None if req.run2 == FLIP else find_set(self.store, strategy.name, req.run_id, req.run2)
        if stored is None:
            self._fill([], {})
            self.status.setText(f"No {strategy.name} ranking of run #{req.run_id} yet: press Rank.")
            return
        images = load_scores(self.store, stored.id)
        names = {im.id: im.file_name for im in self.store.images(ids=[s.image_id for s in images])}
        self._fill(images, names)
        self.status.setText(f"Stored {strategy.name} ranking of run #{req.run_id}: {len(images)} images.")

    # ---- the background job -------------------------------------------------------------------
    def start_ranking(self) -> Job | None:
        req = self.request()
        if req is None:
            self.status.setText("Nothing to rank: open a project that has a run of predictions.")
            return None
        self.cancel_ranking()
        self._serial += 1
        serial = self._serial
        job = Job(rank_job, self.store, req, parent=self)
        job.progress.connect(lambda done, total, text, n=serial: self._job_progress(n, done, total, text))
        job.finished.connect(lambda result, n=serial: self._job_done(n, result))
        job.failed.connect(lambda msg, n=serial: self._job_ended(n, msg, error=True))
        job.cancelled.connect(lambda n=serial: self._job_ended(n, "Ranking cancelled."))
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(job.deleteLater)
        self._job = job
        self._set_busy(True)
        self.status.setText(f"Ranking run #{req.run_id} with {req.strategy}...")
        return job.start()

    def cancel_ranking(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job = None
            self._serial += 1  # what the cancelled job still reports is dropped
            self._set_busy(False)
            self.status.setText("Ranking cancelled.")

    def shutdown(self) -> None:
        job = self._job
        self.cancel_ranking()
        if job is not None:
            job.wait(10)

    def project_closing(self, _store) -> None:
        self.shutdown()
        self.set_store(None)

    def _job_progress(self, serial: int, done: int, total: int, text: str) -> None:
        if serial != self._serial:
            return
        self.progress.setMaximum(max(total, 0))
        self.progress.setValue(min(done, total) if total > 0 else 0)
        if text:
            self.status.setText(text)

    def _job_done(self, serial: int, result: RankResult) -> None:
        if serial != self._serial:
            return
        self._job = None
        self._set_busy(False)
        self.result = result
        r = result.ranking
        self._fill(r.images, result.names)
        text = f"{r.pool} images scored with {r.strategy}"
        if r.diverse:
            text += f"; a diverse batch of {len(r.images)}"
        self.status.setText("; ".join([text, *result.notes]) + ". Press Next to open the top image.")
        if result.request.run2 == FLIP and r.run2_id is not None:
            self.refresh_runs()
        self.ranked.emit(result)

    def _job_ended(self, serial: int, text: str, error: bool = False) -> None:
        if serial != self._serial:
            return
        self._job = None
        self._set_busy(False)
        self.status.setText(text)
        if error:
            self.host.warn("Rank", text)

    def _set_busy(self, busy: bool) -> None:
        self.rank_button.setEnabled(not busy and self.run_combo.count() > 0)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        for w in (self.run_combo, self.strategy_combo, self.aggregate_combo, self.diverse_spin):
            w.setEnabled(not busy)
        self.run2_combo.setEnabled(not busy and get_strategy(self.strategy_combo.currentData()).needs_run2)

    # ---- the list and Next ---------------------------------------------------------------------
    def _fill(self, images, names: dict[int, str]) -> None:
        self.list.clear()
        self.image_ids = [s.image_id for s in images]
        self.position = -1
        items = []
        for n, s in enumerate(images, 1):
            name = names.get(s.image_id, str(s.image_id))
            item = QTreeWidgetItem([str(n), name.rsplit("/", 1)[-1], f"{s.score:.3f}", why(s)])
            item.setData(0, Qt.UserRole, s.image_id)
            item.setToolTip(1, name)
            item.setToolTip(3, why(s))
            for col in (0, 2):
                item.setTextAlignment(col, Qt.AlignRight | Qt.AlignVCenter)
            items.append(item)
        self.list.addTopLevelItems(items)
        self.next_button.setEnabled(bool(items))

    def _show_detail(self, item: QTreeWidgetItem | None) -> None:
        self.detail.setText("" if item is None else f"{item.text(0)}. {item.toolTip(1)}: {item.text(3)}")

    def open_row(self, row: int) -> int | None:
        if not 0 <= row < len(self.image_ids):
            return None
        self.position = row
        image_id = self.image_ids[row]
        self.list.setCurrentItem(self.list.topLevelItem(row))
        self.host.show_image(image_id)
        if row + 1 < len(self.image_ids):
            self.host.expect_images([self.image_ids[row + 1]])  # what Next opens
        self.opened.emit(image_id)
        return image_id

    def next_image(self) -> int | None:
        """Open the next ranked image (the top one first); None at the end of the list."""
        if not self.image_ids:
            self.status.setText("Nothing ranked yet: press Rank.")
            return None
        if self.position + 1 >= len(self.image_ids):
            self.status.setText("That was the last ranked image.")
            return None
        return self.open_row(self.position + 1)
