import shutil
import time

import pytest

from annotations import geometry
from annotations.model import MASK, POLYGON, PREDICTION, Annotation, Category, ImageRecord, ModelRun
from annotations.store import DB_NAME, SCHEMA_VERSION, Store, StoreError, copy_annotation


def _setup(store):
    cat = store.add_category(Category(None, "cat", "animal", "#ff0000"))
    dog = store.add_category(Category(None, "dog", "animal"))
    img = store.add_image(ImageRecord(None, "a.jpg", 100, 80, "train", {"license": 3}))
    return cat, dog, img


def test_round_trip_of_every_field(store):
    cat, dog, img = _setup(store)
    rle = geometry.encode_mask(geometry.decode_rle(geometry.polygon_to_rle([[10, 10, 60, 10, 60, 50]], 80, 100)))
    anns = [
        Annotation(None, img, cat, kind=POLYGON, polygons=[[10, 10, 50, 10, 50, 40, 10, 40]],
                   holes=[[20, 20, 30, 20, 30, 30, 20, 30]], created_by="ann", extra={"note": "ü"}),
        Annotation(None, img, dog, kind=MASK, rle=rle, iscrowd=1),
        Annotation(None, img, dog, bbox=(1.5, 2.5, 10, 20), score=0.75, status=PREDICTION, source="frcnn"),
    ]
    ids = store.add_annotations(anns)
    got = [store.annotation(i) for i in ids]
    assert got[0].polygons == anns[0].polygons and got[0].holes == anns[0].holes
    assert got[0].bbox == (10, 10, 40, 30)
    assert got[0].area == pytest.approx(40 * 30 - 10 * 10)
    assert got[0].extra == {"note": "ü"} and got[0].created_by == "ann"
    assert got[1].rle == rle and got[1].iscrowd == 1 and got[1].area == geometry.rle_area(rle)
    assert got[1].bbox == geometry.rle_bbox(rle)
    assert got[2].bbox == (1.5, 2.5, 10, 20) and got[2].area == 200 and got[2].score == 0.75
    assert got[2].is_prediction and got[2].source == "frcnn"
    assert store.image(img).extra == {"license": 3} and store.image(img).split == "train"
    assert [c.name for c in store.categories()] == ["cat", "dog"]


def test_queries_by_image_category_status(store):
    cat, dog, img = _setup(store)
    img2 = store.add_image(ImageRecord(None, "b.jpg", 10, 10))
    store.add_annotations([Annotation(None, img, cat, bbox=(0, 0, 1, 1)),
                           Annotation(None, img2, dog, bbox=(0, 0, 1, 1)),
                           Annotation(None, img2, dog, bbox=(0, 0, 2, 2), status=PREDICTION)])
    assert len(store.annotations(image_id=img2)) == 2
    assert len(store.annotations(category_id=dog, status="label")) == 1
    assert store.annotation_counts() == {img: (1, 0), img2: (1, 1)}
    assert store.category_counts() == {cat: 1, dog: 1}
    assert store.image_ids(split="train") == [img]


def test_update_and_delete(store):
    cat, dog, img = _setup(store)
    a = store.annotation(store.add_annotation(Annotation(None, img, cat, bbox=(0, 0, 5, 5))))
    b = copy_annotation(a, category_id=dog, bbox=(1, 1, 6, 6), area=None)
    store.update_annotation(b)
    got = store.annotation(a.id)
    assert got.category_id == dog and got.bbox == (1, 1, 6, 6) and got.area == 36
    store.delete_annotations([a.id])
    assert store.annotation(a.id) is None


def test_delete_category_reassigns_or_deletes(store):
    cat, dog, img = _setup(store)
    store.add_annotations([Annotation(None, img, cat, bbox=(0, 0, 1, 1))] * 3)
    assert store.delete_category(cat, reassign_to=dog) == 3
    assert {a.category_id for a in store.annotations()} == {dog}
    assert store.delete_category(dog) == 3
    assert store.annotations() == []


def test_deleting_an_image_deletes_its_annotations(store):
    cat, dog, img = _setup(store)
    store.add_annotation(Annotation(None, img, cat, bbox=(0, 0, 1, 1)))
    store.delete_images([img])
    assert store.annotations() == [] and store.image_count() == 0


def test_foreign_keys_refuse_unknown_image_or_category(store):
    cat, dog, img = _setup(store)
    with pytest.raises(StoreError):
        store.add_annotation(Annotation(None, 999, cat))
    with pytest.raises(StoreError):
        store.add_annotation(Annotation(None, img, 999))


def test_transaction_is_all_or_nothing(store):
    cat, dog, img = _setup(store)
    with pytest.raises(StoreError):
        with store.transaction():
            store.add_annotation(Annotation(None, img, cat, bbox=(0, 0, 1, 1)))
            store.add_category(Category(None, "bird"))
            store.add_annotation(Annotation(None, 12345, cat))  # fails: whole transaction rolls back
    assert store.annotations() == [] and store.category_by_name("bird") is None


def test_events_fire_after_commit_only(store):
    seen = []
    store.subscribe(seen.append)
    cat, dog, img = _setup(store)
    assert [(e.table, e.action) for e in seen] == [("categories", "added")] * 2 + [("images", "added")]
    seen.clear()
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_annotation(Annotation(None, img, cat))
            raise RuntimeError("abort")
    assert seen == []


def test_predictions_accept_and_reject_and_runs(store):
    cat, dog, img = _setup(store)
    run = store.add_run(ModelRun(None, "frcnn", kind="predict", params={"score": 0.5}))
    ids = store.add_annotations([Annotation(None, img, cat, bbox=(0, 0, 1, 1), score=s, status=PREDICTION,
                                            source="frcnn", run_id=run) for s in (0.9, 0.6, 0.3)])
    store.accept_predictions(ids[:1])
    store.reject_predictions(ids[2:])
    a = store.annotation(ids[0])
    assert a.status == "label" and a.source == "frcnn" and a.score == 0.9
    assert store.annotation(ids[2]) is None
    store.delete_run(run)
    assert [x.id for x in store.annotations()] == [ids[0]]  # accepted label outlives its run
    assert store.runs() == []


def test_schema_version_and_reopen(tmp_path):
    s = Store.open(tmp_path / "p")
    _setup(s)
    s.close()
    s2 = Store.open(tmp_path / "p", create=False)
    assert s2.get_meta("schema_version") == SCHEMA_VERSION
    assert s2.image_count() == 1
    s2.close()


def test_newer_schema_is_refused_and_garbage_is_a_message(tmp_path):
    s = Store.open(tmp_path / "p")
    s.set_meta("schema_version", SCHEMA_VERSION + 1)
    s.close()
    with pytest.raises(StoreError, match="newer version"):
        Store.open(tmp_path / "p")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable project"):
        Store.open(bad)
    with pytest.raises(StoreError, match="No project"):
        Store.open(tmp_path / "nothing", create=False)


def test_image_folder_is_registered_by_relative_path_and_project_moves(tmp_path, demo_project):
    # demo images live under the project folder: registered relative, so a moved project opens
    moved = tmp_path / "moved"
    shutil.move(demo_project, moved)
    s = Store.open(moved, create=False)
    first = s.images()[0]
    assert not first.file_name.startswith("/") and s.image_path(first).is_file()
    s.close()


def test_add_image_folder_reads_sizes_and_reports_bad_files(tmp_path):
    from annotations.imageio import write_rgb
    import numpy as np
    folder = tmp_path / "imgs"
    write_rgb(folder / "ok.png", np.zeros((7, 9, 3), np.uint8))
    write_rgb(folder / "sub" / "été.jpg", np.zeros((4, 5, 3), np.uint8))
    (folder / "broken.jpg").write_bytes(b"not an image")
    s = Store.open(folder)
    ids, problems = s.add_image_folder(folder)
    assert sorted((r.file_name, r.width, r.height) for r in s.images()) == [("ok.png", 9, 7), ("sub/été.jpg", 5, 4)]
    assert len(ids) == 2 and len(problems) == 1 and "broken.jpg" in problems[0]
    assert s.add_image_folder(folder)[0] == []  # known files are not added twice
    s.close()


def test_bulk_insert_of_100k_annotations_is_fast(store):
    cat, dog, img = _setup(store)
    anns = [Annotation(None, img, cat, bbox=(i % 90, i % 70, 5, 5)) for i in range(100_000)]
    t = time.perf_counter()
    store.add_annotations(anns)
    elapsed = time.perf_counter() - t
    assert store.annotation_count() == 100_000
    assert elapsed < 20, f"bulk insert took {elapsed:.1f}s"


def test_wal_and_foreign_keys_are_on(store):
    c = store._conn()
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_id_filters_select_exactly_those_rows_beyond_one_query_chunk(store):
    cat = store.add_category(Category(None, "x"))
    ids = store.add_images(ImageRecord(None, f"{i}.jpg", 8, 8) for i in range(2000))
    store.add_annotations(Annotation(None, i, cat, bbox=(0, 0, 1, 1)) for i in ids)
    wanted = ids[::2] + [999_999]  # more ids than one IN (...) query takes, and an unknown one
    assert [r.id for r in store.images(ids=wanted)] == ids[::2]
    got = store.annotations(image_ids=wanted)
    assert [a.image_id for a in got] == ids[::2] and [a.id for a in got] == sorted(a.id for a in got)
    assert store.annotations(image_ids=[]) == [] and store.images(ids=[]) == []
