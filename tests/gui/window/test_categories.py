"""The category list: number keys pick the category of the next shape; deleting asks first."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from annotations.model import LABEL, PREDICTION, Annotation, ModelRun
from gui.panels.category_list import DeleteCategoryDialog

from window_helpers import canvas_view, drag, press


def _new_boxes(store, image_id, before_ids):
    return [a for a in store.annotations(image_id=image_id) if a.id not in before_ids]


def test_number_key_picks_the_category_of_the_next_box(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    cats = win.store.categories()
    image_id = win.canvas.current_image_id
    canvas_view(win.canvas).setFocus()
    for number in (3, 2):
        before = {a.id for a in win.store.annotations(image_id=image_id)}
        win.session.select([])  # with a selection, a number key relabels it instead (as in CVAT)
        press(qtbot, win, getattr(Qt, f"Key_{number}"))
        assert win.categories.current_category() == cats[number - 1].id
        press(qtbot, win, Qt.Key_W)
        assert win.canvas.tool() == "rectangle"
        drag(qtbot, win.canvas, (20 + number * 5, 20), (70 + number * 5, 60))
        qtbot.waitUntil(lambda b=before: len(_new_boxes(win.store, image_id, b)) == 1, timeout=3000)
        (box,) = _new_boxes(win.store, image_id, before)
        assert box.category_id == cats[number - 1].id
        assert box.status == LABEL and box.source == "hand"
        # The annotation list shows it with its category.
        qtbot.waitUntil(lambda b=box: win.annotation_list.item_for(b.id) is not None, timeout=3000)
        assert win.annotation_list.item_for(box.id).text(2) == cats[number - 1].name


def _open_delete_dialog(qtbot, win, category_id) -> DeleteCategoryDialog:
    win.categories.choose(category_id)
    qtbot.mouseClick(win.categories.delete_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.categories.findChild(DeleteCategoryDialog) is not None, timeout=3000)
    dlg = win.categories.findChild(DeleteCategoryDialog)
    qtbot.waitExposed(dlg)
    return dlg


def _counts(store, category_id):
    anns = store.annotations(category_id=category_id)
    labels = sum(1 for a in anns if a.status == LABEL)
    return labels, len(anns) - labels, len({a.image_id for a in anns})


def test_deleting_a_category_states_the_counts_and_cancel_changes_nothing(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    victim = win.store.categories()[0]
    run = win.store.add_run(ModelRun(None, "tiny-model"))
    win.store.add_annotation(Annotation(None, win.store.image_ids()[0], victim.id, bbox=(2, 2, 9, 9),
                                        score=0.7, status=PREDICTION, source="tiny-model", run_id=run))
    labels, preds, images = _counts(win.store, victim.id)
    assert labels > 0 and preds == 1
    before = win.store.annotation_count(None)
    dlg = _open_delete_dialog(qtbot, win, victim.id)
    text = dlg.message.text()
    assert f"{labels} labels and 1 prediction on {images} images" in text
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Cancel), Qt.LeftButton)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=3000)
    assert win.store.category(victim.id) is not None
    assert win.store.annotation_count(None) == before


@pytest.mark.parametrize("choice", ["delete", "move"])
def test_deleting_a_category_deletes_or_moves_its_annotations(qtbot, make_window, demo_project, choice):
    win = make_window(demo_project)
    victim, target = win.store.categories()[1], win.store.categories()[3]
    n_victim = len(win.store.annotations(category_id=victim.id))
    n_target = len(win.store.annotations(category_id=target.id))
    total = win.store.annotation_count(None)
    assert n_victim > 0
    dlg = _open_delete_dialog(qtbot, win, victim.id)
    if choice == "move":
        qtbot.mouseClick(dlg.move_radio, Qt.LeftButton)
        assert dlg.target.isEnabled()
        dlg.target.setFocus()
        while dlg.target.currentData() != target.id:
            qtbot.keyClick(dlg.target, Qt.Key_Down)
    qtbot.mouseClick(dlg.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: win.store.category(victim.id) is None, timeout=3000)
    if choice == "move":
        assert len(win.store.annotations(category_id=target.id)) == n_target + n_victim
        assert win.store.annotation_count(None) == total
    else:
        assert len(win.store.annotations(category_id=target.id)) == n_target
        assert win.store.annotation_count(None) == total - n_victim
    assert win.store.annotations(category_id=victim.id) == []
    names = [win.categories.tree.topLevelItem(i).text(1) for i in range(win.categories.tree.topLevelItemCount())]
    assert victim.name not in names and len(names) == 3
    # The undo stack cannot replay steps that named the deleted category.
    assert not win.canvas.undo_stack.canUndo()


def test_add_rename_and_hide_a_category(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    qtbot.mouseClick(win.categories.add_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: isinstance(QApplication.focusWidget(), QLineEdit)
                    and win.categories.tree.isAncestorOf(QApplication.focusWidget()), timeout=3000)
    editor = QApplication.focusWidget()  # the in-place name editor
    qtbot.keyClick(editor, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(editor, "hexagon")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: win.store.category_by_name("hexagon") is not None, timeout=3000)
    new_id = win.store.category_by_name("hexagon").id
    assert win.categories.current_category() == new_id
    # A duplicate name is refused with a message and the list goes back to the stored name.
    item = win.categories._item(new_id)
    item.setText(1, win.store.categories()[0].name)
    qtbot.waitUntil(lambda: win.categories._item(new_id).text(1) == "hexagon", timeout=3000)
    assert win.store.category(new_id).name == "hexagon"

    # Unticking "shown" hides the category on the canvas: its shapes are no longer painted there.
    image_id = win.canvas.current_image_id
    first = win.store.category(win.store.annotations(image_id=image_id)[0].category_id)
    view = canvas_view(win.canvas)
    shown = view.grab().toImage()
    item = win.categories._item(first.id)
    rect = win.categories.tree.visualItemRect(item)
    check = rect.topLeft() + (rect.bottomLeft() - rect.topLeft()) / 2
    check.setX(rect.left() + 10)
    qtbot.mouseClick(win.categories.tree.viewport(), Qt.LeftButton, pos=check)
    qtbot.waitUntil(lambda: first.id in win.session.hidden_categories, timeout=3000)
    qtbot.waitUntil(lambda: view.grab().toImage() != shown, timeout=3000)
    qtbot.mouseClick(win.categories.tree.viewport(), Qt.LeftButton, pos=check)
    qtbot.waitUntil(lambda: view.grab().toImage() == shown, timeout=3000)


def _shown_counts(win) -> dict[int, int]:
    tree = win.categories.tree
    return {tree.topLevelItem(i).data(1, Qt.UserRole): int(tree.topLevelItem(i).text(2))
            for i in range(tree.topLevelItemCount())}


def test_label_counts_follow_every_edit_from_the_change(qtbot, make_window, demo_project, monkeypatch):
    """Adds, relabels, deletions, undo, accepted predictions and deleted images all move the counts.
    An edit on the image on the canvas asks the store for no count at all (the session keeps that
    image's tally from the changes); one on another image recounts only that image, in one query the
    category list and the file list share; never the whole project."""
    from gui.commands import AddAnnotations, ChangeAnnotations, RemoveAnnotations
    from annotations.store import copy_annotation
    win = make_window(demo_project)
    store, stack = win.store, win.session.undo_stack
    cats = [c.id for c in store.categories()]
    calls = []
    full = store.image_status_counts
    monkeypatch.setattr(store, "image_status_counts", lambda image_ids: calls.append(image_ids) or full(image_ids))

    def expect():
        qtbot.waitUntil(lambda: _shown_counts(win) == {c: store.category_counts().get(c, 0) for c in cats},
                        timeout=3000)

    img = store.image_ids()[0]
    assert win.session.image_id == img
    stack.push(AddAnnotations(store, [Annotation(None, img, cats[0], bbox=(1, 1, 5, 5))]))
    expect()
    ann = store.annotations(image_id=img)[0]
    stack.push(ChangeAnnotations(store, [ann], [copy_annotation(ann, category_id=cats[2])], "Relabel"))
    expect()
    stack.push(RemoveAnnotations(store, [store.annotations(image_id=img)[-1]]))
    expect()
    for _ in range(3):
        stack.undo()
        expect()
    assert calls == [], calls
    other = store.image_ids()[2]
    stack.push(AddAnnotations(store, [Annotation(None, other, cats[1], bbox=(1, 1, 5, 5))]))
    expect()
    stack.undo()
    expect()
    assert len(calls) == 2 and all(set(c) == {other} for c in calls), calls
    (pred,) = store.add_annotations([Annotation(None, img, cats[1], bbox=(3, 3, 4, 4), score=0.9,
                                                status=PREDICTION, source="tiny-model")])
    store.accept_predictions([pred])
    expect()
    store.delete_images([store.image_ids()[1]])  # its annotations go with it
    expect()
