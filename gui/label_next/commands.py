"""The review's undoable command: an edit of the label (or none, for "keep") and the object's review
mark, written in one transaction and undone together.

Deleting a label deletes its score rows (foreign keys); the command keeps the rows its edit took and
puts them back when the edit is reverted, so after an undo the store holds the label, its scores and
no mark, as before. `changed(obj, state)` tells the review list after every redo and undo (state None:
to review again).
"""
from __future__ import annotations

from typing import Callable

from annotations.review_marks import clear_mark, set_mark
from annotations.scores import ObjectScore, dependent_object_rows, restore_object_rows

from ..commands import StoreCommand


class ReviewCommand(StoreCommand):
    def __init__(self, store, run_id: int, obj: ObjectScore, state: str, edit: StoreCommand | None, text: str,
                 changed: Callable[[ObjectScore, str | None], None] | None = None):
        super().__init__(store, text)
        self.run_id, self.obj, self.state, self.edit = run_id, obj, state, edit
        self.changed = changed
        self._taken: list[tuple] = []  # score rows the last move deleted, for the next move to restore

    def affected_ids(self) -> set[int]:
        return set() if self.edit is None else self.edit.affected_ids()

    def _move(self, forward: bool) -> None:
        with self.store.transaction():
            if self.edit is not None:
                before = dependent_object_rows(self.store, self.edit.affected_ids())
                (self.edit._redo if forward else self.edit._undo)()
                restore_object_rows(self.store, self._taken)
                self._taken = before
            if forward:
                set_mark(self.store, self.run_id, self.obj, self.state)
            else:
                clear_mark(self.store, self.run_id, self.obj)

    def _redo(self) -> None:
        self._move(True)
        if self.changed is not None:
            self.changed(self.obj, self.state)

    def _undo(self) -> None:
        self._move(False)
        if self.changed is not None:
            self.changed(self.obj, None)
