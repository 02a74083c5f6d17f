"""The TIDE error breakdown on a hand-made case where each error is known, worked out by hand, and
its counts against hotcoco's TIDE on generated cases. (Checked once by hand against the toolbox
itself, tidecv 1.0.1, on make_case seeds 0-3 with and without crowd: AP, counts and every dAP
equal to 1e-13; tidecv is not a dependency: it needs matplotlib, seaborn and pandas.)"""
import copy

import pytest

from eval_coco_cases import make_case
from engine.evaluation.pairs import build_pairs
from engine.evaluation.tide import ERROR_KINDS, tide_errors

A, B = 1, 2


def box(x, y=0, w=10, h=10):
    return [float(x), float(y), float(w), float(h)]


def hand_case():
    labels = [  # (id, image, class, box, crowd)
        (1, 1, A, box(0), 0), (2, 1, A, box(20), 0), (3, 1, B, box(40), 0), (4, 1, B, box(60), 0),
        (5, 1, A, box(100), 0), (6, 1, A, box(120, 100, 40, 40), 1)]
    gt = {"images": [{"id": 1, "width": 200, "height": 200}, {"id": 2, "width": 200, "height": 200}],
          "categories": [{"id": A, "name": "a"}, {"id": B, "name": "b"}],
          "annotations": [{"id": i, "image_id": im, "category_id": c, "bbox": b, "area": b[2] * b[3],
                           "iscrowd": cr} for i, im, c, b, cr in labels]}
    dt = [  # (image, class, box, score): what TIDE makes of each
        (1, A, box(0), 0.9),      # TP on 1
        (1, A, box(1), 0.8),      # duplicate: IoU 90/110 with 1, already matched
        (1, A, box(60), 0.7),     # classification: IoU 1 with 4 (B), which nothing matched
        (1, B, box(40), 0.6),     # TP on 3
        (1, A, box(25), 0.5),     # localisation: IoU 50/150 with 2 (A), unmatched
        (1, B, box(160, 160), 0.4),  # background: touches nothing
        (1, B, box(104), 0.3),    # both: IoU 60/140 with 5, of the other class
        (1, A, box(125, 105, 5, 5), 0.2),  # inside the crowd region of A: ignored; TIDE still files it
        (2, A, box(0), 0.95),     # image without labels: background
    ]
    return gt, [{"image_id": i, "category_id": c, "bbox": b, "score": s} for i, c, b, s in dt]


def ap(points_sum):
    """A class's AP in TIDE's units from the sum of its 101 interpolated precisions."""
    return points_sum / 101 * 100


def test_each_error_kind_and_what_fixing_it_adds_back():
    gt, dt = hand_case()
    r = tide_errors(build_pairs(gt, dt), pos_thr=0.5, bg_thr=0.1)
    assert r.counts == {"classification": 1, "localisation": 1, "both": 1, "duplicate": 1,
                        "background": 3, "missed": 1}
    # Class A (3 positives: 1, 2, 5): FP .95, TP .9, FP .8, FP .7, FP .5 -> precision 1/2 up to
    # recall 1/3: 34 of the 101 points at 0.5. Class B (3, 4): TP .6, FP .4, FP .3 -> 1 up to 1/2.
    base_a, base_b = 34 * 0.5, 51 * 1.0
    assert r.ap == pytest.approx((ap(base_a) + ap(base_b)) / 2, abs=1e-9)
    expected = {
        # .7 becomes B's TP on 4: B = TP .7, TP .6, FP, FP -> precision 1 everywhere; A loses an FP below its TP.
        "classification": (ap(base_a) + ap(101)) / 2,
        # .5 becomes A's TP on 2: precision .5 to recall 1/3, then 2/5 to 2/3.
        "localisation": (ap(34 * 0.5 + 33 * 0.4) + ap(base_b)) / 2,
        "both": (ap(base_a) + ap(base_b)) / 2,  # removing B's FP at .3 (below B's only TP) changes nothing
        "duplicate": (ap(base_a) + ap(base_b)) / 2,
        # Removing .95 (A) and .4 (B): A = TP .9 first, precision 1 up to 1/3.
        "background": (ap(34 * 1.0) + ap(base_b)) / 2,
        # Label 5 out of A's positives: recall 1/2 at precision 1/2.
        "missed": (ap(51 * 0.5) + ap(base_b)) / 2,
    }
    for kind in ERROR_KINDS:
        assert r.dap[kind] == pytest.approx(max(expected[kind] - r.ap, 0.0), abs=1e-9), kind
    assert r.dap["classification"] > r.dap["background"] > r.dap["localisation"] > r.dap["missed"] > 0


def test_a_better_scored_duplicate_of_a_fixed_error_is_removed_not_doubled():
    """Two localisation errors on the same unmatched label: fixing makes only the higher one a TP."""
    gt, dt = hand_case()
    dt.append({"image_id": 1, "category_id": A, "bbox": box(26), "score": 0.45})  # also IoU < 0.5 with 2
    r = tide_errors(build_pairs(gt, dt))
    assert r.counts["localisation"] == 2
    # A after the fix: FP .95, TP .9, FP .8, FP .7, TP .5 (the .45 one removed) -> as before.
    base_b = 51 * 1.0
    assert r.ap + r.dap["localisation"] == pytest.approx((ap(34 * 0.5 + 33 * 0.4) + ap(base_b)) / 2, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_error_counts_equal_hotcoco_tide(seed):
    """Without crowd regions. (With them the toolbox, and this module, also file the predictions a
    crowd region ignores, mostly as background; hotcoco leaves them out. hotcoco's dAP also uses
    COCO's mean over classes with labels, where the toolbox counts a class without labels as AP 0.)"""
    hotcoco = pytest.importorskip("hotcoco")
    gt, dt = make_case(seed, crowd=False)
    cg = hotcoco.COCO(copy.deepcopy(gt))
    ev = hotcoco.COCOeval(cg, cg.loadRes(copy.deepcopy(dt)), "bbox")
    ev.evaluate()
    theirs = ev.tide_errors(pos_thr=0.5, bg_thr=0.1)["counts"]
    ours = tide_errors(build_pairs(gt, dt)).counts
    short = {"classification": "Cls", "localisation": "Loc", "both": "Both", "duplicate": "Dupe",
             "background": "Bkg", "missed": "Miss"}
    assert {short[k]: v for k, v in ours.items()} == {k: theirs[k] for k in short.values()}
    assert sum(ours.values()) > 50
