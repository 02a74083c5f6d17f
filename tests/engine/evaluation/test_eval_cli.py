"""`main.py evaluate`: pycocotools' table, the per-class table, JSON, projects, and bad input."""
import contextlib
import io
import json

import numpy as np
import pytest

from annotations.model import PREDICTION, Annotation, Category, ImageRecord, ModelRun
from eval_coco_cases import make_case
from main import main
from test_eval_coco_oracle import DATA, oracle

GT = DATA / "instances_val2014_100.json"
BBOX = DATA / "instances_val2014_fakebbox100_results.json"


def pycocotools_lines(gt, dt, iou_type):
    buf = io.StringIO()
    ev = oracle(gt, dt, iou_type)
    with contextlib.redirect_stdout(buf):
        ev.summarize()
    return [ln for ln in buf.getvalue().splitlines() if ln.startswith(" Average")]


def test_files_print_pycocotools_table_and_write_json(capsys, tmp_path):
    out = tmp_path / "res.json"
    assert main(["evaluate", "--gt", str(GT), "--dt", str(BBOX), "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    gt, dt = json.loads(GT.read_text()), json.loads(BBOX.read_text())
    assert printed[:12] == pycocotools_lines(gt, dt, "bbox")
    assert any(ln.startswith("person ") for ln in printed)
    assert any(ln.startswith("VOC mAP@0.50") for ln in printed)
    data = json.loads(out.read_text())
    assert data["stats"]["AP@100"] == pytest.approx(0.504581, abs=1e-6)
    person = next(r for r in data["per_class"] if r["name"] == "person")
    assert person["num_gt"] == 250 and 0 < person["ap"] < 1
    assert data["per_class"][10]["ap"] == -1  # fire hydrant: no labels in this subset


def test_segm_table(capsys):
    segm = DATA / "instances_val2014_fakesegm100_results.json"
    assert main(["evaluate", "--gt", str(GT), "--dt", str(segm), "--iou-type", "segm"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:12] == pycocotools_lines(json.loads(GT.read_text()), json.loads(segm.read_text()), "segm")


@pytest.mark.parametrize("problem, words", [
    ("unknown_image", "is for image 424242"),
    ("unknown_category", "has category 4242"),
    ("empty", "the file is empty"),
    ("not_json", "not valid JSON"),
    ("segm_for_boxes", "no RLE 'segmentation'"),
    ("swapped", "swapped"),
])
def test_bad_input_one_line_exit_2(problem, words, tmp_path, capsys):
    dt_path, gt_path, iou = tmp_path / "dt.json", GT, "bbox"
    dt = json.loads(BBOX.read_text())
    if problem == "unknown_image":
        dt[3]["image_id"] = 424242
    elif problem == "unknown_category":
        dt[3]["category_id"] = 4242
    if problem == "empty":
        dt_path.write_text("")
    elif problem == "not_json":
        dt_path.write_text("[{")
    else:
        dt_path.write_text(json.dumps(dt))
    if problem == "segm_for_boxes":
        iou = "segm"
    if problem == "swapped":
        gt_path, dt_path = dt_path, GT
    rc = main(["evaluate", "--gt", str(gt_path), "--dt", str(dt_path), "--iou-type", iou])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0]
    assert str(dt_path if problem != "swapped" else gt_path) in err[0]


def store_from_coco(store, gt, dt, model="toy", params=None):
    """Put a COCO case into a project, keeping its ids; returns the run id (run params: params)."""
    store.add_categories(Category(c["id"], c["name"]) for c in gt["categories"])
    store.add_images(ImageRecord(im["id"], im["file_name"], im["width"], im["height"]) for im in gt["images"])
    store.add_annotations(Annotation(a["id"], a["image_id"], a["category_id"], bbox=tuple(a["bbox"]),
                                     area=a["area"], iscrowd=a["iscrowd"]) for a in gt["annotations"])
    run_id = store.add_run(ModelRun(None, model, params=params or {}))
    store.add_annotations(Annotation(None, d["image_id"], d["category_id"], bbox=tuple(d["bbox"]), score=d["score"],
                                     status=PREDICTION, source=model, run_id=run_id) for d in dt)
    return run_id


def test_project_run_matches_pycocotools_on_the_same_data(store, capsys, tmp_path):
    gt, dt = make_case(7)
    run_id = store_from_coco(store, gt, dt)
    root = store.root
    store.close()
    out = tmp_path / "p.json"
    assert main(["evaluate", "--project", str(root), "--model-run", str(run_id), "--json", str(out)]) == 0
    ev = oracle(gt, dt, "bbox")
    stats = list(json.loads(out.read_text())["stats"].values())
    np.testing.assert_allclose(stats, ev.stats, atol=1e-6)
    assert capsys.readouterr().out.splitlines()[:12] == pycocotools_lines(gt, dt, "bbox")
    assert main(["evaluate", "--project", str(root), "--model-run", "99"]) == 2
    assert "no model run 99" in capsys.readouterr().err
    assert main(["evaluate", "--project", str(tmp_path / "nothing"), "--model-run", "1"]) == 2
    assert main(["evaluate", "--project", str(root)]) == 2
    assert main(["evaluate", "--gt", str(GT)]) == 2


def test_project_segm_uses_box_masks(store, capsys):
    """Boxes evaluated as masks: their masks are the boxes' pixels, as pycocotools rasterises
    the box polygons; results carry no bbox, so their area is the mask's."""
    from eval_coco_cases import _rect, _rle
    gt, dt = make_case(8, crowd=False)
    run_id = store_from_coco(store, gt, dt)
    root = store.root
    store.close()
    assert main(["evaluate", "--project", str(root), "--model-run", str(run_id), "--iou-type", "segm"]) == 0
    printed = capsys.readouterr().out.splitlines()
    dt_masks = [{"image_id": d["image_id"], "category_id": d["category_id"], "score": d["score"],
                 "segmentation": _rle(_rect(*d["bbox"]))} for d in dt]
    assert printed[:12] == pycocotools_lines(gt, dt_masks, "segm")
