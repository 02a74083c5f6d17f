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
