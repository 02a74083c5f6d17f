"""`main.py evaluate` on a ground truth without labels (files and project): the whole report, with
every figure as pycocotools gives it (-1), each detection a false positive and a TIDE background
error, and no best threshold."""
import json

import numpy as np

from main import main
from test_eval_cli import pycocotools_lines, store_from_coco
from test_eval_coco_oracle import oracle


def _case():
    gt = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
                     {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80}],
          "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}], "annotations": []}
    dt = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
          {"image_id": 2, "category_id": 2, "bbox": [5, 5, 30, 30], "score": 0.4},
          {"image_id": 2, "category_id": 1, "bbox": [50, 40, 10, 10], "score": 0.7}]
    return gt, dt


def _check(out_json, printed, gt, dt):
    data = json.loads(out_json.read_text())
    ev = oracle(gt, dt, "bbox")
    np.testing.assert_allclose(list(data["stats"].values()), ev.stats, atol=1e-9)
    assert list(ev.stats) == [-1.0] * 12
    assert printed[:12] == pycocotools_lines(gt, dt, "bbox")
    assert [(r["name"], r["num_gt"], r["num_dt"], r["ap"], r["best_threshold"]) for r in data["per_class"]] == [
        ("cat", 0, 2, -1.0, None), ("dog", 0, 1, -1.0, None)]
    assert data["best_f1"] == {"f1": 0.0, "threshold": None}
    at = data["at_threshold"]  # the default threshold (0.5 without a best one): two detections over it
    assert (at["tp"], at["fp"], at["fn"]) == (0, 2, 0)
    tide = data["tide"]["errors"]
    assert tide["background"]["count"] == 3 and data["tide"]["ap"] == 0.0
    assert all(tide[k]["count"] == 0 for k in tide if k != "background")
    assert not any(ln.startswith("Best F1") for ln in printed)
    assert any(ln.startswith("TIDE errors") for ln in printed)


def test_files_without_labels(tmp_path, capsys):
    gt, dt = _case()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    out = tmp_path / "res.json"
    assert main(["evaluate", "--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json"),
                 "--json", str(out)]) == 0
    _check(out, capsys.readouterr().out.splitlines(), gt, dt)


def test_project_with_predictions_and_no_labels(store, tmp_path, capsys):
    gt, dt = _case()
    run_id = store_from_coco(store, gt, dt)
    root = store.root
    store.close()
    out = tmp_path / "res.json"
    assert main(["evaluate", "--project", str(root), "--model-run", str(run_id), "--all-images",
                 "--json", str(out)]) == 0
    _check(out, capsys.readouterr().out.splitlines(), gt, dt)
