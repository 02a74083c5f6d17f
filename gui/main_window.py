"""The main window: owns the open project, hosts the canvas and the panels of each feature.

Contract for features (model panel, live view, evaluation, training): a module with
`install(window)` that adds its docks with `window.add_panel(...)`, its actions to
`window.menu(...)`, listens to `window.project_opened` / `window.project_closing`, and asks to show an
image with `window.show_image(image_id, highlight=[annotation ids])`. Work that can take more than a
few milliseconds runs in gui.jobs.Job or through the engine bridge, never on this thread.

The labelling side lives here too: the canvas (gui.canvas.CanvasWidget, `window.canvas`) in the
middle, the file, category and annotation lists as docks, the Edit/View/navigation commands with
their editable shortcuts (gui.shortcuts), and a status bar. Messages never block: they open as
window-modal boxes (`window.warn`), so a background job or a test is never stuck behind one.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (QDockWidget, QFrame, QLabel, QMainWindow, QMenu, QMessageBox, QProgressDialog, QScrollArea, QToolBar,
                               QWidget)

from annotations.store import Store, StoreError, copy_annotation

from . import evaluation_view, live_view, model_panel, shortcuts, training_view
from .file_menu import FileMenu
from .jobs import Job
from .panels.annotation_list import AnnotationListPanel
from .panels.category_list import CategoryListPanel
from .panels.file_list import FileListPanel
from .store_signals import StoreSignals

try:  # the canvas is its own piece of work; the window still opens projects without it
    from .canvas import CanvasWidget
except ImportError as _canvas_error:  # pragma: no cover - only while gui.canvas is missing
    CanvasWidget = None
    CANVAS_IMPORT_ERROR = str(_canvas_error)
else:
    CANVAS_IMPORT_ERROR = ""

FEATURES = (model_panel, live_view, evaluation_view, training_view)
TOOLS = ("select", "rectangle", "polygon", "brush", "eraser")
BRUSH_MIN, BRUSH_MAX, BRUSH_DEFAULT = 1, 500, 12


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
        self._closed = False
        self._tab_anchor: dict = {}
        self.actions: dict[str, QAction] = {}
        self.keymap = shortcuts.load_keymap()
        self.hidden_categories: set[int] = set()
        self.brush_radius = int(QSettings().value("canvas/brush_radius", BRUSH_DEFAULT))
        for name in ("&File", "&Edit", "&View", "&Model", "&Help"):
            self.menu(name)

        if CanvasWidget is not None:
            self.canvas = CanvasWidget(self)
            self.setCentralWidget(self.canvas)
        else:
            self.canvas = None
            self.setCentralWidget(QLabel(f"The canvas is not available: {CANVAS_IMPORT_ERROR}",
                                         alignment=Qt.AlignCenter))
        self.file_list = FileListPanel()
        self.categories = CategoryListPanel()
        self.annotation_list = AnnotationListPanel()
        self.file_dock = self.add_panel("files", "Images", self.file_list, Qt.LeftDockWidgetArea)
        self.category_dock = self.add_panel("categories", "Categories", self.categories)
        self.annotation_dock = self.add_panel("annotations", "Annotations", self.annotation_list)
        self._tab_anchor.update({Qt.RightDockWidgetArea: self.annotation_dock,
                                 Qt.LeftDockWidgetArea: self.file_dock})
        self.file_menu = FileMenu(self)
        self._build_actions()
        self._build_status_bar()
        self._connect_panels()
        self._connect_canvas()
        self.show_image_requested.connect(self._show_image)
        self.apply_keymap(self.keymap)

        for feature in FEATURES:
            feature.install(self)
        self.file_menu.add_tail()
        self.annotation_dock.raise_()
        self.resize(1280, 800)  # again: docks added above may have grown the window
        self._restore_layout()

    # ---- extension points ------------------------------------------------------------------
    def menu(self, name: str) -> QMenu:
        if name not in self._menus:
            self._menus[name] = self.menuBar().addMenu(name)
        return self._menus[name]

    def add_panel(self, key: str, title: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.RightDockWidgetArea) -> QDockWidget:
        """A dock (object name `key`, kept in saved layouts) listed in the View menu.

        A feature's dock on the left or right becomes a tab beside the labelling panels, inside a
        scroll area so that a tall form never makes the window taller than the screen. (Bottom docks
        are added as they are: features start them hidden, and a tab group of hidden docks would
        still claim its minimum height.)
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(key)  # saved layouts find docks by object name
        anchor = self._tab_anchor.get(area)
        if anchor is not None:
            scroll = QScrollArea()
            scroll.setObjectName(f"{key}_scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.NoFrame)
            scroll.setWidget(widget)
            dock.setWidget(scroll)
        else:
            dock.setWidget(widget)
        self.addDockWidget(area, dock)
        if anchor is not None:
            self.tabifyDockWidget(anchor, dock)
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
        """Show a message without blocking (window-modal; the caller goes on)."""
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        return box

    def inform(self, title: str, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Information, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        return box

    # ---- projects ----------------------------------------------------------------------------
    def open_project(self, store: Store) -> None:
        if self._closed:  # a job that opened this finished after the window closed
            store.close()
            return
        self.close_project()
        self.store = store
        self.store_signals = StoreSignals(store, self)
        self.store_signals.changed.connect(self._store_changed)
        self.setWindowTitle(f"Sightline - {store.root}")
        if self.canvas is not None:
            self.canvas.set_store(store)
            self.canvas.undo_stack.clear()
        self.hidden_categories = set()
        self.file_list.set_store(store)
        self.categories.set_store(store)
        self.annotation_list.set_store(store)
        self.file_menu.remember(store.root)
        self._update_enabled()
        self.project_opened.emit(store)
        first = self._last_image(store)
        if first is not None:
            self.show_image(first)

    def close_project(self) -> None:
        if self.store is None:
            return
        self.project_closing.emit(self.store)
        if self.canvas is not None:
            self.canvas.undo_stack.clear()
            self.canvas.set_store(None)
        self.file_list.set_store(None)
        self.categories.set_store(None)
        self.annotation_list.set_store(None)
        self.store_signals.detach()
        self.store_signals.deleteLater()
        self.store_signals = None
        self.store.close()
        self.store = None
        self.setWindowTitle("Sightline")
        self._image_size.setText("")
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
        except (StoreError, OSError, sqlite3.Error) as e:
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
        if Store.exists(path):
            self.open_path(path)
            return
        from annotations.demo import generate_demo

        def make(ctx):
            generate_demo(path, progress=lambda d, t: ctx.progress(d, t, "Writing the demo project")).close()
        job = Job(make)
        job.finished.connect(lambda _: self.open_path(path))
        self.run_job(job, "Creating the demo project")

    def _last_image(self, store: Store) -> int | None:
        last = QSettings().value(f"last_image/{store.root.as_posix()}")
        try:
            if last is not None and store.image(int(last)) is not None:
                return int(last)
        except (TypeError, ValueError):
            pass
        ids = self.file_list.model.visible_ids()
        return ids[0] if ids else None

    # ---- images and navigation --------------------------------------------------------------
    def current_image_id(self) -> int | None:
        return self.file_list.current_id()

    def _show_image(self, image_id: int, highlight: list) -> None:
        if self.store is None:
            return
        rec = self.store.image(image_id)
        if rec is None:
            self.warn("Show image", f"Image {image_id} is not in this project.")
            return
        if self.canvas is not None:
            self.canvas.show_image(image_id, highlight)
        self.file_list.set_current(image_id)
        self.annotation_list.set_image(image_id)
        self._image_size.setText(f"{rec.width} \u00d7 {rec.height} px")
        self.statusBar().showMessage(rec.file_name, 3000)
        QSettings().setValue(f"last_image/{self.store.root.as_posix()}", image_id)
        if self.canvas is not None:
            near = [i for i in (self.file_list.neighbour(1), self.file_list.neighbour(-1)) if i is not None]
            if near:
                self.canvas.prefetch(near)
        self.image_shown.emit(image_id)

    def next_image(self, step: int = 1) -> int | None:
        target = self.file_list.neighbour(step)
        if target is not None:
            self.show_image(target)
        else:
            self.statusBar().showMessage("Last image" if step > 0 else "First image", 2000)
        return target

    # ---- actions and shortcuts ---------------------------------------------------------------
    def _action(self, cid: str, slot: Callable, menu: str | None = None, checkable: bool = False) -> QAction:
        cmd = shortcuts.COMMANDS_BY_ID[cid]
        act = QAction(cmd.text, self)
        act.setObjectName(cid)
        act.setCheckable(checkable)
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)  # shortcuts work whichever dock has focus, and with the menu hidden
        if menu:
            self.menu(menu).addAction(act)
        self.actions[cid] = act
        return act

    def _build_actions(self) -> None:
        c = self._canvas_call
        self.tool_group = QActionGroup(self)
        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("tools")
        toolbar.setMovable(False)
        self.addToolBar(Qt.TopToolBarArea, toolbar)
        for tool in TOOLS:
            act = self._action(f"tool.{tool}", lambda t=tool: self.set_tool(t), checkable=True)
            act.setIconText(tool.capitalize())  # short label on the toolbar, full text in the menu
            self.tool_group.addAction(act)
            toolbar.addAction(act)
        self.actions["tool.select"].setChecked(True)
        self._action("brush.smaller", lambda: self.change_brush(-1))
        self._action("brush.larger", lambda: self.change_brush(+1))

        edit = "&Edit"
        self._action("edit.undo", lambda: self.canvas is not None and self.canvas.undo_stack.undo(), edit)
        self._action("edit.redo", lambda: self.canvas is not None and self.canvas.undo_stack.redo(), edit)
        self.menu(edit).addSeparator()
        self._action("edit.copy", lambda: c("copy_selection"), edit)
        self._action("edit.paste", lambda: c("paste"), edit)
        self._action("edit.duplicate", lambda: c("duplicate_selection"), edit)
        self._action("edit.delete", lambda: c("delete_selection"), edit)
        self.menu(edit).addSeparator()
        self._action("edit.accept", lambda: c("accept_predictions", c("selected_ids") or []), edit)
        self._action("edit.reject", lambda: c("reject_predictions", c("selected_ids") or []), edit)
        tools_menu = self.menu(edit).addMenu("&Tool")
        for tool in TOOLS:
            tools_menu.addAction(self.actions[f"tool.{tool}"])
        tools_menu.addSeparator()
        tools_menu.addAction(self.actions["brush.smaller"])
        tools_menu.addAction(self.actions["brush.larger"])

        view = "&View"
        self._action("view.fit", lambda: c("fit"), view)
        self._action("view.one_to_one", lambda: c("zoom_1to1"), view)
        self._action("nav.next", lambda: self.next_image(1), view)
        self._action("nav.previous", lambda: self.next_image(-1), view)
        self.menu(view).addSeparator()
        for i in range(1, 10):
            self._action(f"category.{i}", lambda n=i: self.categories.choose_number(n))

        self._action("help.shortcuts", self.show_shortcuts_help, "&Help")
        about = QAction("About Sightline", self)
        about.triggered.connect(lambda: self.inform(
            "About Sightline", "Sightline: label images, run torchvision models on them, evaluate, "
            "fine-tune and explain, in one window.\nEvery edit is saved as you make it."))
        self.menu("&Help").addAction(about)

        if self.canvas is not None:
            stack = self.canvas.undo_stack
            stack.setUndoLimit(0)  # unlimited: each step stores only what changed
            stack.canUndoChanged.connect(self.actions["edit.undo"].setEnabled)
            stack.canRedoChanged.connect(self.actions["edit.redo"].setEnabled)
            stack.undoTextChanged.connect(lambda t: self.actions["edit.undo"].setText(f"Undo {t}".strip()))
            stack.redoTextChanged.connect(lambda t: self.actions["edit.redo"].setText(f"Redo {t}".strip()))
            self.actions["edit.undo"].setEnabled(stack.canUndo())
            self.actions["edit.redo"].setEnabled(stack.canRedo())

    def apply_keymap(self, keymap: dict[str, tuple[str, ...]]) -> None:
        self.keymap = dict(keymap)
        for cid, act in self.actions.items():
            act.setShortcuts(shortcuts.key_sequences(self.keymap.get(cid, ())))
            text = shortcuts.native_text(self.keymap.get(cid, ()))
            act.setToolTip(f"{act.text()} ({text})" if text else act.text())

    def _canvas_call(self, name: str, *args):
        if self.canvas is None:
            return None
        return getattr(self.canvas, name)(*args)

    def set_tool(self, name: str) -> None:
        if self.canvas is not None and self.canvas.tool() != name:
            self.canvas.set_tool(name)
        self.actions[f"tool.{name}"].setChecked(True)
        if name in ("brush", "eraser") and self.canvas is not None:
            self.canvas.set_brush_radius(self.brush_radius)

    def change_brush(self, direction: int) -> None:
        step = max(1, round(self.brush_radius * 0.2))
        self.brush_radius = max(BRUSH_MIN, min(BRUSH_MAX, self.brush_radius + direction * step))
        QSettings().setValue("canvas/brush_radius", self.brush_radius)
        if self.canvas is not None:
            self.canvas.set_brush_radius(self.brush_radius)
        self.statusBar().showMessage(f"Brush radius {self.brush_radius} px", 2000)

    def show_settings(self):
        from .settings_dialog import SettingsDialog
        dlg = SettingsDialog(self.keymap, self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.keymap_accepted.connect(self.apply_keymap)
        dlg.open()
        return dlg

    def show_shortcuts_help(self):
        from .settings_dialog import ShortcutHelpDialog
        dlg = ShortcutHelpDialog(self.keymap, self)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.show()
        return dlg

    # ---- panels, canvas and the status bar ---------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._cursor = QLabel("")
        self._zoom = QLabel("")
        self._image_size = QLabel("")
        self._selection = QLabel("")
        self._saved = QLabel("All changes saved")
        self._saved.setToolTip("Every edit is written to the project as you make it.")
        for w, stretch in ((self._cursor, 0), (self._zoom, 0), (self._image_size, 0), (self._selection, 0),
                           (self._saved, 0)):
            w.setMinimumWidth(90)
            bar.addPermanentWidget(w, stretch)

    def _connect_panels(self) -> None:
        self.file_list.image_activated.connect(self.show_image)
        self.categories.category_chosen.connect(self._category_chosen)
        self.categories.hidden_changed.connect(self._category_visibility)
        self.categories.category_deleted.connect(self._category_deleted)
        self.categories.message.connect(self.warn)
        al = self.annotation_list
        al.selection_requested.connect(lambda ids: self._canvas_call("select_annotations", ids))
        al.hidden_changed.connect(lambda _ids: self._apply_hidden())
        al.locked_changed.connect(lambda ids: self._canvas_call("set_locked", set(ids)))
        al.relabel_requested.connect(self.relabel)
        al.delete_requested.connect(self.delete_annotations)
        al.accept_requested.connect(lambda ids: self._canvas_call("accept_predictions", ids))
        al.reject_requested.connect(lambda ids: self._canvas_call("reject_predictions", ids))

    def _connect_canvas(self) -> None:
        cv = self.canvas
        if cv is None:
            return
        cv.selection_changed.connect(self._canvas_selection)
        cv.cursor_moved.connect(lambda x, y: self._cursor.setText(f"x {x:.0f}, y {y:.0f}"))
        cv.zoom_changed.connect(lambda z: self._zoom.setText(f"{z * 100:.0f}%"))
        cv.tool_changed.connect(self._canvas_tool)
        cv.image_failed.connect(lambda iid, msg: self.statusBar().showMessage(msg, 8000))
        if hasattr(cv, "message"):
            cv.message.connect(lambda text: self.statusBar().showMessage(text, 5000))

    def _store_changed(self, table: str, action: str, ids: list) -> None:
        if self.canvas is not None and hasattr(self.canvas, "on_store_changed"):
            self.canvas.on_store_changed(table, action, ids)
        self.file_list.on_store_changed(table, action, ids)
        self.categories.on_store_changed(table, action, ids)
        self.annotation_list.on_store_changed(table, action, ids)

    def _category_chosen(self, category_id: int) -> None:
        self._canvas_call("set_current_category", category_id)
        cat = self.store.category(category_id) if self.store is not None else None
        if cat is not None:
            self.statusBar().showMessage(f"New shapes: {cat.name}", 2000)

    def _category_visibility(self, hidden: set) -> None:
        self.hidden_categories = set(hidden)
        self._apply_hidden()

    def _apply_hidden(self) -> None:
        self._canvas_call("set_hidden", set(self.hidden_categories), set(self.annotation_list.hidden))

    def _category_deleted(self, _category_id: int) -> None:
        # Steps on the stack may name the deleted category or its annotations: they cannot be replayed.
        if self.canvas is not None:
            self.canvas.undo_stack.clear()

    def _canvas_selection(self, ids: list) -> None:
        self.annotation_list.select_ids(ids)
        self._selection.setText(f"{len(ids)} selected" if ids else "")

    def _canvas_tool(self, name: str) -> None:
        act = self.actions.get(f"tool.{name}")
        if act is not None:
            act.setChecked(True)

    def relabel(self, ids: list[int], category_id: int) -> None:
        """Give annotations another category, as one undoable step."""
        if self.store is None or self.canvas is None:
            return
        from .commands import ChangeAnnotations
        before = [a for a in (self.store.annotation(i) for i in ids) if a is not None]
        after = [copy_annotation(a, category_id=category_id) for a in before]
        cmd = ChangeAnnotations(self.store, before, after, "Relabel")
        if not cmd.empty:
            self.canvas.undo_stack.push(cmd)
            if cmd.error:
                self.warn("Relabel", cmd.error)

    def delete_annotations(self, ids: list[int]) -> None:
        if self.store is None or self.canvas is None or not ids:
            return
        from .commands import RemoveAnnotations
        cmd = RemoveAnnotations(self.store, ids, "Delete")
        self.canvas.undo_stack.push(cmd)
        if cmd.error:
            self.warn("Delete", cmd.error)

    def _update_enabled(self) -> None:
        has = self.store is not None
        for cid, act in self.actions.items():
            if cid.split(".")[0] in ("edit", "view", "nav", "category", "tool", "brush"):
                act.setEnabled(has)
        if has and self.canvas is not None:
            self.actions["edit.undo"].setEnabled(self.canvas.undo_stack.canUndo())
            self.actions["edit.redo"].setEnabled(self.canvas.undo_stack.canRedo())
        self.file_menu.update_enabled(has)

    # ---- layout and shutdown -----------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = QSettings()
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        self._default_layout = state is None
        self._update_enabled()

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.sync()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._default_layout:  # docks can only be sized once the window has its size
            self._default_layout = False
            self.resizeDocks([self.category_dock, self.annotation_dock], [2, 3], Qt.Vertical)

    def closeEvent(self, event) -> None:
        self._closed = True
        for job in list(self._jobs):
            job.cancel()
            job.wait(5)
        self.save_layout()
        for fn in self._shutdown:
            fn()
        self.close_project()
        super().closeEvent(event)
