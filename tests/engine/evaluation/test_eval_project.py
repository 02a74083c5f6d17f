"""evaluate_project reads the store the way the COCO exporter writes it."""
import threading

import numpy as np
import pytest

from annotations.model import ModelRun
from eval_coco_cases import make_case
from engine.evaluation import EvaluationError, evaluate_coco, evaluate_project
from test_eval_cli import store_from_coco


def test_project_evaluation_equals_evaluating_the_exported_files(store):
    from annotations.formats.coco import coco_results, store_to_coco_dict
    gt, dt = make_case(11)
    run = store_from_coco(store, gt, dt)
    mine = evaluate_project(store, run, "bbox", images="all")
    exported_gt, exported_dt = store_to_coco_dict(store), coco_results(store, run, iou_type="bbox")
    exported = evaluate_coco(exported_gt, exported_dt, "bbox")
    np.testing.assert_allclose(mine.stats, exported.stats, atol=1e-12)
    # A run that records nothing about what it saw is scored on every image (as the files would be);
    # an interactive one (the window's "predict this image") on the images it predicted on.
    assert evaluate_project(store, run, "bbox").image_ids == exported.image_ids
    covered = sorted({d["image_id"] for d in dt})
    assert len(covered) < len(gt["images"])
    interactive = store_from_coco(store, {**gt, "annotations": [], "images": [], "categories": []}, dt,
                                  params={"interactive": True})
    default = evaluate_project(store, interactive, "bbox")
    assert default.image_ids == covered
    np.testing.assert_allclose(default.stats, evaluate_coco(exported_gt, exported_dt, "bbox", image_ids=covered).stats,
                               atol=1e-12)
    # Store ids survive, so the per-object view can point at annotations.
    data = mine.extra["data"]
    assert sorted(data.dt_ids) == sorted(a.id for a in store.annotations(run_id=run))
    assert {a["id"] for a in data.gt["annotations"]} == {a["id"] for a in gt["annotations"]}


def test_project_subset_and_bad_runs(store):
    gt, dt = make_case(12)
    run = store_from_coco(store, gt, dt)
    ids = [im["id"] for im in gt["images"]][:10]
    sub = evaluate_project(store, run, "bbox", image_ids=ids, images="all")
    assert sub.image_ids == sorted(ids)
    np.testing.assert_allclose(sub.stats, evaluate_coco(gt, dt, "bbox", image_ids=ids).stats, atol=1e-12)
    with pytest.raises(EvaluationError, match="no model run 77"):
        evaluate_project(store, 77)
    with pytest.raises(EvaluationError, match=r"images \[123456\] are not in the project"):
        evaluate_project(store, run, image_ids=[123456])
    empty_run = store.add_run(ModelRun(None, "nothing"))
    with pytest.raises(EvaluationError, match="has no predictions"):
        evaluate_project(store, empty_run)


def test_training_validation_and_evaluation_build_the_same_ground_truth(store):
    """One builder: training-time validation scores a split exactly as the Evaluation dock does,
    even where the stored areas differ from what the geometry gives (COCO files carry their own)."""
    from engine.evaluation.report import evaluate_project_report
    from engine.training.validation import coco_ground_truth, coco_stats
    gt, dt = make_case(13, crowd=False)
    for a in gt["annotations"][::3]:
        a["area"] = a["area"] * 0.6  # moves some labels across the 32^2 and 96^2 lines
    run = store_from_coco(store, gt, dt)
    val = [im["id"] for im in gt["images"]][::2]
    store.set_split(val, "val")
    ids = store.image_ids("val")
    dock = evaluate_project_report(store, run, "bbox", ids, images="all")
    data = dock.coco.extra["data"]
    cats = [c.id for c in store.categories()]
    training = coco_stats(coco_ground_truth(store, ids, cats), data.dt, "bbox")
    np.testing.assert_allclose(training, dock.coco.stats, atol=1e-12)
    # The stored areas are what both use (the geometry's w*h would give other area-range figures).
    recomputed = dict(data.gt, annotations=[dict(a, area=a["bbox"][2] * a["bbox"][3]) for a in data.gt["annotations"]])
    other = evaluate_coco(recomputed, data.dt, "bbox", image_ids=data.image_ids).stats
    assert np.abs(other - dock.coco.stats).max() > 1e-3


def test_a_cancelled_evaluation_raises_the_one_cancellation_exception(store):
    from annotations.errors import Cancelled, CancelToken
    from engine.evaluation.report import evaluate_project_report
    gt, dt = make_case(14)
    run = store_from_coco(store, gt, dt)
    seen = []

    def progress(done, total, text):
        seen.append(text)
        return len(seen) < 2  # the job is cancelled after its first step
    with pytest.raises(Cancelled):
        evaluate_project_report(store, run, "bbox", progress=progress)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        evaluate_project_report(store, run, "bbox", cancel=token)  # cancelled while matching
    # The COCO evaluator's worker and TIDE's, which run beside matching, were joined.
    assert not [t.name for t in threading.enumerate() if t.name.startswith(("coco-eval", "tide"))]


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_a_projects_columns_are_read_without_type_checks_and_equal_the_checked_ones(store, iou_type):
    from engine.evaluation.columns import read_columns
    from engine.evaluation.project_data import project_to_coco
    gt, dt = make_case(15)
    run = store_from_coco(store, gt, dt)
    data = project_to_coco(store, run, iou_type)
    checked = read_columns(data.gt, data.dt, iou_type)
    assert data.columns is not None and checked is not None
    for name, value in vars(checked).items():
        mine = getattr(data.columns, name)
        assert (mine is None and value is None) or (mine.dtype == value.dtype and np.array_equal(mine, value)), name


@pytest.mark.parametrize("problem", ["score None", "score NaN", "unknown image", "unknown category", "no box",
                                     "box of three", "a box on one mask result"])
def test_columns_of_doubtful_dicts_are_left_to_the_checks(problem):
    from engine.evaluation.columns import known_columns
    iou_type = "segm" if problem == "a box on one mask result" else "bbox"
    gt, dt = make_case(16, masks=iou_type == "segm")
    assert known_columns(gt, dt, iou_type) is not None
    if problem == "score None":
        dt[2]["score"] = None
    elif problem == "score NaN":
        dt[2]["score"] = float("nan")
    elif problem == "unknown image":
        dt[2]["image_id"] = 99999
    elif problem == "unknown category":
        gt["annotations"][1]["category_id"] = 99999
    elif problem == "no box":
        del dt[2]["bbox"]
    elif problem == "box of three":
        gt["annotations"][1]["bbox"] = [1, 2, 3]
    else:
        dt[2]["bbox"] = [1, 2, 3, 4]
    assert known_columns(gt, dt, iou_type) is None


@pytest.mark.parametrize("subset", [None, "few", "most"])
def test_boxes_read_without_outlines_are_the_records_values(store, monkeypatch, subset):
    """A bbox evaluation reads the store's box columns (Store.box_rows) instead of whole records: the
    same ground truth and detections, difficult labels included, for every image, a few (one query
    per chunk of ids) and most of them (one scan, picked in Python); a second run's predictions stay out."""
    from annotations.model import LABEL, PREDICTION
    from annotations.store_counts import IN_CHUNK
    from engine.evaluation import project_data
    gt, dt = make_case(14, n_images=60)
    run = store_from_coco(store, gt, dt)
    store_from_coco(store, {**gt, "annotations": [], "images": [], "categories": []}, dt[:30])  # another run
    labels = store.annotations(status=LABEL)
    for a in labels[::4]:
        a.extra = {**a.extra, "difficult": 1, "note": 2 ** 70}
    labels[1].extra = {"difficult": 0}
    store.update_annotations(labels[::4] + [labels[1]])
    few = store.annotations(run_id=run)[0]
    few.score = None
    store.update_annotation(few)
    ids = {None: None, "few": [im["id"] for im in gt["images"]][::3], "most": [im["id"] for im in gt["images"]][5:]}[subset]
    monkeypatch.setattr("annotations.store_records.IN_CHUNK", 10)  # so that 20 images are "many" here
    fast = project_data.project_to_coco(store, run, "bbox", image_ids=ids, images="all")

    records = {"prediction": store.annotations(status=PREDICTION, run_id=run), "label": store.annotations(status=LABEL)}
    assert {r[0] for r in store.box_rows(PREDICTION, run_id=run)} == {a.id for a in records["prediction"]}
    for status, anns in records.items():
        by_id = {a.id: a for a in anns}
        rows = store.box_rows(status, run_id=run if status == PREDICTION else None, image_ids=ids)
        assert [r[0] for r in rows] == sorted(a.id for a in anns if ids is None or a.image_id in ids)
        for r in rows:
            a = by_id[r[0]]
            assert r[1:] == (a.image_id, a.category_id, *a.bbox, a.area, a.iscrowd, a.score, a.extra or None)
    chosen = set(ids) if ids is not None else {im["id"] for im in gt["images"]}
    want_gt = [{"id": a.id, "image_id": a.image_id, "category_id": a.category_id, "bbox": list(a.bbox),
                "area": float(a.area), "iscrowd": int(a.iscrowd)} for a in records["label"] if a.image_id in chosen]
    assert fast.gt["annotations"] == want_gt
    assert fast.difficult_ids == {a.id for a in records["label"] if a.image_id in chosen and a.extra.get("difficult")}
    want_dt = [({"image_id": a.image_id, "category_id": a.category_id, "score": 1.0 if a.score is None else a.score,
                 "bbox": list(a.bbox)}, a.id) for a in records["prediction"] if a.image_id in chosen]
    assert list(zip(fast.dt, fast.dt_ids)) == want_dt
    assert IN_CHUNK > 10
