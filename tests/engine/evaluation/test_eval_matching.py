"""Per-object matching, confusion matrix and F1 curves on a hand-made case, worked out by hand."""
import numpy as np
import pytest

from eval_coco_cases import make_case
from engine.evaluation import evaluate_coco
from engine.evaluation.curves import confidence_curves
from engine.evaluation.matching import match_objects

A, B = 1, 2  # categories; confusion index 0 = A, 1 = B, 2 = background


def box(x, y=0, w=10, h=10):
    return [float(x), float(y), float(w), float(h)]


def hand_case():
    gt = {
        "images": [{"id": 1, "width": 200, "height": 200}, {"id": 2, "width": 200, "height": 200}],
        "categories": [{"id": A, "name": "a"}, {"id": B, "name": "b"}],
        "annotations": [
            {"id": 11, "image_id": 1, "category_id": A, "bbox": box(0), "area": 100, "iscrowd": 0},
            {"id": 12, "image_id": 1, "category_id": A, "bbox": box(20), "area": 100, "iscrowd": 0},
            {"id": 13, "image_id": 1, "category_id": B, "bbox": box(40), "area": 100, "iscrowd": 0},
            {"id": 14, "image_id": 1, "category_id": B, "bbox": box(60), "area": 100, "iscrowd": 0},
            {"id": 15, "image_id": 1, "category_id": A, "bbox": box(80, 0, 20, 20), "area": 400, "iscrowd": 1},
        ],
    }
    dt = [  # (id, image, class, box, score) and what each must become
        (101, 1, A, box(0), 0.9),      # TP on 11, IoU 1
        (102, 1, A, box(1), 0.8),      # duplicate of 11: IoU 90/110
        (103, 1, A, box(40), 0.7),     # wrong class on 13 (B), confuses it
        (104, 1, B, box(40), 0.6),     # TP on 13
        (105, 1, A, box(25), 0.5),     # low IoU on 12: 50/150
        (106, 1, B, box(150, 150), 0.4),  # background
        (107, 1, A, box(85, 5, 5, 5), 0.3),  # inside the crowd region: ignored
        (108, 1, B, box(20), 0.2),     # wrong class on 12 (A), which nothing else finds
        (109, 2, A, box(0), 0.95),     # image without labels: background
    ]
    results = [{"image_id": i, "category_id": c, "bbox": b, "score": s} for _, i, c, b, s in dt]
    return gt, results, [d[0] for d in dt]


def outcome_by_pred(lst):
    return {o.pred_id: o for o in lst}


def test_each_prediction_gets_its_reason():
    gt, dt, ids = hand_case()
    m = match_objects(gt, dt, iou=0.5, dt_ids=ids)
    fps = outcome_by_pred(m.false_positives(0.0))
    assert {k: v.reason for k, v in fps.items()} == {
        102: "duplicate", 103: "wrong_class", 105: "low_iou", 106: "background", 108: "wrong_class",
        109: "background"}
    assert fps[102].gt_id == 11 and fps[102].iou == pytest.approx(90 / 110)
    assert fps[105].gt_id == 12 and fps[105].iou == pytest.approx(50 / 150)
    assert fps[103].gt_id == 13 and fps[108].gt_id == 12
    tps = outcome_by_pred(m.true_positives(0.0))
    assert {k: v.gt_id for k, v in tps.items()} == {101: 11, 104: 13}
    assert 107 not in fps and 107 not in tps  # crowd: neither
    fns = m.false_negatives(0.0)
    assert sorted(o.gt_id for o in fns) == [12, 14]
    fn12 = next(o for o in fns if o.gt_id == 12)
    assert fn12.pred_id == 105 and fn12.iou == pytest.approx(50 / 150)  # its best same-class overlap


def test_confusion_matrix_and_counts_at_two_thresholds():
    gt, dt, ids = hand_case()
    m = match_objects(gt, dt, iou=0.5, dt_ids=ids)
    # s = 0.65 keeps 109, 101, 102, 103: 13 is still unmatched, so 103 sits in (B, A).
    c = m.at(0.65)
    np.testing.assert_array_equal(c.confusion, [[1, 0, 1],
                                                [1, 0, 1],
                                                [2, 0, 0]])
    assert list(c.tp) == [1, 0] and list(c.fp) == [3, 0] and list(c.fn) == [1, 2]
    # s = 0: 104 matches 13, so 103 moves to the background row; 108 confuses 12 -> (A, B).
    c = m.at(0.0)
    np.testing.assert_array_equal(c.confusion, [[1, 1, 0],
                                                [0, 1, 1],
                                                [4, 1, 0]])
    assert list(c.tp) == [1, 1] and list(c.fp) == [4, 2] and list(c.fn) == [1, 1]
    assert c.f1[0] == pytest.approx(2 * 1 / (2 * 1 + 4 + 1))
    # Rows sum to the labels (crowd left out), columns to the kept predictions (crowd-covered left out).
    assert list(c.confusion[:2].sum(1)) == [2, 2]
    assert list(c.confusion[:, :2].sum(0)) == [5, 3]
    # A cell lists exactly its objects.
    assert sorted(o.pred_id for o in m.cell(2, 0, 0.65)) == [102, 109]
    cell = m.cell(1, 0, 0.65)
    assert [(o.pred_id, o.gt_id) for o in cell] == [(103, 13)]
    assert [o.gt_id for o in m.cell(1, 2, 0.0)] == [14]
    assert [o.pred_id for o in m.cell(0, 0, 0.0)] == [101]


def test_f1_curve_and_best_threshold():
    gt, dt, ids = hand_case()
    curves = confidence_curves(match_objects(gt, dt, iou=0.5, dt_ids=ids))
    a = curves[A]
    # Class A, by falling score: 109 FP, 101 TP, 102 FP, 103 FP, 105 FP; two labels.
    np.testing.assert_allclose(a.thresholds, [0.95, 0.9, 0.8, 0.7, 0.5])
    np.testing.assert_allclose(a.f1, [0, 2 / 4, 2 / 5, 2 / 6, 2 / 7])
    np.testing.assert_allclose(a.precision, [0, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    np.testing.assert_allclose(a.recall, [0, 0.5, 0.5, 0.5, 0.5])
    assert a.best_threshold == 0.9 and a.best_f1 == pytest.approx(0.5)
    b = curves[B]
    np.testing.assert_allclose(b.f1, [2 / 3, 2 / 4, 2 / 5])
    assert b.best_threshold == 0.6


def test_tied_scores_enter_together():
    gt, dt, ids = hand_case()
    for d in dt:
        d["score"] = 0.5
    curve = confidence_curves(match_objects(gt, dt, iou=0.5, dt_ids=ids))[None]
    assert list(curve.thresholds) == [0.5]


def test_counts_agree_with_coco_true_positives_on_generated_case():
    """At one IoU and no crowd, COCO's matching (area all, maxDets high) finds as many TPs per class
    as this matcher: the recall COCO reports at that IoU is TP / labels."""
    gt, dt = make_case(4, crowd=False)
    res = evaluate_coco(gt, dt, "bbox", max_dets=(1, 10, 1000), backend="pycocotools")
    m = match_objects(gt, dt, iou=0.5)
    counts = m.at(0.0)
    for k in range(len(res.cat_ids)):
        n = counts.tp[k] + counts.fn[k]
        coco_recall = res.recall[0, k, 0, -1]
        if n == 0:
            assert coco_recall == -1
        else:
            assert counts.tp[k] / n == pytest.approx(coco_recall, abs=1e-12)
    # And every threshold is the prefix of the one pass: re-matching only kept results agrees.
    for s in (0.5, 0.7, 0.9):
        kept = [d for d in dt if d["score"] >= s]
        again = match_objects(gt, kept, iou=0.5).at(s)
        now = m.at(s)
        np.testing.assert_array_equal(again.tp, now.tp)
        np.testing.assert_array_equal(again.fp, now.fp)
        np.testing.assert_array_equal(again.confusion, now.confusion)


def test_outcome_tables_agree_with_object_lists():
    from engine.evaluation.matching import outcome_table
    gt, dt, ids = hand_case()
    m = match_objects(gt, dt, iou=0.5, dt_ids=ids)
    for s in (0.0, 0.65):
        fp = outcome_table(m, "FP", s)
        listed = m.false_positives(s)
        assert list(fp["pred_id"]) == [o.pred_id for o in listed]
        assert list(fp["reason"]) == [o.reason for o in listed]
        assert list(fp["gt_id"]) == [-1 if o.gt_id is None else o.gt_id for o in listed]
        fn = outcome_table(m, "FN", s)
        assert list(fn["gt_id"]) == [o.gt_id for o in m.false_negatives(s)]
    with pytest.raises(ValueError):
        outcome_table(m, "TP", 0)


def test_every_prediction_and_label_has_an_outcome():
    gt, dt, ids = hand_case()
    m = match_objects(gt, dt, iou=0.5, dt_ids=ids)
    preds = m.predictions(0.65)
    assert [(o.pred_id, o.kind) for o in preds] == [(109, "FP"), (101, "TP"), (102, "FP"), (103, "FP")]
    labels = {o.gt_id: o for o in m.labels(0.65)}
    assert set(labels) == {11, 12, 13, 14}  # crowd 15 left out
    assert (labels[11].kind, labels[11].pred_id, labels[11].iou) == ("TP", 101, 1.0)
    assert labels[13].kind == "FN"  # 104 (score 0.6) is below 0.65
    assert {o.gt_id: o.kind for o in m.labels(0.0)}[13] == "TP"
