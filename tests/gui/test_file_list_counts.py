"""The file list recounts only the images a change names, and repaints the rows it must."""
from __future__ import annotations

from annotations.model import PREDICTION, Annotation, Category, ImageRecord
from annotations.store import Store
from gui.panels.file_list import ImageListModel


def test_recount_of_named_images_updates_counts_rows_and_filter(qapp, tmp_path):
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "thing"))
        ids = store.add_images(ImageRecord(None, f"img{i}.jpg", 64, 48) for i in range(5))
        store.add_annotations([Annotation(None, ids[0], cat, bbox=(1, 1, 5, 5))])
        model = ImageListModel()
        model.set_store(store)
        model.set_filter(state="unlabelled")
        assert model.visible_ids() == ids[1:]
        repainted = []
        model.dataChanged.connect(lambda a, b: repainted.append((a.row(), b.row())))
        store.add_annotations([Annotation(None, ids[2], cat, bbox=(1, 1, 5, 5), status=PREDICTION, score=0.5)])
        model.recount([ids[2]])  # a prediction: still unlabelled, one row repainted
        assert model.visible_ids() == ids[1:] and repainted == [(1, 1)]
        assert model.data(model.index(1, 2)) == 1 and model.data(model.index(1, 1)) == ""
        store.add_annotations([Annotation(None, ids[3], cat, bbox=(1, 1, 5, 5))])
        model.recount([ids[3]])  # now labelled: leaves the filter
        assert model.visible_ids() == [ids[1], ids[2], ids[4]]
        model.set_filter(state="all")
        counts = {model.image_id(r): (model.data(model.index(r, 1)), model.data(model.index(r, 2)))
                  for r in range(model.rowCount())}
        assert counts == {ids[0]: (1, ""), ids[1]: ("", ""), ids[2]: ("", 1), ids[3]: (1, ""), ids[4]: ("", "")}


def test_count_columns_fit_their_widest_text_as_counts_grow(qtbot, tmp_path, settings_dir):
    """The count and split columns are sized from the values (not by Qt re-reading the rows after
    every change): a count that gains digits widens its column, the header always fits."""
    from gui.panels.file_list import FileListPanel
    from gui.session import Session
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "thing"))
        ids = store.add_images(ImageRecord(None, f"img{i}.jpg", 64, 48, split="validation" * (i == 2))
                               for i in range(3))
        store.add_annotations([Annotation(None, ids[0], cat, bbox=(1, 1, 5, 5))])
        session = Session()
        panel = FileListPanel(session)
        qtbot.addWidget(panel)  # closed after the test: a window left open takes later tests' pointer
        panel.resize(500, 300)
        panel.show()
        session.open(store)
        view, header = panel.view, panel.view.header()
        fm = view.fontMetrics()
        for col in (1, 2, 3):
            assert view.columnWidth(col) >= header.sectionSizeHint(col)  # "Labels", "Pred.", "Split"
        assert view.columnWidth(3) > fm.horizontalAdvance("validation")
        assert view.columnWidth(1) <= header.sectionSizeHint(1) + 2  # fitted, not Qt's default width
        store.add_annotations([Annotation(None, ids[1], cat, bbox=(1, 1, 5, 5), status=PREDICTION, score=0.5)]
                              + [Annotation(None, ids[1], cat, bbox=(1, 1, 5, 5)) for _ in range(12345)])
        qtbot.waitUntil(lambda: panel.model.data(panel.model.index(1, 1)) == 12345, timeout=10000)
        text = fm.horizontalAdvance("12345")
        assert text < view.columnWidth(1) <= max(header.sectionSizeHint(1), text + 20)
        assert panel.model.totals() == {"images": 3, "shown": 3, "labelled": 2, "unlabelled": 1, "predictions": 1}
        session.close(close_store=False)
