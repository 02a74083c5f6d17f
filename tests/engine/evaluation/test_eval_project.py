"""evaluate_project reads the store the way the COCO exporter writes it."""
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
    mine = evaluate_project(store, run, "bbox")
    exported = evaluate_coco(store_to_coco_dict(store), coco_results(store, run, iou_type="bbox"), "bbox")
    np.testing.assert_allclose(mine.stats, exported.stats, atol=1e-12)
    # Store ids survive, so the per-object view can point at annotations.
    data = mine.extra["data"]
    assert sorted(data.dt_ids) == sorted(a.id for a in store.annotations(run_id=run))
    assert {a["id"] for a in data.gt["annotations"]} == {a["id"] for a in gt["annotations"]}


def test_project_subset_and_bad_runs(store):
    gt, dt = make_case(12)
    run = store_from_coco(store, gt, dt)
    ids = [im["id"] for im in gt["images"]][:10]
    sub = evaluate_project(store, run, "bbox", image_ids=ids)
    assert sub.image_ids == sorted(ids)
    np.testing.assert_allclose(sub.stats, evaluate_coco(gt, dt, "bbox", image_ids=ids).stats, atol=1e-12)
    with pytest.raises(EvaluationError, match="no model run 77"):
        evaluate_project(store, 77)
    with pytest.raises(EvaluationError, match=r"images \[123456\] are not in the project"):
        evaluate_project(store, run, image_ids=[123456])
    empty_run = store.add_run(ModelRun(None, "nothing"))
    with pytest.raises(EvaluationError, match="has no predictions"):
        evaluate_project(store, empty_run)
