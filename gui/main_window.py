"""The main window: owns the open project and hosts the panels of each feature.

Contract for features (model panel, live view, evaluation, training): a module with
`install(window)` that adds its docks with `window.add_panel(...)`, its actions to
`window.menu(...)`, listens to `window.project_opened` / `window.project_closing`, and asks to show an
image with `window.show_image(image_id, highlight=[annotation ids])`. Work that can take more than a
few milliseconds runs in gui.jobs.Job or through the engine bridge, never on this thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QProgressDialog, QWidget

from annotations.store import Store, StoreError

from . import evaluation_view, live_view, model_panel, training_view
from .jobs import Job
from .store_signals import StoreSignals

FEATURES = (model_panel, live_view, evaluation_view, training_view)


class MainWindow(QMainWindow):
    project_opened = Signal(object)  # Store
    project_closing = Signal(object)  # Store, before it is closed
    image_shown = Signal(int)  # image id now on the canvas
    show_image_requested = Signal(int, list)  # image id, annotation ids to highlight

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Sightline")
        self.resize(1280, 800)
        self.store: Store | None = None
        self.store_signals: StoreSignals | None = None
        self._menus: dict[str, QMenu] = {}
        self._shutdown: list[Callable[[], None]] = []
        self._jobs: set[Job] = set()
        for name in ("&File", "&Edit", "&View", "&Model", "&Help"):
            self.menu(name)
        self.setCentralWidget(QLabel("No project open", alignment=Qt.AlignCenter))
        for feature in FEATURES:
            feature.install(self)

    # ---- extension points ------------------------------------------------------------------
    def menu(self, name: str) -> QMenu:
        if name not in self._menus:
            self._menus[name] = self.menuBar().addMenu(name)
        return self._menus[name]

    def add_panel(self, key: str, title: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.RightDockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(key)  # saved layouts find docks by object name
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.menu("&View").addAction(dock.toggleViewAction())
        return dock

    def add_shutdown_hook(self, fn: Callable[[], None]) -> None:
        self._shutdown.append(fn)

    def show_image(self, image_id: int, highlight: list[int] | tuple = ()) -> None:
        self.show_image_requested.emit(int(image_id), list(highlight))

    def run_job(self, job: Job, title: str) -> Job:
        """Start a background job with a cancellable progress dialog; errors become a message."""
        dlg = QProgressDialog(title, "Cancel", 0, 0, self)
        dlg.setWindowModality(Qt.WindowModal)
        dlg.setMinimumDuration(400)
        dlg.canceled.connect(job.cancel)
        job.progress.connect(lambda d, t, txt: (dlg.setMaximum(t), dlg.setValue(d), txt and dlg.setLabelText(txt)))
        job.failed.connect(lambda msg: QMessageBox.warning(self, title, msg))
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(dlg.close)
            sig.connect(lambda *_: self._jobs.discard(job))
        self._jobs.add(job)
        return job.start()

    # ---- projects ----------------------------------------------------------------------------
    def open_project(self, store: Store) -> None:
        self.close_project()
        self.store = store
        self.store_signals = StoreSignals(store, self)
        self.setWindowTitle(f"Sightline - {store.root}")
        self.project_opened.emit(store)

    def close_project(self) -> None:
        if self.store is not None:
            self.project_closing.emit(self.store)
            self.store_signals.detach()
            self.store.close()
            self.store = None

    def open_path(self, path: str | Path) -> None:
        """A project folder, or an image folder (which becomes a project)."""
        path = Path(path)
        try:
            if Store.exists(path):
                self.open_project(Store.open(path, create=False))
                return
            if not path.is_dir():
                raise StoreError(f"{path} is neither a project nor a folder of images.")
            store = Store.open(path)
        except StoreError as e:
            QMessageBox.warning(self, "Open", str(e))
            return

        def scan(ctx):
            return store.add_image_folder(path, progress=lambda d, t: ctx.progress(d, t, "Reading image sizes"))
        job = Job(scan)
        job.finished.connect(lambda _: self.open_project(store))
        self.run_job(job, f"Adding images from {path}")

    def open_demo_project(self, path: Path) -> None:
        if Store.exists(path):
            self.open_path(path)
            return
        from annotations.demo import generate_demo

        def make(ctx):
            generate_demo(path, progress=lambda d, t: ctx.progress(d, t, "Writing the demo project")).close()
        job = Job(make)
        job.finished.connect(lambda _: self.open_path(path))
        self.run_job(job, "Creating the demo project")

    def closeEvent(self, event) -> None:
        for job in list(self._jobs):
            job.cancel()
            job.wait(5)
        for fn in self._shutdown:
            fn()
        self.close_project()
        super().closeEvent(event)
