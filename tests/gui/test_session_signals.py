"""The session's typed signals, on their own: a committed change arrives on the GUI thread with the
ids and image ids it touched; the image and the selection are the session's, and a removed or hidden
annotation leaves the selection."""
from __future__ import annotations

from annotations.model import Annotation, Category, ImageRecord
from gui.session import Session, StoreChange


def _project(store):
    cat = store.add_category(Category(None, "cat"))
    a, b = store.add_images([ImageRecord(None, "a.png", 40, 30), ImageRecord(None, "b.png", 40, 30)])
    return cat, a, b


def test_changes_arrive_with_their_ids_and_image_ids(qtbot, store):
    cat, a, b = _project(store)
    session = Session()
    session.open(store)
    seen = {"annotations": [], "categories": []}
    session.annotations_changed.connect(seen["annotations"].append)
    session.categories_changed.connect(seen["categories"].append)
    with qtbot.waitSignal(session.annotations_changed, timeout=3000):
        ids = store.add_annotations([Annotation(None, a, cat, bbox=(1, 1, 5, 5)),
                                     Annotation(None, b, cat, bbox=(2, 2, 5, 5))])
    assert seen["annotations"] == [StoreChange("added", tuple(ids), (a, b))]
    with qtbot.waitSignal(session.categories_changed, timeout=3000):
        store.update_category(Category(cat, "renamed"))
    assert seen["categories"] == [StoreChange("updated", (cat,))]
    session.close(close_store=False)


def test_the_image_and_the_selection_are_the_sessions(qtbot, store):
    cat, a, b = _project(store)
    ids = store.add_annotations([Annotation(None, a, cat, bbox=(1, 1, 5, 5)), Annotation(None, a, cat, bbox=(9, 9, 5, 5))])
    session = Session()
    session.open(store)
    images, selections = [], []
    session.image_changed.connect(images.append)
    session.selection_changed.connect(selections.append)
    session.set_image(a)
    session.select(ids)
    assert images == [a] and selections == [ids] and session.selection == ids
    session.set_flag("annotation", "hidden", [ids[0]], True)  # a hidden shape cannot stay selected
    assert session.selection == [ids[1]] and ids[0] in session.hidden_annotations
    with qtbot.waitSignal(session.annotations_changed, timeout=3000):
        store.delete_annotations([ids[1]])
    assert session.selection == []  # a removed one neither
    session.set_image(b)
    assert images == [a, b] and selections[-1] == []
    session.close(close_store=False)
    assert session.store is None and images[-1] is None
