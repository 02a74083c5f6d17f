"""Bulk inserts (one executemany) give every annotation the id SQLite gives it row by row, values
come back exactly (integers beyond 64 bits included), and a category's usage is counted right."""
from __future__ import annotations

import sqlite3

import pytest

from annotations.model import PREDICTION, Annotation, Category, ImageRecord
from annotations.store import Store, StoreError


def _row_by_row_ids(path, wanted: list[int | None]) -> list[int]:
    """What plain SQLite assigns, one INSERT at a time, on the same table."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    out = []
    for w in wanted:
        out.append(conn.execute("INSERT INTO t (id, v) VALUES (?, 0)", (w,)).lastrowid)
    conn.close()
    return out


@pytest.mark.parametrize("wanted", [[None] * 5, [7, None, None, 3, None], [None, 50, None, 10, None, 60]])
def test_bulk_ids_are_the_ones_sqlite_gives_row_by_row(tmp_path, wanted):
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "c"))
        image = store.add_image(ImageRecord(None, "a.png", 10, 10))
        first = store.add_annotations([Annotation(None, image, cat, bbox=(1, 1, 2, 2))] * 2)
        ids = store.add_annotations([Annotation(w, image, cat, bbox=(1, 1, 2, 2)) for w in wanted])
        assert ids == _row_by_row_ids(tmp_path / "ref.db", [None, None] + wanted)[2:]
        assert sorted(a.id for a in store.annotations()) == sorted(first + ids)


def test_a_clash_in_a_bulk_insert_changes_nothing(tmp_path):
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "c"))
        image = store.add_image(ImageRecord(None, "a.png", 10, 10))
        store.add_annotations([Annotation(None, image, cat, bbox=(1, 1, 2, 2))])  # id 1
        with pytest.raises(StoreError, match="duplicate id"):
            store.add_annotations([Annotation(None, image, cat, bbox=(1, 1, 2, 2)),  # gets 2 ...
                                   Annotation(2, image, cat, bbox=(1, 1, 2, 2))])  # ... so 2 clashes
        assert [a.id for a in store.annotations()] == [1]


def test_values_come_back_exactly(tmp_path):
    big = 2 ** 70
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "c"))
        image = store.add_image(ImageRecord(None, "a.png", 100, 100))
        ring = [0.1, 0.2, 50.30000000000001, 0.2, 25, 1e-07]
        a = Annotation(None, image, cat, kind="polygon", polygons=[ring], holes=[[5, 5, 6, 5, 6, 6]],
                       extra={"big": big, "neg": -big, "text": "caf\u00e9 \"q\"", "nested": {"k": [1, 2.5]}})
        [i] = store.add_annotations([a])
        back = store.annotation(i)
        assert back.polygons == [ring] and back.holes == [[5, 5, 6, 5, 6, 6]]
        assert back.extra == a.extra and type(back.extra["big"]) is int and back.extra["big"] == big
        assert store.annotations()[0].extra["neg"] == -big


def test_category_usage_counts_labels_predictions_and_images(tmp_path):
    with Store.open(tmp_path / "p") as store:
        cat, other = store.add_categories([Category(None, "c"), Category(None, "d")])
        a, b, c = store.add_images(ImageRecord(None, f"{k}.png", 10, 10) for k in "abc")
        store.add_annotations([Annotation(None, a, cat, bbox=(1, 1, 2, 2)), Annotation(None, a, cat, bbox=(1, 1, 2, 2)),
                               Annotation(None, b, cat, bbox=(1, 1, 2, 2), status=PREDICTION, score=0.5),
                               Annotation(None, c, other, bbox=(1, 1, 2, 2))])
        assert store.category_usage(cat) == (2, 1, 2)
        assert store.category_usage(other) == (1, 0, 1)
        plan = " ".join(r[3] for r in store._read(
            "EXPLAIN QUERY PLAN SELECT COALESCE(SUM(status='label'), 0), COUNT(*), COUNT(DISTINCT image_id) "
            "FROM annotations WHERE category_id=?", (cat,)))
        assert "COVERING INDEX" in plan  # counted from the index, no table row read


def test_lookups_by_category_use_the_category_usage_index_alone(tmp_path):
    """The index on category_id alone is dropped (older projects lose it on opening); selecting,
    moving and deleting a category's annotations still search an index, none scans the table."""
    with Store.open(tmp_path / "p") as store:
        names = {r[0] for r in store._read("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "ann_category" not in names and "ann_category_image" in names
        for q in ("SELECT * FROM annotations WHERE category_id=?",
                  "UPDATE annotations SET category_id=2 WHERE category_id=?",
                  "DELETE FROM annotations WHERE category_id=?"):
            plan = " ".join(r[3] for r in store._read(f"EXPLAIN QUERY PLAN {q}", (1,)))
            assert "ann_category_image" in plan, (q, plan)
        cat, other = store.add_categories([Category(None, "c"), Category(None, "d")])
        img = store.add_images([ImageRecord(None, "a.png", 10, 10)])[0]
        store.add_annotations([Annotation(None, img, cat, bbox=(1, 1, 2, 2)), Annotation(None, img, other, bbox=(1, 1, 2, 2))])
        store.delete_category(cat)  # the cascade finds the category's rows through the same index
        assert [a.category_id for a in store.annotations()] == [other]


def _indexes(store) -> list[tuple]:
    return sorted(store._read("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'annotations'"))


def _bulk(image, cat, n, first_id=None):
    return [Annotation(None if first_id is None else first_id + k, image, cat, bbox=(k % 9, 1, 2, 2)) for k in range(n)]


def test_a_bulk_insert_sets_the_indexes_aside_and_builds_them_again(tmp_path, monkeypatch):
    from annotations import store_records
    monkeypatch.setattr(store_records, "BULK_ROWS", 50)
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "c"))
        image = store.add_image(ImageRecord(None, "a.png", 10, 10))
        before = _indexes(store)
        assert {n for n, _ in before} >= {"ann_image", "ann_run", "ann_category_image"}
        dropped = []
        conn = store._conn()
        conn.set_trace_callback(lambda sql: dropped.append(sql) if sql.startswith("DROP INDEX") else None)
        ids = store.add_annotations(_bulk(image, cat, 60))
        conn.set_trace_callback(None)
        assert len(dropped) == len(before)
        assert _indexes(store) == before
        assert store._read("PRAGMA integrity_check") == [("ok",)]
        assert store.category_usage(cat)[0] == 60 and sorted(a.id for a in store.annotations()) == ids
        plan = " ".join(r[-1] for r in store._read("EXPLAIN QUERY PLAN SELECT id FROM annotations WHERE image_id = ?",
                                                   (image,)))
        assert "ann_image" in plan
        # A table already holding more rows than the batch keeps its indexes (rebuilding costs more).
        dropped.clear()
        conn.set_trace_callback(lambda sql: dropped.append(sql) if sql.startswith("DROP INDEX") else None)
        store.add_annotations(_bulk(image, cat, 55))
        conn.set_trace_callback(None)
        assert dropped == [] and _indexes(store) == before


def test_a_refused_bulk_insert_inside_a_transaction_leaves_rows_and_indexes_as_they_were(tmp_path, monkeypatch):
    from annotations import store_records
    monkeypatch.setattr(store_records, "BULK_ROWS", 50)
    with Store.open(tmp_path / "p") as store:
        cat = store.add_category(Category(None, "c"))
        image = store.add_image(ImageRecord(None, "a.png", 10, 10))
        [kept] = store.add_annotations([Annotation(None, image, cat, bbox=(1, 1, 2, 2))])
        before = _indexes(store)
        with store.transaction():
            with pytest.raises(StoreError, match="duplicate id"):
                store.add_annotations(_bulk(image, cat, 60, first_id=kept - 30))  # one of them is `kept`
            # the outer transaction goes on and commits: the indexes must be there
            assert _indexes(store) == before
            store.add_annotations([Annotation(None, image, cat, bbox=(2, 2, 2, 2))])
        assert _indexes(store) == before
        assert len(store.annotations()) == 2
        assert store._read("PRAGMA integrity_check") == [("ok",)]
