"""VOC AP and semantic-segmentation metrics on hand-made cases, answers worked out here."""
import numpy as np
import pytest

from engine.evaluation.semantic import SemanticConfusion, semantic_metrics
from engine.evaluation.voc import evaluate_voc, voc_ap


def voc_case():
    b = lambda x: [float(x), 0.0, 10.0, 10.0]  # noqa: E731
    gt = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
          "annotations": [
              {"id": 1, "image_id": 1, "category_id": 1, "bbox": b(0)},
              {"id": 2, "image_id": 1, "category_id": 1, "bbox": b(20)},
              {"id": 3, "image_id": 1, "category_id": 1, "bbox": b(40)},  # difficult
              {"id": 4, "image_id": 2, "category_id": 1, "bbox": b(0)},
          ]}
    dt = [{"image_id": 1, "category_id": 1, "bbox": b(0), "score": 0.9},     # TP
          {"image_id": 1, "category_id": 1, "bbox": b(40), "score": 0.8},    # on the difficult one: ignored
          {"image_id": 1, "category_id": 1, "bbox": b(0.5), "score": 0.7},   # duplicate: FP
          {"image_id": 2, "category_id": 1, "bbox": b(0), "score": 0.6},     # TP
          {"image_id": 2, "category_id": 1, "bbox": b(100), "score": 0.5}]   # background: FP
    return gt, dt


def test_voc_ap_all_point_and_eleven_point():
    gt, dt = voc_case()
    # After the ignored one: TP FP TP FP, 3 positives -> recall 1/3 1/3 2/3 2/3, precision 1 1/2 2/3 1/2.
    res = evaluate_voc(gt, dt, difficult_ids={3})
    a = res.per_class[0]
    assert a.num_positives == 3
    np.testing.assert_allclose(a.recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(a.precision, [1, 1 / 2, 2 / 3, 1 / 2])
    # All-point: envelope 1 up to recall 1/3, 2/3 up to 2/3, nothing after -> 1/3 + 2/9.
    assert a.ap == pytest.approx(1 / 3 + 2 / 9)
    # 11-point: recall >= 0, .1, .2, .3 -> 1; .4, .5, .6 -> 2/3; .7 .. 1 -> 0.
    eleven = evaluate_voc(gt, dt, difficult_ids={3}, eleven_point=True).per_class[0]
    assert eleven.ap == pytest.approx((4 * 1 + 3 * 2 / 3) / 11)
    # Class b has no positives: NaN, left out of the mean.
    assert np.isnan(res.per_class[1].ap) and res.map == pytest.approx(a.ap)
    # The flag may also come from the label itself ("difficult" as in VOC XML).
    gt["annotations"][2]["difficult"] = 1
    assert evaluate_voc(gt, dt).per_class[0].ap == pytest.approx(a.ap)
    # Without "difficult" the 0.8 prediction is a TP on a 4th positive.
    del gt["annotations"][2]["difficult"]
    assert evaluate_voc(gt, dt).per_class[0].num_positives == 4


def test_voc_ap_function_edges():
    assert voc_ap(np.array([1.0]), np.array([1.0])) == pytest.approx(1.0)
    assert voc_ap(np.array([1.0]), np.array([1.0]), eleven_point=True) == pytest.approx(1.0)
    assert voc_ap(np.array([]), np.array([])) == 0.0


def test_semantic_metrics_from_one_matrix():
    gt = np.array([[0, 0, 1, 255], [1, 1, 0, 255]])
    pred = np.array([[0, 1, 1, 2], [1, 1, 2, 0]])
    conf = SemanticConfusion(4)
    conf.update(gt, pred)
    np.testing.assert_array_equal(conf.matrix, [[1, 1, 1, 0], [0, 3, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    m = conf.metrics(["bg", "road", "car", "sky"])
    # gt pixels 3, 3, 0, 0; predicted 1, 4, 1, 0 (ignored pixels left out).
    assert m.pixel_accuracy == pytest.approx(4 / 6)
    np.testing.assert_allclose(m.iou[:3], [1 / 3, 3 / 4, 0.0])
    assert np.isnan(m.iou[3])  # absent from both: NaN, not in the mean
    assert m.miou == pytest.approx((1 / 3 + 3 / 4 + 0) / 3)
    np.testing.assert_allclose(m.dice[:3], [2 / 4, 6 / 7, 0.0])
    assert m.mean_dice == pytest.approx((2 / 4 + 6 / 7) / 3)
    assert np.isnan(m.class_accuracy[2]) and m.mean_pixel_accuracy == pytest.approx((1 / 3 + 1) / 2)
    # A second image adds to the same matrix.
    conf.update(np.array([[3]]), np.array([[3]]))
    assert conf.metrics().iou[3] == 1.0
    assert semantic_metrics(conf.matrix).miou == pytest.approx((1 / 3 + 3 / 4 + 0 + 1) / 4)


def test_semantic_bad_input_is_named():
    conf = SemanticConfusion(3)
    with pytest.raises(ValueError, match="img7.png: prediction holds class 5"):
        conf.update(np.zeros((2, 2), int), np.full((2, 2), 5), name="img7.png")
    with pytest.raises(ValueError, match="differ in size"):
        conf.update(np.zeros((2, 2), int), np.zeros((3, 2), int))
    assert conf.matrix.sum() == 0


def devkit_reference(gt, dt, iou, difficult, eleven):
    """The VOC devkit's loop, class by class over all results by falling score (written plainly)."""
    from annotations.geometry import iou_boxes
    aps = {}
    for cat in sorted(c["id"] for c in gt["categories"]):
        anns = [a for a in gt["annotations"] if a["category_id"] == cat]
        hard = {a["id"]: a["id"] in difficult or bool(a.get("iscrowd")) for a in anns}
        npos = sum(not h for h in hard.values())
        preds = sorted((d for d in dt if d["category_id"] == cat), key=lambda d: -d["score"])  # stable
        taken, tp, fp = set(), [], []
        for d in preds:
            mine = [a for a in anns if a["image_id"] == d["image_id"]]
            ov = iou_boxes([d["bbox"]], [a["bbox"] for a in mine])[0] if mine else np.zeros(0)
            if len(ov) and ov.max() > iou:
                a = mine[int(np.argmax(ov))]
                if hard[a["id"]]:
                    continue
                tp.append(a["id"] not in taken)
                fp.append(a["id"] in taken)
                taken.add(a["id"])
            else:
                tp.append(False)
                fp.append(True)
        ctp, cfp = np.cumsum(tp, dtype=float), np.cumsum(fp, dtype=float)
        if npos:
            aps[cat] = voc_ap(ctp / npos, ctp / np.maximum(ctp + cfp, np.finfo(float).eps), eleven)
    return aps


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("eleven", [False, True])
def test_voc_equals_the_devkit_loop_on_generated_cases(seed, eleven):
    from eval_coco_cases import make_case
    gt, dt = make_case(seed)
    difficult = {a["id"] for a in gt["annotations"][::9]}
    res = evaluate_voc(gt, dt, 0.5, eleven, difficult_ids=difficult)
    ref = devkit_reference(gt, dt, 0.5, difficult, eleven)
    got = {c.category_id: c.ap for c in res.per_class if not np.isnan(c.ap)}
    assert got.keys() == ref.keys() and len(got) >= 3
    for k in ref:
        assert got[k] == pytest.approx(ref[k], abs=1e-12)
