"""The main window: the host of the session's views and of the features.

It owns the session (gui.session: the open project's state), the canvas in the middle, the file,
category and annotation lists as docks, and the labelling commands (gui.labelling_actions). Features
(model, live view, evaluation, training: gui.features) are installed against the session and this
window's small host API (add_panel, show_panel, menu, add_shutdown_hook, show_image, run_job, warn,
inform), and talk to each other through services. Messages never block: they open as window-modal
boxes (`warn`), so a background job or a test is never stuck behind one.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QMenu, QMessageBox, QProgressDialog, QScrollArea, QWidget

from annotations.applog import log_folder
from annotations.errors import SightlineError
from annotations.ranges import BIG, problem
from annotations.store import Store, StoreError

from . import app_settings, dock_placement, shortcuts, view_adjust
from .canvas import CanvasWidget
from .features import FeatureContext, LazyPanel, Services, install_features
from .file_menu import FileMenu
from .jobs import Job
from .labelling_actions import LabellingActions
from .messages import open_message
from .panels.annotation_list import AnnotationListPanel
from .panels.category_list import CategoryListPanel
from .panels import thumbnails
from .panels.file_list import FileListPanel
from .session import Session



class MainWindow(QMainWindow):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Sightline")
        self.session = Session(self)
        self._menus: dict[str, QMenu] = {}
        self._docks: dict[str, QDockWidget] = {}
        self._shutdown: list[Callable[[], None]] = []
        self._jobs: set[Job] = set()
        self._closed = False
        self._tab_anchor: dict = {}
        self._pending_size: tuple[QDockWidget, float | None] | None = None  # a dock show_panel sizes next
        self.actions: dict[str, QAction] = {}
        self.keymap = shortcuts.load_keymap()
        for name in ("&File", "&Edit", "&View", "&Model", "&Help"):
            self.menu(name)

        self.canvas = CanvasWidget(self, session=self.session)
        self.setCentralWidget(self.canvas)
        self.file_list = FileListPanel(self.session)
        self.categories = CategoryListPanel(self.session)
        self.annotation_list = AnnotationListPanel(self.session)
        self.file_dock = self.add_panel("files", "Images", self.file_list, Qt.LeftDockWidgetArea)
        self.category_dock = self.add_panel("categories", "Categories", self.categories)
        self.annotation_dock = self.add_panel("annotations", "Annotations", self.annotation_list)
        self._tab_anchor.update({Qt.RightDockWidgetArea: self.annotation_dock,
                                 Qt.LeftDockWidgetArea: self.file_dock})
        self.labelling = LabellingActions(self)
        self.file_menu = FileMenu(self)
        self._build_help_menu()
        self.view_adjust = view_adjust.install(self)
        self.film_strip = thumbnails.install(self)
        self.file_list.image_activated.connect(self.show_image)
        self.file_list.hovered.connect(lambda image_id: self.expect_images([image_id]))
        self.session.image_changed.connect(self._image_changed)
        self.apply_keymap(self.keymap)

        self.services = Services()
        self.services.provide("edits", self.canvas)
        self.features: dict[str, Any] = install_features(FeatureContext(self.session, self, self.services))
        app_settings.apply(self, app_settings.load(), starting=True)
        self.file_menu.add_tail()
        self.annotation_dock.raise_()
        self._size_to_screen()
        self._restore_layout()

    # ---- extension points ------------------------------------------------------------------
    def menu(self, name: str) -> QMenu:
        if name not in self._menus:
            self._menus[name] = self.menuBar().addMenu(name)
        return self._menus[name]

    def add_panel(self, key: str, title: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.RightDockWidgetArea) -> QDockWidget:
        """A dock (object name `key`, kept in saved layouts) listed in the View menu.

        Its content sits in a scroll area, so that a tall or wide form never makes the window larger
        than the screen nor crushes the canvas. A feature's dock on the left or right becomes a tab
        beside the labelling panels; a bottom dock stands alone (features start them hidden).
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(key)  # saved layouts find docks by object name
        anchor = self._tab_anchor.get(area)
        scroll = QScrollArea()
        scroll.setObjectName(f"{key}_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(widget)
        dock.setWidget(scroll)
        self.addDockWidget(area, dock)
        self._docks[key] = dock
        if anchor is not None:
            self.tabifyDockWidget(anchor, dock)
        if area == Qt.BottomDockWidgetArea:  # shown from the View menu: placed and sized as show_panel does
            dock.toggleViewAction().triggered.connect(lambda on: self._bottom_dock_shown(dock) if on else None)
        self.menu("&View").addAction(dock.toggleViewAction())
        return dock

    def show_panel(self, key: str, width_fraction: float | None = None) -> None:
        """Show a dock (and bring its tab to the front), placed and sized as gui/dock_placement.py says:
        the bottom docks keep to 0.42 of the window's height, so that the canvas keeps the rest (and
        refits); a side dock can ask for a share of the window's width (plots and tables that need room)."""
        dock = self._docks.get(key)
        if dock is None:
            return
        if dock.isHidden() and not dock.isFloating() and self.dockWidgetArea(dock) == Qt.BottomDockWidgetArea:
            dock_placement.beside_bottom_docks(self, list(self._docks.values()), dock)
        dock.show()
        dock.raise_()
        self._pending_size = (dock, width_fraction)
        if self.isVisible():
            QTimer.singleShot(0, self._size_shown_panel)  # once the dock is laid out

    def _bottom_dock_shown(self, dock: QDockWidget) -> None:
        """A bottom dock the View menu showed: beside the others, then sized (as show_panel)."""
        dock_placement.beside_bottom_docks(self, list(self._docks.values()), dock)
        self._pending_size = (dock, None)
        QTimer.singleShot(0, self._size_shown_panel)

    def _size_shown_panel(self) -> None:
        pending, self._pending_size = self._pending_size, None
        if pending is not None:
            dock_placement.size_shown(self, list(self._docks.values()), *pending)

    def add_shutdown_hook(self, fn: Callable[[], None]) -> None:
        self._shutdown.append(fn)

    def feature(self, name: str) -> Any:
        """What a feature's install() returned (its main widget, built now if it waits to be shown)."""
        item = self.features[name]
        return item.get() if isinstance(item, LazyPanel) else item

    @property
    def store(self) -> Store | None:
        return self.session.store

    def run_job(self, job: Job, title: str) -> Job:
        """Start a background job with a cancellable progress dialog; errors become a message (and
        go to the log with their traceback, as every job's do)."""
        job.title = job.title or title
        dlg = QProgressDialog(title, "Cancel", 0, 0, self)
        dlg.setWindowModality(Qt.WindowModal)
        dlg.setMinimumDuration(400)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(job.cancel)

        def progress(done: int, total: int, text: str) -> None:
            dlg.setMaximum(max(total, 0))
            dlg.setValue(min(done, total) if total > 0 else 0)
            if text:
                dlg.setLabelText(text)
        job.progress.connect(progress)
        job.failed.connect(lambda msg: self.warn(title, msg))
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(dlg.close)
            sig.connect(dlg.deleteLater)
            sig.connect(lambda *_: self._jobs.discard(job))
        self._jobs.add(job)
        return job.start()

    def warn(self, title: str, text: str) -> QMessageBox:
        """Show a message without blocking (window-modal; the caller goes on; gui/messages.py)."""
        return open_message(self, QMessageBox.Warning, title, text)

    def inform(self, title: str, text: str) -> QMessageBox:
        return open_message(self, QMessageBox.Information, title, text)

    # ---- projects ----------------------------------------------------------------------------
    def open_project(self, store: Store) -> None:
        if self._closed:  # a job that opened this finished after the window closed
            store.close()
            return
        self.close_project()
        self.session.open(store)
        read_only = store.read_only
        self.setWindowTitle(f"Sightline - {store.root}" + (" (read-only)" if read_only else ""))
        self.labelling.show_read_only(read_only)
        if read_only:
            self.warn("Read-only project", f"{store.root} cannot be written here: you can look, evaluate and "
                      "export, but edits will be refused.")
        self.file_menu.remember(store.root)
        self._update_enabled()
        first = self._last_image(store)
        if first is not None:
            self.show_image(first)

    def close_project(self) -> None:
        if self.session.store is None:
            return
        self.session.close()
        self.setWindowTitle("Sightline")
        self._update_enabled()

    def open_path(self, path: str | Path) -> None:
        """A project folder, or an image folder (which becomes a project). Problems become a message."""
        path = Path(path).expanduser()
        try:
            if Store.exists(path):
                self.open_project(Store.open(path, create=False))
                return
            if not path.is_dir():
                raise StoreError(f"{path} is neither a project nor a folder of images.")
            store = Store.open(path)
        except (SightlineError, OSError, sqlite3.Error) as e:
            self.file_menu.forget(path)
            self.warn("Open", str(e))
            return

        def scan(ctx):
            ids, problems = store.add_image_folder(path, progress=lambda d, t: ctx.progress(d, t, "Reading image sizes"))
            ctx.check()
            return problems
        job = Job(scan)

        def done(problems):
            self.open_project(store)
            if problems:
                shown = "\n".join(problems[:20]) + (f"\n... and {len(problems) - 20} more" if len(problems) > 20 else "")
                self.warn("Open image folder", f"{len(problems)} file(s) could not be read and were skipped:\n{shown}")
        job.finished.connect(done)
        job.failed.connect(lambda _: store.close())
        job.cancelled.connect(store.close)
        self.run_job(job, f"Adding images from {path}")

    def open_demo_project(self, path: Path) -> None:
        """Open the demo project, generating it first. Cancelling the generation leaves nothing behind."""
        if Store.exists(path):
            self.open_path(path)
            return
        from annotations.demo import generate_demo

        def make(ctx):  # cancelling removes what was written (generate_demo raises Cancelled)
            generate_demo(path, progress=lambda d, t: ctx.progress(d, t, "Writing the demo project")).close()
        job = Job(make)
        job.finished.connect(lambda _: self.open_path(path))
        job.cancelled.connect(lambda: self.statusBar().showMessage("Demo project not created (cancelled).", 5000))
        self.run_job(job, "Creating the demo project")

    def _last_image(self, store: Store) -> int | None:
        last = QSettings().value(f"last_image/{store.root.as_posix()}")
        try:
            last = int(last)
        except (TypeError, ValueError, OverflowError):
            last = None
        if last is not None and problem(last, int, 1, BIG) is None and store.image(last) is not None:
            return last
        ids = self.file_list.model.visible_ids()
        return ids[0] if ids else None

    # ---- images and navigation --------------------------------------------------------------
    def current_image_id(self) -> int | None:
        return self.session.image_id

    def show_image(self, image_id: int, highlight: list[int] | tuple = ()) -> None:
        """Show an image on the canvas with the `highlight` annotations selected and in view."""
        store = self.session.store
        if store is None:
            return
        if store.image(int(image_id)) is None:
            self.warn("Show image", f"Image {image_id} is not in this project.")
            return
        self.canvas.show_image(int(image_id), list(highlight))

    def expect_images(self, image_ids: list[int]) -> None:
        """Images the user is likely to open next (the row under the pointer, the next ranked image):
        read ahead before the file list's neighbours still queued."""
        self.canvas.prefetch([int(i) for i in image_ids], first=True)

    def _image_changed(self, image_id) -> None:
        store = self.session.store
        if store is None or image_id is None:
            return
        rec = store.image(image_id)
        if rec is not None:
            self.statusBar().showMessage(rec.file_name, 3000)
        QSettings().setValue(f"last_image/{store.root.as_posix()}", image_id)
        near = [i for i in (self.file_list.neighbour(1), self.file_list.neighbour(-1)) if i is not None]
        if near:
            self.canvas.prefetch(near)

    def next_image(self, step: int = 1) -> int | None:
        target = self.file_list.neighbour(step)
        if target is not None:
            self.show_image(target)
        else:
            self.statusBar().showMessage("Last image" if step > 0 else "First image", 2000)
        return target

    # ---- menus and settings ------------------------------------------------------------------
    def _action(self, cid: str, slot: Callable, menu: str | None = None, checkable: bool = False) -> QAction:
        return self.labelling.action(cid, slot, menu, checkable)

    def _build_help_menu(self) -> None:
        self._action("help.shortcuts", self.show_shortcuts_help, "&Help")
        logs = QAction("Open log folder", self)
        logs.setToolTip(str(log_folder()))
        logs.triggered.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_folder()))))
        self.menu("&Help").addAction(logs)
        about = QAction("About Sightline", self)
        about.triggered.connect(lambda: self.inform(
            "About Sightline", "Sightline: label images, run torchvision models on them, evaluate, "
            "fine-tune and explain, in one window.\nEvery edit is saved as you make it."))
        self.menu("&Help").addAction(about)

    def apply_keymap(self, keymap: dict[str, tuple[str, ...]]) -> None:
        self.keymap = dict(keymap)
        for cid, act in self.actions.items():
            act.setShortcuts(shortcuts.key_sequences(self.keymap.get(cid, ())))
            text = shortcuts.native_text(self.keymap.get(cid, ()))
            act.setToolTip(f"{act.text()} ({text})" if text else act.text())

    def set_tool(self, name: str) -> None:
        self.session.set_tool(name)

    def show_settings(self):
        from .settings_dialog import SettingsDialog
        dlg = SettingsDialog(self.keymap, self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.keymap_accepted.connect(self.apply_keymap)
        dlg.general_accepted.connect(lambda values: app_settings.apply(self, values))
        dlg.open()
        return dlg

    def show_shortcuts_help(self):
        from .settings_dialog import ShortcutHelpDialog
        dlg = ShortcutHelpDialog(self.keymap, self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.show()
        return dlg

    def _update_enabled(self) -> None:
        self.labelling.update_enabled()
        self.file_menu.update_enabled(self.session.store is not None)

    # ---- layout and shutdown -----------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = QSettings()
        # Qt refuses (returns False for) bytes that are no layout it wrote; anything else is ignored too
        geometry, state = (v if isinstance(v, (QByteArray, bytes)) else None
                           for v in (s.value("window/geometry"), s.value("window/state")))
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None and not self.restoreState(state):
            state = None
        self._default_layout = state is None
        self._update_enabled()

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.sync()

    def _size_to_screen(self) -> None:
        """Open at most 1600x1000, and never larger than the screen's free area (with a margin)."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        w, h = 1600, 1000
        if screen is not None:
            w, h = min(w, screen.width() - 40), min(h, screen.height() - 60)
        self.resize(max(w, 800), max(h, 560))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._size_shown_panel)  # a dock shown before the window was
        if self._default_layout:  # docks can only be sized once the window has its size
            self._default_layout = False
            self.resizeDocks([self.category_dock, self.annotation_dock], [2, 3], Qt.Vertical)

    def closeEvent(self, event) -> None:
        self._closed = True
        for job in list(self._jobs):
            job.cancel()
            job.wait(5)
        if self.general_settings.autosave_layout:
            self.save_layout()
        for fn in self._shutdown:
            fn()
        self.close_project()
        super().closeEvent(event)
