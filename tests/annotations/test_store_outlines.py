"""The store's outlines (annotations/outlines.py): each shape's rings packed with its row, read for an
image as arrays; rows written before the columns existed are packed from their JSON as they are read."""
from __future__ import annotations

import sqlite3

import numpy as np

from annotations import geometry
from annotations.model import MASK, POLYGON, PREDICTION, Annotation, Category, ImageRecord
from annotations.outlines import drawn_rings
from annotations.store import DB_NAME, SCHEMA_VERSION, Store


def _shapes(store):
    cat = store.add_category(Category(None, "cat"))
    img = store.add_image(ImageRecord(None, "a.jpg", 100, 80))
    other = store.add_image(ImageRecord(None, "b.jpg", 100, 80))
    m = np.zeros((80, 100), np.uint8)
    m[10:20, 30:50] = 1
    anns = [
        Annotation(None, img, cat, kind=POLYGON, polygons=[[10, 10, 50.25, 10, 50, 40.5, 10, 40]],
                   holes=[[20, 20, 30, 20, 30, 30]]),
        Annotation(None, img, cat, bbox=(1.5, 2.5, 10, 20), score=0.75, status=PREDICTION, source="m"),
        Annotation(None, img, cat, kind=MASK, rle=geometry.encode_mask(m)),
        Annotation(None, img, cat, kind=POLYGON, polygons=[[1, 1, 9, 1, 9, 9, 1], [60, 60, 70, 60, 70, 70]],
                   bbox=(1, 1, 69, 69), area=100.0),  # a ring of odd length, as a hand-edited file may have
        Annotation(None, other, cat, kind=POLYGON, polygons=[[0, 0, 5, 0, 5, 5]]),
    ]
    return img, store.add_annotations(anns)


def _rings_of(o, row):
    """The rings of one row as flat lists (the packed points are float32)."""
    starts = np.concatenate([[0], np.cumsum(o.ring_points)])
    return [o.points[starts[r]:starts[r + 1]].ravel().tolist() for r in np.nonzero(o.ring_rows == row)[0]]


def _expected(store, img):
    return [[[float(np.float32(v)) for v in r[:2 * (len(r) // 2)]] for r in drawn_rings(a.polygons, a.holes)]
            for a in store.annotations(image_id=img)]


def test_outlines_are_the_rings_each_shape_is_drawn_with(store):
    img, ids = _shapes(store)
    o = store.outlines(img)
    assert o.ids.tolist() == ids[:4] and o.kinds == ["polygon", "box", "mask", "polygon"]
    assert o.statuses[1] == PREDICTION and o.scores[1] == 0.75 and o.boxes[1].tolist() == [1.5, 2.5, 10, 20]
    assert [_rings_of(o, k) for k in range(4)] == _expected(store, img)
    assert o.ring_points.tolist() == [4, 3, 3, 3]  # the odd value of a ring is left out, as the canvas does


def test_an_edit_packs_the_new_rings(store):
    img, ids = _shapes(store)
    moved = store.annotation(ids[0])
    store.update_annotation(Annotation(moved.id, img, moved.category_id, kind=POLYGON, polygons=[[5, 5, 15, 5, 15, 15]]))
    o = store.outlines(img)
    assert _rings_of(o, 0) == [[5, 5, 15, 5, 15, 15]]


def test_rows_from_before_the_columns_are_packed_from_their_json(tmp_path):
    store = Store.open(tmp_path / "p")
    img, _ = _shapes(store)
    want = store.outlines(img)
    store.close()
    db = sqlite3.connect(tmp_path / "p" / DB_NAME)  # the project as the version before wrote it
    db.execute("DROP TABLE outlines")
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION - 1),))
    db.commit()
    db.close()
    store = Store.open(tmp_path / "p")
    assert store.get_meta("schema_version") == SCHEMA_VERSION
    got = store.outlines(img)
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    store.close()


def test_coordinates_beyond_float32_are_stored_and_drawn_as_their_box(store):
    cat = store.add_category(Category(None, "cat"))
    img = store.add_image(ImageRecord(None, "a.jpg", 100, 80))
    ann_id = store.add_annotation(Annotation(None, img, cat, kind=POLYGON, polygons=[[0, 0, 1e39, 0, 5, 5]],
                                             bbox=(0, 0, 5, 5)))
    assert store.annotation(ann_id).polygons == [[0, 0, 1e39, 0, 5, 5]]  # the record keeps it exactly
    o = store.outlines(img)
    assert o.ids.tolist() == [ann_id] and len(o.ring_rows) == 0


def test_only_shapes_of_many_points_are_stored_packed(store, tmp_path):
    from annotations.outlines import PACK_MIN_POINTS
    cat = store.add_category(Category(None, "cat"))
    img = store.add_image(ImageRecord(None, "a.jpg", 100, 80))
    big = [float(v) for k in range(PACK_MIN_POINTS) for v in (50 + 40 * np.cos(k / 5), 40 + 30 * np.sin(k / 5))]
    ids = store.add_annotations([Annotation(None, img, cat, kind=POLYGON, polygons=[big]),
                                 Annotation(None, img, cat, kind=POLYGON, polygons=[big[:-2]])])
    db = sqlite3.connect(tmp_path / "project" / DB_NAME)
    packed = dict(db.execute("SELECT a.id, o.points IS NOT NULL FROM annotations a "
                             "LEFT JOIN outlines o ON o.annotation_id = a.id").fetchall())
    db.close()
    assert packed == {ids[0]: 1, ids[1]: 0}  # a COCO import of small polygons stores each once
    o = store.outlines(img)
    assert o.ring_points.tolist() == [PACK_MIN_POINTS, PACK_MIN_POINTS - 1]
    assert [_rings_of(o, k) for k in range(2)] == _expected(store, img)


def test_packed_rings_go_with_their_annotation(store, tmp_path):
    from annotations.outlines import PACK_MIN_POINTS
    cat = store.add_category(Category(None, "cat"))
    dog = store.add_category(Category(None, "dog"))
    imgs = [store.add_image(ImageRecord(None, f"{k}.jpg", 100, 80)) for k in range(2)]
    big = [float(v) for k in range(PACK_MIN_POINTS) for v in (50 + 40 * np.cos(k / 5), 40 + 30 * np.sin(k / 5))]
    a, b, c, d = store.add_annotations([Annotation(None, imgs[0], cat, kind=POLYGON, polygons=[big]),
                                        Annotation(None, imgs[0], cat, kind=POLYGON, polygons=[big]),
                                        Annotation(None, imgs[0], dog, kind=POLYGON, polygons=[big]),
                                        Annotation(None, imgs[1], cat, kind=POLYGON, polygons=[big])])

    def packed():
        db = sqlite3.connect(tmp_path / "project" / DB_NAME)
        out = sorted(i for (i,) in db.execute("SELECT annotation_id FROM outlines"))
        db.close()
        return out
    assert packed() == [a, b, c, d]
    store.update_annotation(Annotation(b, imgs[0], cat, kind=POLYGON, polygons=[[1, 1, 9, 1, 9, 9]]))  # now small
    store.delete_annotations([a])
    store.delete_category(dog)
    assert packed() == [d]
    store.delete_images([imgs[1]])
    assert packed() == []
    assert _rings_of(store.outlines(imgs[0]), 0) == [[1, 1, 9, 1, 9, 9]]
