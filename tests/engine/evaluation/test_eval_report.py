"""`main.py evaluate` and the report: which images were scored, difficult labels, classes without
labels, VOC AP on masks, and the JSON holding what the window shows."""
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from eval_coco_cases import NO_GT_CAT, make_case
from engine.evaluation.report import evaluate_files_report
from engine.evaluation.voc import evaluate_voc_both
from main import main
from test_eval_cli import store_from_coco


def run_cli(args, capsys):
    rc = main(["evaluate", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("record", ["interactive", "image_ids"])
def test_a_run_that_saw_one_image_is_scored_on_that_image(store, tmp_path, capsys, record):
    """The window's one-image run (interactive) or a run that lists its images is scored on them."""
    gt, dt = make_case(7)
    one = next(d["image_id"] for d in dt if any(a["image_id"] == d["image_id"] for a in gt["annotations"]))
    params = {"interactive": True} if record == "interactive" else {"image_ids": [one]}
    run = store_from_coco(store, gt, [d for d in dt if d["image_id"] == one], params=params)
    root = store.root
    store.close()
    out = tmp_path / "r.json"
    rc, text, _ = run_cli(["--project", str(root), "--model-run", str(run), "--json", str(out)], capsys)
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["images"] == 1
    n = len(gt["images"])
    assert data["image_set"].startswith(f"the 1 image run #{run} covers (")
    assert data["image_set"].endswith(f"of {n} in the project; the other {n - 1} are left out")
    assert data["image_set_short"] == f"1 of {n} images, those run #{run} covers"  # the window's status line
    assert f"Images: the 1 image run #{run} covers" in text
    labels_there = sum(1 for a in gt["annotations"] if a["image_id"] == one and not a["iscrowd"])
    at = data["at_threshold"]
    assert at["tp"] + at["fn"] == labels_there
    # Asked for, every image: the other images' labels are all missed.
    rc, text, _ = run_cli(["--project", str(root), "--model-run", str(run), "--all-images", "--json", str(out)], capsys)
    data = json.loads(out.read_text())
    assert rc == 0 and data["images"] == n
    assert f"not covered by run #{run}" in data["image_set"]
    assert data["stats"]["AP@100"] < 0.2


def test_a_run_that_records_nothing_is_scored_on_every_image(store):
    """Imported results and older runs say nothing about what they saw: every image, and the text says why."""
    from engine.evaluation.report import evaluate_project_report
    gt, dt = make_case(7)
    run = store_from_coco(store, gt, [d for d in dt if d["image_id"] == dt[0]["image_id"]])
    report = evaluate_project_report(store, run)
    assert len(report.coco.image_ids) == len(gt["images"])
    assert report.image_set == f"all {len(gt['images'])} images of the project (run #{run} does not record which " \
                               "images it saw)"


def test_difficult_labels_are_left_out_on_every_side_of_a_files_report():
    """VOC AP and the TP/FP/FN counts agree on what is a positive when a file marks "difficult": 1."""
    gt, dt = make_case(3, crowd=False)
    hard = gt["annotations"][::4]
    for a in hard:
        a["difficult"] = 1
    report = evaluate_files_report(gt, dt)
    c = report.matches.at(0.0)
    positives = {v.category_id: v.num_positives for v in report.voc.per_class}
    for k, cat in enumerate(report.matches.cat_ids):
        assert c.tp[k] + c.fn[k] == positives[cat]
    hard_ids = {a["id"] for a in hard}
    assert not hard_ids & {o.gt_id for o in report.matches.false_negatives(0.0)}
    assert not hard_ids & {o.gt_id for o in report.matches.labels(0.0)}
    # A detection on a difficult label is neither a TP nor an FP (as in VOC).
    on_hard = {o.gt_id for o in report.matches.predictions(0.0) if o.kind == "TP"}
    assert not hard_ids & on_hard


def test_a_class_without_labels_has_no_best_threshold(tmp_path, capsys):
    gt, dt = make_case(0)
    g, d, out = tmp_path / "gt.json", tmp_path / "dt.json", tmp_path / "r.json"
    g.write_text(json.dumps(gt))
    d.write_text(json.dumps(dt))
    rc, text, _ = run_cli(["--gt", str(g), "--dt", str(d), "--json", str(out)], capsys)
    assert rc == 0
    rows = {r["category_id"]: r for r in json.loads(out.read_text())["per_class"]}
    assert rows[NO_GT_CAT]["num_dt"] > 0 and rows[NO_GT_CAT]["best_threshold"] is None
    assert all(r["best_threshold"] is not None for c, r in rows.items() if r["num_gt"] and r["num_dt"])
    line = next(ln for ln in text.splitlines() if ln.startswith(f"class{NO_GT_CAT} "))
    assert line.split()[7] == "-"  # the @score column


def _rle(m):
    r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": r["size"], "counts": r["counts"].decode("ascii")}


def test_segm_voc_ap_is_computed_on_masks():
    """A prediction whose box equals the label's but whose mask covers the other half: a TP on
    boxes, an FP on masks; the segm report's VOC AP is the masks' (0), and says so."""
    h = w = 40
    label = np.zeros((h, w), bool)
    label[5:25, 5:15] = True
    label[5, 24] = True  # widens the box to x 5..25
    pred = np.zeros((h, w), bool)
    pred[5:25, 15:25] = True
    pred[24, 5] = True
    gt = {"images": [{"id": 1, "width": w, "height": h}], "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": _rle(label),
                           "area": float(label.sum()), "bbox": [5.0, 5.0, 20.0, 20.0]}]}
    dt = [{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": _rle(pred)}]
    report = evaluate_files_report(gt, dt, "segm")
    assert report.voc_on == "masks" and report.voc.map == 0.0
    boxes = [{"image_id": 1, "category_id": 1, "score": 0.9,
              "bbox": mask_utils.toBbox(dict(_rle(pred), counts=_rle(pred)["counts"].encode())).tolist()}]
    assert evaluate_voc_both(gt, boxes)[0].map == 1.0  # what a box-based VOC AP would have said
    assert report.to_dict()["voc_on"] == "masks"


def test_json_holds_curves_counts_confusion_and_tide(tmp_path, capsys):
    gt, dt = make_case(5)
    g, d, out = tmp_path / "gt.json", tmp_path / "dt.json", tmp_path / "r.json"
    g.write_text(json.dumps(gt))
    d.write_text(json.dumps(dt))
    rc, text, _ = run_cli(["--gt", str(g), "--dt", str(d), "--json", str(out), "--score-threshold", "0.6"], capsys)
    assert rc == 0
    data = json.loads(out.read_text())
    report = evaluate_files_report(gt, dt)
    # PR curves: COCO's precision array at IoU 0.5 and 0.75 (null where undefined).
    pr = {(c["iou"], c["category_id"]): c for c in data["pr_curves"]}
    assert {iou for iou, _ in pr} == {0.5, 0.75}
    k = 1
    cat = report.coco.cat_ids[k]
    want = report.coco.precision[0, :, k, 0, -1]
    np.testing.assert_allclose(pr[(0.5, cat)]["precision"], want, atol=1e-12)
    assert pr[(0.5, NO_GT_CAT)]["precision"][0] is None and pr[(0.5, NO_GT_CAT)]["ap"] is None
    assert pr[(0.5, None)]["ap"] == pytest.approx(report.coco.stats[1], abs=1e-12)
    # F1 curves, per class and pooled.
    f1 = {c["category_id"]: c for c in data["f1_curves"]}
    np.testing.assert_allclose(f1[None]["f1"], report.curves[None].f1, atol=1e-12)
    # Counts and the confusion matrix at the asked threshold.
    at = data["at_threshold"]
    c = report.matches.at(0.6)
    assert at["score_threshold"] == 0.6 and (at["tp"], at["fp"], at["fn"]) == c.totals
    assert at["confusion"]["matrix"] == c.confusion.tolist()
    assert at["confusion"]["labels"][-1] == "background"
    assert [r["tp"] for r in at["per_class"]] == c.tp.tolist()
    # TIDE, in the JSON and the text.
    assert set(data["tide"]["errors"]) == {"classification", "localisation", "both", "duplicate", "background",
                                           "missed"}
    assert data["tide"]["errors"]["missed"]["count"] == report.tide.counts["missed"] > 0
    assert "TIDE errors" in text and "dAP" in text
    assert "Images: all 40 images of" in text


def test_difficult_labels_through_the_cli_files_path(tmp_path, capsys):
    """`main.py evaluate --gt --dt --json`: a label with "difficult": 1 is no positive for the
    TP/FP/FN counts (at every threshold: TP + FN is the count of plain labels), as for VOC AP."""
    gt, dt = make_case(3, crowd=False)
    for a in gt["annotations"][::4]:
        a["difficult"] = 1
    plain = {}
    for a in gt["annotations"]:
        if not a.get("difficult"):
            plain[a["category_id"]] = plain.get(a["category_id"], 0) + 1
    g, d, out = tmp_path / "gt.json", tmp_path / "dt.json", tmp_path / "r.json"
    g.write_text(json.dumps(gt))
    d.write_text(json.dumps(dt))
    for threshold in ("0.0", "0.6"):
        rc, _, _ = run_cli(["--gt", str(g), "--dt", str(d), "--json", str(out), "--score-threshold", threshold],
                           capsys)
        assert rc == 0
        data = json.loads(out.read_text())
        got = {r["category_id"]: r["tp"] + r["fn"] for r in data["at_threshold"]["per_class"]}
        assert got == {c: plain.get(c, 0) for c in got} and sum(got.values()) == sum(plain.values())
        assert {c["category_id"]: c["num_gt"] for c in data["f1_curves"] if c["category_id"] is not None} == got
