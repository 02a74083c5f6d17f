"""The labelling commands of the window: tools, Edit and View menus, category keys, relabel and delete,
and the status bar that reports the session's state. Every command acts on the session (and the
canvas, the view of it); none keeps state of its own beyond its QActions.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QToolBar
from shiboken6 import isValid

from annotations.store import copy_annotation

from . import shortcuts
from .canvas.captions import make_caption_action
from .commands import ChangeAnnotations, RemoveAnnotations
from .app_settings import stored_number
from .session import BRUSH_DEFAULT, BRUSH_MAX, BRUSH_MIN, TOOLS

EDIT_GROUPS = ("edit", "view", "nav", "category", "tool", "brush")


class LabellingActions:
    def __init__(self, window):
        self.window = window
        self.session = window.session
        self.canvas = window.canvas
        self.actions: dict[str, QAction] = window.actions
        self.session.set_brush_radius(stored_number("canvas/brush_radius", BRUSH_DEFAULT, BRUSH_MIN, BRUSH_MAX))
        self._build()
        self._build_status_bar()
        self._connect()

    # ---- actions -------------------------------------------------------------------------------
    def action(self, cid: str, slot: Callable, menu: str | None = None, checkable: bool = False) -> QAction:
        cmd = shortcuts.COMMANDS_BY_ID[cid]
        act = QAction(cmd.text, self.window)
        act.setObjectName(cid)
        act.setCheckable(checkable)
        act.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(act)  # shortcuts work whichever dock has focus, and with the menu hidden
        if menu:
            self.window.menu(menu).addAction(act)
        self.actions[cid] = act
        return act

    def _build(self) -> None:
        w, cv, ss = self.window, self.canvas, self.session
        self.tool_group = QActionGroup(w)
        toolbar = QToolBar("Tools", w)
        toolbar.setObjectName("tools")
        toolbar.setMovable(False)
        w.addToolBar(Qt.TopToolBarArea, toolbar)
        for tool in TOOLS:
            act = self.action(f"tool.{tool}", lambda t=tool: ss.set_tool(t), checkable=True)
            act.setIconText(tool.capitalize())  # short label on the toolbar, full text in the menu
            self.tool_group.addAction(act)
            toolbar.addAction(act)
        self.actions["tool.select"].setChecked(True)
        self.action("brush.smaller", lambda: self.change_brush(-1))
        self.action("brush.larger", lambda: self.change_brush(+1))

        edit = "&Edit"
        self.action("edit.undo", ss.undo_stack.undo, edit)
        self.action("edit.redo", ss.undo_stack.redo, edit)
        w.menu(edit).addSeparator()
        self.action("edit.copy", cv.copy_selection, edit)
        self.action("edit.paste", cv.paste, edit)
        self.action("edit.duplicate", cv.duplicate_selection, edit)
        self.action("edit.delete", cv.delete_selection, edit)
        w.menu(edit).addSeparator()
        self.action("edit.accept", lambda: cv.accept_predictions(ss.selection), edit)
        self.action("edit.reject", lambda: cv.reject_predictions(ss.selection), edit)
        self.action("edit.select_all", cv.select_all, edit)
        self.action("edit.invert_selection", cv.invert_selection, edit)
        self.action("edit.delete_predictions", cv.delete_image_predictions, edit)
        tools_menu = w.menu(edit).addMenu("&Tool")
        for tool in TOOLS:
            tools_menu.addAction(self.actions[f"tool.{tool}"])
        tools_menu.addSeparator()
        tools_menu.addAction(self.actions["brush.smaller"])
        tools_menu.addAction(self.actions["brush.larger"])

        view = "&View"
        self.action("view.fit", cv.fit, view)
        self.action("view.one_to_one", cv.zoom_1to1, view)
        w.menu(view).addSeparator()
        self.action("view.toggle_shapes", lambda: ss.set_all_hidden(not ss.all_hidden), view)
        self.action("view.only_category", self.only_current_category, view)
        captions = make_caption_action(cv, w)  # kept in QSettings; applied to the canvas at once
        w.addAction(captions)
        w.menu(view).addAction(captions)
        self.actions["view.captions"] = captions
        self.action("nav.next", lambda: w.next_image(1), view)
        self.action("nav.previous", lambda: w.next_image(-1), view)
        w.menu(view).addSeparator()
        for i in range(1, 10):
            self.action(f"category.{i}", lambda n=i: self.category_key(n))

        stack = ss.undo_stack
        undo, redo = self.actions["edit.undo"], self.actions["edit.redo"]
        stack.canUndoChanged.connect(undo.setEnabled)
        stack.canRedoChanged.connect(redo.setEnabled)
        # Bound methods, not lambdas: Qt drops the connection when the action is deleted.
        stack.undoTextChanged.connect(self._undo_text)
        stack.redoTextChanged.connect(self._redo_text)
        undo.setEnabled(stack.canUndo())
        redo.setEnabled(stack.canRedo())

    def _undo_text(self, text: str) -> None:
        self._set_text("edit.undo", f"Undo {text}".strip())

    def _redo_text(self, text: str) -> None:
        self._set_text("edit.redo", f"Redo {text}".strip())

    def _set_text(self, cid: str, text: str) -> None:
        act = self.actions.get(cid)
        if act is not None and isValid(act):  # the stack may speak while the window is torn down
            act.setText(text)

    def only_current_category(self) -> None:
        """Show only the category of new shapes; when that is already so, show every category."""
        store, ss = self.session.store, self.session
        if store is None:
            return
        others = {c.id for c in store.categories()} - {self.canvas.current_category()}
        ss.set_all_hidden(False)
        ss.set_hidden_categories(set() if ss.hidden_categories == others else others)

    def change_brush(self, direction: int) -> None:
        ss = self.session
        step = max(1, round(ss.brush_radius * 0.2))
        ss.set_brush_radius(ss.brush_radius + direction * step)
        QSettings().setValue("canvas/brush_radius", ss.brush_radius)
        self.window.statusBar().showMessage(f"Brush radius {ss.brush_radius:.0f} px", 2000)

    def update_enabled(self) -> None:
        has = self.session.store is not None
        for cid, act in self.actions.items():
            if cid.split(".")[0] in EDIT_GROUPS:
                act.setEnabled(has)
        if has:
            self.actions["edit.undo"].setEnabled(self.session.undo_stack.canUndo())
            self.actions["edit.redo"].setEnabled(self.session.undo_stack.canRedo())

    # ---- status bar ------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.window.statusBar()
        self.cursor_label = QLabel("")
        self.zoom_label = QLabel("")
        self.image_size = QLabel("")
        self.selection_label = QLabel("")
        self.saved_label = saved = QLabel("All changes saved")
        saved.setToolTip("Every edit is written to the project as you make it.")
        for label in (self.cursor_label, self.zoom_label, self.image_size, self.selection_label, saved):
            label.setMinimumWidth(90)
            bar.addPermanentWidget(label, 0)

    def show_read_only(self, read_only: bool) -> None:
        self.saved_label.setText("Read-only project" if read_only else "All changes saved")
        self.saved_label.setToolTip("This project cannot be written here; edits are refused." if read_only
                                    else "Every edit is written to the project as you make it.")

    def _connect(self) -> None:
        w, cv, ss = self.window, self.canvas, self.session
        ss.selection_changed.connect(self._show_selection)
        ss.tool_changed.connect(lambda name: self.actions[f"tool.{name}"].setChecked(True))
        ss.current_category_changed.connect(self._category_chosen)
        ss.categories_changed.connect(self._categories_changed)
        ss.image_changed.connect(self._show_image_size)
        cv.cursor_moved.connect(lambda x, y: self.cursor_label.setText(f"x {x:.0f}, y {y:.0f}"))
        cv.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        cv.image_failed.connect(lambda _iid, msg: w.statusBar().showMessage(msg, 8000))
        cv.message.connect(lambda text: w.statusBar().showMessage(text, 5000))
        cv.label_requested.connect(self.ask_label)
        al = w.annotation_list
        al.relabel_requested.connect(self.relabel)
        al.delete_requested.connect(self.delete_annotations)
        al.accept_requested.connect(cv.accept_predictions)
        al.reject_requested.connect(cv.reject_predictions)
        w.categories.message.connect(w.warn)

    def _show_selection(self, ids: list) -> None:
        self.selection_label.setText(f"{len(ids)} selected" if ids else "")

    def _show_image_size(self, image_id) -> None:
        rec = self.session.store.image(image_id) if image_id is not None and self.session.store else None
        self.image_size.setText(f"{rec.width} \u00d7 {rec.height} px" if rec is not None else "")

    def _category_chosen(self, category_id) -> None:
        store = self.session.store
        cat = store.category(category_id) if store is not None and category_id is not None else None
        if cat is not None:
            self.window.statusBar().showMessage(f"New shapes: {cat.name}", 2000)

    def _categories_changed(self, change) -> None:
        # Steps on the stack may name a deleted category or its annotations: they cannot be replayed.
        if change.action == "removed":
            self.session.undo_stack.clear()

    # ---- categories by key and by name ------------------------------------------------------------
    def category_key(self, n: int) -> None:
        """Number key n: relabel the selected shapes to the n-th category (as in CVAT), or, with
        nothing selected, make it the category of new shapes."""
        store = self.session.store
        cats = store.categories() if store is not None else []
        if not 1 <= n <= len(cats):
            return
        cat = cats[n - 1]
        if self.session.selection:
            self.relabel(self.session.selection, cat.id)
            self.window.statusBar().showMessage(f"Relabelled {len(self.session.selection)} as {cat.name}", 2000)
        else:
            self.window.categories.choose(cat.id)

    def ask_label(self, ids: list[int]):
        """The label dialog for these shapes (non-blocking); the choice relabels them in one step."""
        from .label_dialog import LabelDialog
        store = self.session.store
        anns = [a for a in (store.annotation(i) for i in ids) if a is not None] if store is not None else []
        if not anns:
            return None
        cats = store.categories()
        names = {c.id: c.name for c in cats}
        dlg = LabelDialog([c.name for c in cats], names.get(anns[0].category_id), len(anns), self.window)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.chosen.connect(lambda name: self._label_chosen([a.id for a in anns], name))
        dlg.open()
        return dlg

    def _label_chosen(self, ids: list[int], name: str) -> None:
        from annotations.model import Category
        from annotations.store import StoreError
        store = self.session.store
        if store is None:
            return
        cat = store.category_by_name(name)
        try:
            cid = cat.id if cat is not None else store.add_category(Category(None, name))
        except StoreError as e:
            self.window.warn("Label", str(e))
            return
        self.relabel(ids, cid)

    # ---- edits asked for by the panels -------------------------------------------------------------
    def relabel(self, ids: list[int], category_id: int) -> None:
        """Give annotations another category, as one undoable step."""
        store = self.session.store
        if store is None:
            return
        before = [a for a in (store.annotation(i) for i in ids) if a is not None]
        after = [copy_annotation(a, category_id=category_id) for a in before]
        cmd = ChangeAnnotations(store, before, after, "Relabel")
        if not cmd.empty:
            self.session.undo_stack.push(cmd)
            if cmd.error:
                self.window.warn("Relabel", cmd.error)

    def delete_annotations(self, ids: list[int]) -> None:
        store = self.session.store
        if store is None or not ids:
            return
        cmd = RemoveAnnotations(store, ids, "Delete")
        self.session.undo_stack.push(cmd)
        if cmd.error:
            self.window.warn("Delete", cmd.error)
