"""evaluate_coco against bare pycocotools: every array and figure to 1e-12, for every backend."""
import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from eval_coco_cases import NO_DETECTIONS_CAT, NO_GT_CAT, make_case
from engine.evaluation import EvaluationError, evaluate_coco

DATA = Path(__file__).resolve().parents[2] / "data" / "coco_val2014_100"
README_STATS = {  # tests/data/coco_val2014_100/README.md, pycocotools 2.0.11
    "bbox": [0.504581, 0.696973, 0.572982, 0.585626, 0.519400, 0.501398,
             0.386813, 0.593680, 0.595353, 0.639811, 0.566421, 0.564291],
    "segm": [0.319545, 0.562288, 0.298927, 0.387374, 0.310183, 0.326934,
             0.268230, 0.415449, 0.416839, 0.469450, 0.376759, 0.381472],
}
BACKENDS = ("hotcoco", "pycocotools", "faster", "ultrafast")


def oracle(gt, dt, iou_type, image_ids=None, max_dets=(1, 10, 100)):
    """Bare pycocotools, on deep copies, as its README uses it."""
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO()
        cg.dataset = copy.deepcopy(gt)
        cg.createIndex()
        cd = cg.loadRes(copy.deepcopy(dt))
        ev = COCOeval(cg, cd, iou_type)
        if image_ids is not None:
            ev.params.imgIds = list(image_ids)
        ev.params.maxDets = list(max_dets)
        ev.evaluate()
        ev.accumulate()
        if len(max_dets) == 3:
            ev.summarize()
    return ev


def mean_defined(s):
    s = s[s > -1]
    return float(s.mean()) if len(s) else -1.0


def expected_stats(ev):
    """The 12 figures from pycocotools' arrays, taking maxDets[-1] where summarize() assumes 100."""
    P, R, p = ev.eval["precision"], ev.eval["recall"], ev.params
    t50, t75 = list(p.iouThrs).index(0.5), list(p.iouThrs).index(0.75)
    out = [mean_defined(P[:, :, :, 0, -1]), mean_defined(P[t50, :, :, 0, -1]), mean_defined(P[t75, :, :, 0, -1])]
    out += [mean_defined(P[:, :, :, a, -1]) for a in (1, 2, 3)]
    out += [mean_defined(R[:, :, 0, m]) for m in range(len(p.maxDets))]
    out += [mean_defined(R[:, :, a, -1]) for a in (1, 2, 3)]
    return np.array(out)


def assert_matches_oracle(res, ev):
    np.testing.assert_allclose(res.precision, ev.eval["precision"], atol=1e-12, rtol=0)
    np.testing.assert_allclose(res.recall, ev.eval["recall"], atol=1e-12, rtol=0)
    np.testing.assert_allclose(res.scores, ev.eval["scores"], atol=1e-12, rtol=0)
    np.testing.assert_allclose(res.stats, expected_stats(ev), atol=1e-12, rtol=0)
    if len(ev.params.maxDets) == 3 and ev.params.maxDets[2] == 100:
        np.testing.assert_allclose(res.stats, ev.stats, atol=1e-12, rtol=0)
    P, R = ev.eval["precision"], ev.eval["recall"]
    for k, c in enumerate(res.per_class):
        assert c.category_id == ev.params.catIds[k]
        assert c.ap == pytest.approx(mean_defined(P[:, :, k, 0, -1]), abs=1e-12)
        assert c.ap50 == pytest.approx(mean_defined(P[0, :, k, 0, -1]), abs=1e-12)
        assert c.ap75 == pytest.approx(mean_defined(P[5, :, k, 0, -1]), abs=1e-12)
        assert c.ar == pytest.approx(mean_defined(R[:, k, 0, -1]), abs=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_coco_val2014_100_matches_readme_and_pycocotools(backend, iou_type):
    gt = json.loads((DATA / "instances_val2014_100.json").read_text())
    kind = "fakebbox" if iou_type == "bbox" else "fakesegm"
    dt = json.loads((DATA / f"instances_val2014_{kind}100_results.json").read_text())
    res = evaluate_coco(gt, dt, iou_type, backend=backend)
    np.testing.assert_allclose(res.stats, README_STATS[iou_type], atol=5e-7)
    assert_matches_oracle(res, oracle(gt, dt, iou_type))
    assert res.stat_lines[0].startswith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]")
    # The caller's results are left as they were (loadRes writes into its input).
    assert "id" not in dt[0] and "area" not in dt[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_coco_val2014_100_subset_and_custom_max_dets(backend):
    gt = json.loads((DATA / "instances_val2014_100.json").read_text())
    dt = json.loads((DATA / "instances_val2014_fakebbox100_results.json").read_text())
    subset = sorted(img["id"] for img in gt["images"])[::3]
    res = evaluate_coco(gt, dt, "bbox", image_ids=subset, max_dets=(1, 5, 20), backend=backend)
    ev = oracle(gt, dt, "bbox", subset, (1, 5, 20))
    assert_matches_oracle(res, ev)
    # pycocotools' own summarize() is right from stats[1] on, but its stats[0] looks for maxDets=100.
    np.testing.assert_allclose(res.stats[1:], ev.stats[1:], atol=1e-12)
    assert ev.stats[0] == -1 and res.stats[0] > 0
    assert res.stat_names[:3] == ["AP@20", "AP50@20", "AP75@20"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("masks", [False, True], ids=["bbox", "segm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_edge_cases_match_pycocotools(backend, masks, seed):
    gt, dt = make_case(seed, masks=masks)
    iou_type = "segm" if masks else "bbox"
    # The case really holds what it claims to.
    assert any(a["iscrowd"] for a in gt["annotations"])
    assert {1024.0, 9216.0} <= {a["area"] for a in gt["annotations"]}
    assert NO_DETECTIONS_CAT not in {d["category_id"] for d in dt}
    assert NO_GT_CAT not in {a["category_id"] for a in gt["annotations"]}
    labelled = {a["image_id"] for a in gt["annotations"]}
    assert any(d["image_id"] not in labelled for d in dt)
    scores = [d["score"] for d in dt]
    assert len(set(scores)) < len(scores) / 5

    res = evaluate_coco(gt, dt, iou_type, backend=backend)
    assert_matches_oracle(res, oracle(gt, dt, iou_type))
    by_id = {c.category_id: c for c in res.per_class}
    assert by_id[NO_GT_CAT].ap == -1 and by_id[NO_DETECTIONS_CAT].ap == 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("max_dets", [(1, 10, 100), (2, 3, 4), (1,), (1, 2, 3, 50)])
def test_generated_subset_and_max_dets(backend, max_dets):
    gt, dt = make_case(5)
    subset = [img["id"] for img in gt["images"]][1::2]
    res = evaluate_coco(gt, dt, "bbox", image_ids=subset, max_dets=max_dets, backend=backend)
    assert_matches_oracle(res, oracle(gt, dt, "bbox", subset, max_dets))
    assert len(res.stats) == 9 + len(max_dets)


def test_pr_curve_reads_the_precision_array():
    gt, dt = make_case(3)
    res = evaluate_coco(gt, dt, "bbox", backend="pycocotools")
    ev = oracle(gt, dt, "bbox")
    k = 1
    cat = ev.params.catIds[k]
    for iou, t in ((0.5, 0), (0.75, 5), (0.95, 9)):
        curve = res.pr_curve(cat, iou=iou)
        np.testing.assert_allclose(curve.precision, ev.eval["precision"][t, :, k, 0, -1], atol=1e-12)
        np.testing.assert_allclose(curve.scores, ev.eval["scores"][t, :, k, 0, -1], atol=1e-12)
        np.testing.assert_allclose(curve.recall, ev.params.recThrs)
    overall = res.pr_curve(None, iou=0.5)
    p = ev.eval["precision"][0, :, :, 0, -1]
    defined = p[0] > -1
    np.testing.assert_allclose(overall.precision, p[:, defined].mean(1), atol=1e-9)
    assert overall.ap == pytest.approx(res.stats[1], abs=1e-9)
    # Scores fall as recall rises along a class's curve; points past the reach are cut off.
    reached = res.pr_curve(cat, iou=0.5).reached()
    assert np.all(np.diff(reached.scores) <= 1e-12) and reached.precision[-1] > 0
    with pytest.raises(EvaluationError, match="0.52"):
        res.pr_curve(cat, iou=0.52)


def test_bad_input_is_named():
    gt, dt = make_case(0)
    cases = [
        (dt + [{"image_id": 99999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}], "image 99999"),
        (dt + [{"image_id": 3, "category_id": 4242, "bbox": [0, 0, 1, 1], "score": 0.5}], "category 4242"),
        ([], "no detections"),
        ([{"image_id": 13, "category_id": 1, "score": 0.5}], "entry 0 has no 'bbox'"),
    ]
    for bad, words in cases:
        with pytest.raises(EvaluationError, match=words):
            evaluate_coco(gt, bad, "bbox")
    with pytest.raises(EvaluationError, match="RLE 'segmentation'"):
        evaluate_coco(gt, dt, "segm")
    with pytest.raises(EvaluationError, match="swapped"):
        evaluate_coco(dt, gt, "bbox")
    with pytest.raises(EvaluationError, match="not in the ground truth"):
        evaluate_coco(gt, dt, "bbox", image_ids=[1, 2])


@pytest.mark.parametrize("backend", BACKENDS)
def test_numpy_scalars_are_accepted(backend):
    """Results built from arrays (as a training loop makes them) carry numpy numbers."""
    gt, dt = make_case(2)
    np_dt = [{"image_id": np.int64(d["image_id"]), "category_id": np.int64(d["category_id"]),
              "bbox": [np.float32(v) for v in d["bbox"]], "score": np.float32(d["score"])} for d in dt]
    a = evaluate_coco(gt, dt, "bbox", backend="pycocotools").stats
    b = evaluate_coco(gt, np_dt, "bbox", backend=backend).stats
    np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_segm_ground_truth_as_compressed_rle_and_polygons(backend):
    """Labels as polygons, as compressed RLE (string counts) and as uncompressed RLE (crowd), mixed."""
    from pycocotools import mask as mask_utils
    gt, dt = make_case(7, masks=True)
    h, w = gt["images"][0]["height"], gt["images"][0]["width"]
    for a in gt["annotations"][::2]:
        if isinstance(a["segmentation"], list):
            r = mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], h, w))
            a["segmentation"] = {"size": r["size"], "counts": r["counts"].decode("ascii")}
    kinds = {type(a["segmentation"]).__name__ + str(type(a["segmentation"].get("counts")).__name__
                                                     if isinstance(a["segmentation"], dict) else "")
             for a in gt["annotations"]}
    assert kinds == {"list", "dictstr", "dictlist"}
    res = evaluate_coco(gt, dt, "segm", backend=backend)
    assert_matches_oracle(res, oracle(gt, dt, "segm"))


def test_hotcoco_is_the_default_and_every_backend_can_be_asked_for():
    gt, dt = make_case(1)
    assert evaluate_coco(gt, dt, "bbox").backend == "hotcoco"
    for backend in ("pycocotools", "faster"):
        res = evaluate_coco(gt, dt, "bbox", backend=backend)
        assert res.backend == backend
        assert_matches_oracle(res, oracle(gt, dt, "bbox"))
