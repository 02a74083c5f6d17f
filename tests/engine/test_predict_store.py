"""The one storing policy (engine/prediction_store.py): kept-out classes, degenerate predictions, run status."""
import os
import subprocess
import sys

import numpy as np
import pytest

from annotations.geometry import encode_mask
from annotations.model import BOX, MASK, PREDICTION, Category, ImageRecord
from annotations.store import Store, StoreError
from engine import run_progress
from engine.prediction_store import accept_run_categories, pending_classes, store_predictions
from engine.predictor import ImagePrediction


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "p")
    s.add_categories([Category(None, "cat"), Category(None, "dog")])
    s.add_images([ImageRecord(None, f"im{i}.png", 40, 30) for i in range(3)])
    yield s
    s.close()


def _run(store) -> int:
    from annotations.model import ModelRun
    return store.add_run(ModelRun(None, "m", "random weights", "predict", {}))


def _boxes(rows):
    return ImagePrediction(np.asarray([r[1] for r in rows], np.float32).reshape(-1, 4),
                           np.asarray([r[2] for r in rows], np.float32), [r[0] for r in rows])


def _mask(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    return encode_mask(m)


def test_classes_the_project_lacks_stay_in_the_run_until_accepted(store):
    run = _run(store)
    ids = store.image_ids()
    pred = _boxes([("cat", (1, 1, 5, 5), 0.9), ("object", (2, 2, 8, 6), 0.8), ("object", (3, 3, 4, 4), 0.7)])
    out = store_predictions(store, run, [(ids[0], pred), (ids[1], _boxes([("object", (0, 0, 9, 9), 0.6)]))], "m")
    assert [c.name for c in store.categories()] == ["cat", "dog"]  # nothing added
    assert out.kept_out == {"object": 3} and len(out.ids) == 1
    (a,) = store.annotations(run_id=run)
    assert (a.category_id, a.kind, a.bbox, a.status, a.source) == (1, BOX, (1, 1, 5, 5), PREDICTION, "m")
    assert pending_classes(store, run) == {"object": 3}
    with pytest.raises(StoreError, match="keeps no predictions of 'person'"):
        accept_run_categories(store, run, ["person"])
    new_ids = accept_run_categories(store, run, ["object"])
    cat = store.category_by_name("object")
    moved = [store.annotation(i) for i in new_ids]
    assert sorted((m.image_id, m.bbox, round(m.score, 3)) for m in moved) == [
        (ids[0], (2, 2, 8, 6), 0.8), (ids[0], (3, 3, 4, 4), 0.7), (ids[1], (0, 0, 9, 9), 0.6)]
    assert all(m.category_id == cat.id and m.run_id == run and m.status == PREDICTION for m in moved)
    assert pending_classes(store, run) == {}


def test_add_categories_creates_them_and_keeps_nothing_out(store):
    run = _run(store)
    out = store_predictions(store, run, [(store.image_ids()[0], _boxes([("object", (1, 1, 5, 5), 0.9)]))], "m",
                            add_categories=True)
    assert out.kept_out == {} and store.category_by_name("object") is not None
    assert pending_classes(store, run) == {}


def test_degenerate_boxes_and_masks_are_never_stored(store):
    run = _run(store)
    image = store.image_ids()[0]
    rows = [("cat", (1, 1, 0, 0), 0.9), ("cat", (1, 1, 1, 0), 0.9), ("cat", (1, 1, 0.5, 7), 0.9),
            ("cat", (1, 1, float("nan"), 3), 0.9), ("object", (1, 1, 0, 3), 0.9), ("cat", (1, 1, 1, 1), 0.8)]
    out = store_predictions(store, run, [(image, _boxes(rows))], "m")
    assert out.degenerate == 5 and out.kept_out == {}
    assert [a.bbox for a in store.annotations(run_id=run)] == [(1, 1, 1, 1)]
    # A mask is judged by its own extent: empty, or a sliver of zero width, goes; one pixel stays.
    masks = [_mask(30, 40, 0, 0, 0, 0), _mask(30, 40, 5, 9, 3, 4), _mask(30, 40, 2, 8, 2, 9)]
    pred = ImagePrediction(np.asarray([[0, 0, 5, 5]] * 3, np.float32), np.asarray([0.9, 0.8, 0.7], np.float32),
                           ["dog"] * 3, masks)
    out = store_predictions(store, run, [(image, pred)], "m")
    assert out.degenerate == 1
    stored = [a for a in store.annotations(run_id=run) if a.kind == MASK]
    assert [round(a.score, 3) for a in stored] == [0.8, 0.7] and [a.area for a in stored] == [4, 42]


def test_replace_drops_the_runs_earlier_predictions_and_kept_rows_of_that_image(store):
    run = _run(store)
    a, b = store.image_ids()[:2]
    store_predictions(store, run, [(a, _boxes([("cat", (1, 1, 5, 5), 0.9), ("object", (1, 1, 5, 5), 0.9)])),
                                   (b, _boxes([("object", (1, 1, 5, 5), 0.9)]))], "m")
    store_predictions(store, run, [(a, _boxes([("dog", (2, 2, 5, 5), 0.5)]))], "m", replace=True)
    assert [(x.image_id, x.category_id) for x in store.annotations(run_id=run)] == [(a, 2)]
    assert pending_classes(store, run) == {"object": 1}  # image b's kept row stays


def test_a_tracked_run_records_missing_images_and_a_dead_owner_reads_incomplete(store):
    run = _run(store)
    ids = store.image_ids()
    assert run_progress.run_status(store, run) is None  # untracked (interactive) runs
    run_progress.begin_run(store, run, ids)
    store_predictions(store, run, [(ids[0], _boxes([("cat", (1, 1, 5, 5), 0.9)])), (ids[1], _boxes([]))], "m")
    status = run_progress.run_status(store, run)
    assert (status.status, status.total, status.missing_ids) == ("running", 3, [ids[2]])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with store.transaction() as c:  # the process that owned the run is gone
        c.execute("UPDATE run_state SET owner=? WHERE run_id=?", (f"{os.uname().nodename}:{dead.stdout.strip()}", run))
    status = run_progress.run_status(store, run)
    assert status.status == "incomplete" and status.missing == 1
    assert "1 of 3 images missing" in status.describe()
    store_predictions(store, run, [(ids[2], _boxes([]))], "m")
    assert run_progress.finish_run(store, run).status == "complete"


def test_a_disk_full_store_raises_a_readable_error_and_keeps_nothing(store):
    run = _run(store)
    run_progress.begin_run(store, run, store.image_ids())
    before = store.annotation_count(None)
    conn = store._conn()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    many = _boxes([("cat", (i % 30, 1, 5, 5), 0.5) for i in range(3000)])
    with pytest.raises(StoreError, match=r"project\.sightline.*disk is full"):
        store_predictions(store, run, [(store.image_ids()[0], many)], "m")
    conn.execute("PRAGMA max_page_count=1073741823")
    assert store.annotation_count(None) == before
    assert run_progress.run_status(store, run).missing == 3
