"""The annotation list follows each store change by updating only the rows it names: after any
mix of edits the rows must read exactly as a list rebuilt from the store, and rows the change
did not name are left as they were (the same row objects)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from annotations.model import PREDICTION, Annotation, Category, ImageRecord
from annotations.store import Store, copy_annotation
from gui.panels.annotation_list import HEADERS, AnnotationListPanel
from gui.session import Session


def _rows(panel) -> list[tuple]:
    """Everything a row shows: texts, ticks, italic font, colours, icon, tooltip, selection."""
    out = []
    for i in range(panel.tree.topLevelItemCount()):
        it = panel.tree.topLevelItem(i)
        out.append((it.data(0, Qt.UserRole), it.data(0, Qt.UserRole + 1),
                    tuple(it.text(c) for c in range(len(HEADERS))),
                    it.checkState(0), it.checkState(1), tuple(it.font(c).italic() for c in range(len(HEADERS))),
                    it.data(4, Qt.ForegroundRole) is not None, it.icon(2).isNull(), it.toolTip(4), it.isSelected()))
    return out


def _rebuilt(session) -> list[tuple]:
    """The rows of a list built from scratch on the same project, image and selection."""
    other = Session()
    fresh = AnnotationListPanel(other)
    other.open(session.store)
    other.set_image(session.image_id)
    other.select(session.selection)
    rows = _rows(fresh)
    other.close(close_store=False)
    return rows


def test_rows_follow_each_change_as_a_rebuild_would(qtbot, tmp_path, settings_dir):
    store = Store.open(tmp_path / "p")
    cat, dog = store.add_categories([Category(None, "cat"), Category(None, "dog", color="#00ff00")])
    a, b = store.add_images([ImageRecord(None, "a.png", 100, 80), ImageRecord(None, "b.png", 100, 80)])
    ids = store.add_annotations([Annotation(None, a, cat, bbox=(1, 1, 10, 10)),
                                 Annotation(None, a, dog, kind="polygon", polygons=[[1, 1, 20, 1, 20, 20]]),
                                 Annotation(None, a, cat, bbox=(5, 5, 10, 10), status=PREDICTION, score=0.4,
                                            source="fcos"),
                                 Annotation(None, b, cat, bbox=(1, 1, 10, 10))])
    session = Session()
    panel = AnnotationListPanel(session)
    qtbot.addWidget(panel)  # closed after the test, as every window a test opens
    panel.resize(400, 300)
    panel.show()
    session.open(store)
    session.set_image(a)
    session.select([ids[1]])
    assert panel.ids() == ids[:3] and _rows(panel) == _rebuilt(session)
    untouched = panel.item_for(ids[0])

    def settle(check):
        qtbot.waitUntil(check, timeout=3000)
        assert _rows(panel) == _rebuilt(session)

    store.update_annotation(copy_annotation(store.annotation(ids[1]), category_id=cat))  # relabel
    settle(lambda: panel.item_for(ids[1]).text(2) == "cat")
    assert panel.item_for(ids[0]) is untouched
    store.accept_predictions([ids[2]])  # italic and orange go
    settle(lambda: not panel.item_for(ids[2]).font(0).italic())
    assert panel.title.text() == "3 labels, 0 predictions"
    [new] = store.add_annotations([Annotation(None, a, dog, bbox=(50, 50, 30, 30), status=PREDICTION,
                                              score=0.9, source="fcos")])
    settle(lambda: new in panel.ids())
    assert panel.ids() == sorted(ids[:3] + [new]) and panel.title.text() == "3 labels, 1 prediction"
    store.update_annotation(copy_annotation(store.annotation(ids[0]), image_id=b))  # moved to the other image
    settle(lambda: ids[0] not in panel.ids())
    store.delete_annotations([ids[1]])
    settle(lambda: ids[1] not in panel.ids())
    assert panel.title.text() == "1 label, 1 prediction"
    store.add_annotations([Annotation(None, b, dog, bbox=(1, 1, 5, 5))])  # another image: nothing changes here
    qtbot.wait(20)
    assert panel.ids() == [ids[2], new]
    # a category renamed: every row rebuilt with the new name
    c = store.category(dog)
    c.name = "hound"
    store.update_category(c)
    settle(lambda: panel.item_for(new).text(2) == "hound")
    # the category and shape columns are wide enough for their texts
    fm = panel.tree.fontMetrics()
    for col in (2, 3):
        widest = max(fm.horizontalAdvance(panel.tree.topLevelItem(i).text(col))
                     for i in range(panel.tree.topLevelItemCount()))
        assert panel.tree.columnWidth(col) >= widest
    session.close()
