"""The panels update from each change (only the rows and counts it moved), so after every edit, undo
and redo on a project with thousands of annotations what they show must equal a fresh read of the
store: the file list's per-image counts and totals, the category list's counts, the annotation
list's rows, and its fitted columns as wide as a full refit makes them."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt

from annotations.model import PREDICTION, Annotation, Category, ImageRecord
from annotations.store import Store, copy_annotation
from gui.commands import AcceptPredictions, AddAnnotations, ChangeAnnotations, RemoveAnnotations
from gui.panels.annotation_list import COL_CATEGORY, COL_SHAPE, HEADERS, AnnotationListPanel
from gui.panels.category_list import CategoryListPanel
from gui.panels.file_list import FileListPanel
from gui.session import Session

N_IMAGES, PER_IMAGE = 100, 40


def _project(path) -> Store:
    store = Store.open(path)
    cats = store.add_categories([Category(None, "cat"), Category(None, "dog"), Category(None, "bird"),
                                 Category(None, "a category with a long name")])
    images = store.add_images(ImageRecord(None, f"img{i:03d}.jpg", 640, 480) for i in range(N_IMAGES))
    square = [1.0, 1.0, 30.0, 1.0, 30.0, 30.0, 1.0, 30.0]
    store.add_annotations(
        Annotation(None, img, cats[k % 3], kind="polygon", polygons=[[v + k for v in square]],
                   **({"status": PREDICTION, "score": 0.5, "source": "fcos"} if k % 7 == 6 else {}))
        for img in images for k in range(PER_IMAGE))
    return store


def _settle() -> None:
    for _ in range(3):  # store events reach the panels through the session's queued relay
        QCoreApplication.processEvents()


def _file_counts(panel: FileListPanel) -> dict[int, tuple[int, int]]:
    m = panel.model
    return {m.image_id(r): (m.data(m.index(r, 1)) or 0, m.data(m.index(r, 2)) or 0) for r in range(m.rowCount())}


def _category_counts(panel: CategoryListPanel) -> dict[int, int]:
    tree = panel.tree
    return {tree.topLevelItem(i).data(1, Qt.UserRole): int(tree.topLevelItem(i).text(2))
            for i in range(tree.topLevelItemCount())}


def _rows(panel: AnnotationListPanel) -> list[tuple]:
    tree = panel.tree
    return [(it.data(0, Qt.UserRole), tuple(it.text(c) for c in range(len(HEADERS))),
             it.font(0).italic(), it.icon(COL_CATEGORY).cacheKey() != 0)
            for it in (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))]


def _check(store: Store, session: Session, files: FileListPanel, cats: CategoryListPanel,
           anns: AnnotationListPanel) -> None:
    fresh = store.annotation_counts()
    assert _file_counts(files) == {i: fresh.get(i, (0, 0)) for i in store.image_ids()}
    totals = files.model.totals()
    assert totals["labelled"] == sum(1 for v in fresh.values() if v[0])
    assert totals["predictions"] == sum(1 for v in fresh.values() if v[1])
    by_cat = store.category_counts()
    assert _category_counts(cats) == {c.id: by_cat.get(c.id, 0) for c in store.categories()}
    width = cats.tree.columnWidth(2)
    cats.tree.resizeColumnToContents(2)
    assert cats.tree.columnWidth(2) == width
    other = Session()  # a list built from scratch on the same image
    rebuilt = AnnotationListPanel(other)
    other.open(store)
    other.set_image(session.image_id)
    assert _rows(anns) == _rows(rebuilt)
    other.close(close_store=False)
    labels = sum(1 for a in store.annotations(image_id=session.image_id) if not a.is_prediction)
    assert anns.title.text().startswith(f"{labels} label")
    for col in (COL_CATEGORY, COL_SHAPE):  # as wide as a full refit makes it
        width = anns.tree.columnWidth(col)
        anns.tree.resizeColumnToContents(col)
        assert anns.tree.columnWidth(col) == width, (col, width)


def test_panels_equal_a_fresh_read_after_each_edit_undo_and_redo(qtbot, tmp_path):
    store = _project(tmp_path / "p")
    session = Session()
    files, cats, anns = FileListPanel(session), CategoryListPanel(session), AnnotationListPanel(session)
    for w in (files, cats, anns):
        qtbot.addWidget(w)
        w.resize(420, 400)
        w.show()
    session.open(store)
    images = store.image_ids()
    here, there = images[40], images[41]
    session.set_image(here)
    _settle()
    _check(store, session, files, cats, anns)
    cat_ids = [c.id for c in store.categories()]
    on_image = store.annotations(image_id=here)
    first, second = on_image[0], on_image[1]
    pred = next(a for a in on_image if a.is_prediction)
    stack = session.undo_stack
    moved = [v + 3 for v in first.polygons[0]]
    steps = [
        ChangeAnnotations(store, [first], [copy_annotation(first, polygons=[moved], bbox=(0, 0, 0, 0))], "Move"),
        ChangeAnnotations(store, [second], [copy_annotation(second, category_id=cat_ids[1])], "Relabel"),
        # a category no row showed yet, with the longest name: the column must widen, and narrow on undo
        ChangeAnnotations(store, [first], [copy_annotation(first, category_id=cat_ids[3])], "Relabel"),
        AcceptPredictions(store, [pred.id]),
        AddAnnotations(store, [Annotation(None, here, cat_ids[2], bbox=(5, 5, 20, 20))]),
        RemoveAnnotations(store, [second.id]),
        ChangeAnnotations(store, [on_image[2]], [copy_annotation(on_image[2], image_id=there)], "Move to"),
    ]
    widths = []
    for cmd in steps:
        stack.push(cmd)
        _settle()
        _check(store, session, files, cats, anns)
        widths.append(anns.tree.columnWidth(COL_CATEGORY))
    assert widths[2] > widths[1], "the long category name did not widen its column"
    for _ in steps:
        stack.undo()
        _settle()
        _check(store, session, files, cats, anns)
    assert anns.tree.columnWidth(COL_CATEGORY) < widths[2], "the column kept the width of a name gone"
    for _ in steps:
        stack.redo()
        _settle()
        _check(store, session, files, cats, anns)
    session.set_image(there)  # the annotation moved there is listed on its new image
    _settle()
    assert on_image[2].id in anns.ids()
    _check(store, session, files, cats, anns)
    session.close()


def test_the_current_images_tally_equals_the_store_whatever_order_changes_arrive_in(qapp, tmp_path):
    """The session's tally of the image on the canvas (what the count panels take for it) stays equal
    to a count query: edits on it, a change committed before the image was shown but delivered
    after (never counted twice), a change naming no ids, and annotations moved away or onto it."""
    store = _project(tmp_path / "p")
    session = Session()
    session.open(store)
    a, b = store.image_ids()[:2]
    cat_ids = [c.id for c in store.categories()]

    def check(image_id):
        assert session.image_counts([image_id]) == store.image_status_counts([image_id])

    session.set_image(a)
    check(a)
    [new] = store.add_annotations([Annotation(None, b, cat_ids[3], bbox=(1, 1, 4, 4))])  # its event is queued
    session.set_image(b)  # shown before the event arrives: the tally already holds the new annotation
    check(b)
    _settle()
    check(b)
    first = store.annotations(image_id=b)[0]
    store.update_annotation(copy_annotation(first, category_id=cat_ids[2], status=PREDICTION, score=0.3))
    store.update_annotation(copy_annotation(store.annotation(new), image_id=a))  # moved away
    _settle()
    check(b)
    store.update_annotation(copy_annotation(store.annotation(new), image_id=b))  # and back
    store.delete_annotations([store.annotations(image_id=b)[3].id])
    _settle()
    check(b)
    store.delete_category(cat_ids[1], reassign_to=cat_ids[0])  # an annotation change naming no ids
    _settle()
    check(b)
    assert session.image_counts([a, b]) == store.image_status_counts([a, b])
    session.close()


def test_showing_an_image_and_editing_it_ask_the_store_for_no_count(qtbot, tmp_path, monkeypatch):
    """The tally of a newly shown image starts from the annotation list's own read of it, so neither the
    switch nor an edit on the image costs a count query; without such a view the first count asked
    reads the image's (category, status) once."""
    store = _project(tmp_path / "p")
    asked = []
    for name in ("annotation_classes", "image_status_counts", "annotation_counts", "image_category_counts"):
        full = getattr(store, name)
        monkeypatch.setattr(store, name, lambda *a, _full=full, _name=name: asked.append(_name) or _full(*a))
    session = Session()
    files, cats, anns = FileListPanel(session), CategoryListPanel(session), AnnotationListPanel(session)
    for w in (files, cats, anns):
        qtbot.addWidget(w)
    session.open(store)
    a, b = store.image_ids()[:2]
    session.set_image(a)
    _settle()
    asked.clear()
    session.set_image(b)
    first = store.annotations(image_id=b)[0]
    relabelled = copy_annotation(first, category_id=first.category_id + 1)
    session.undo_stack.push(ChangeAnnotations(store, [first], [relabelled], "Relabel"))
    _settle()
    assert asked == []
    _check(store, session, files, cats, anns)
    session.close(close_store=False)
    bare = Session()
    bare.open(store)
    bare.set_image(a)
    asked.clear()
    assert bare.image_counts([a]) == store.image_status_counts([a])
    assert asked == ["annotation_classes", "image_status_counts"]
    bare.close()
