"""The fast paths of the whole evaluation give what the plain ways give: per-object matching as a
loop over each image's predictions, the report with the COCO evaluator on a worker thread as the
report built after it, mask IoUs as pycocotools computes them image by image."""
import json
import threading

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from eval_coco_cases import make_case
from test_eval_coco_oracle import DATA, README_STATS, assert_matches_oracle, oracle
from engine.evaluation import evaluate_coco
from engine.evaluation import report as report_module
from engine.evaluation.coco import start_coco
from engine.evaluation.matching import (BACKGROUND, DUPLICATE, FP, IGNORE, IGNORED, LOW_IOU, LOW_IOU_FLOOR, NO_REASON,
                                        TP, WRONG_CLASS, match_objects)
from engine.evaluation.pairs import _to_rle, build_pairs
from engine.evaluation.report import build_report, evaluate_files_report


def _first_max(values, cand):
    v = np.where(cand, values, -1.0)
    return int(np.argmax(v))


def _image_ious(gt, dt, g_idx, p_idx, iou_type):
    """pycocotools' IoU of one image's predictions (rows) and labels (columns)."""
    anns = gt["annotations"]
    crowd = [int(anns[j].get("iscrowd", 0)) for j in g_idx]
    if iou_type == "bbox":
        d, g = [dt[i]["bbox"] for i in p_idx], [anns[j]["bbox"] for j in g_idx]
    else:
        size = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
        d = [_to_rle(dt[i]["segmentation"], *size[dt[i]["image_id"]]) for i in p_idx]
        g = [_to_rle(anns[j]["segmentation"], *size[anns[j]["image_id"]]) for j in g_idx]
    return np.asarray(mask_utils.iou(d, g, crowd), float).reshape(len(p_idx), len(g_idx))


def plain_matching(gt, dt, t, iou_type, hard_ids):
    """The rules of engine/evaluation/matching.py, one image and one prediction at a time.
    Returns {result index: (outcome, reason, label index or -1, iou, confused label or -1)}."""
    anns = gt["annotations"]
    out = {}
    for img in sorted({d["image_id"] for d in dt}):
        p_idx = [i for i, d in enumerate(dt) if d["image_id"] == img]
        p_idx = [p_idx[k] for k in np.argsort([-dt[i]["score"] for i in p_idx], kind="stable")]
        g_idx = [j for j, a in enumerate(anns) if a["image_id"] == img]
        if not g_idx:
            out.update({i: (FP, BACKGROUND, -1, 0.0, -1) for i in p_idx})
            continue
        ious = _image_ious(gt, dt, g_idx, p_idx, iou_type)
        g_cls = np.array([anns[j]["category_id"] for j in g_idx])
        ignored = np.array([bool(anns[j].get("iscrowd")) or anns[j]["id"] in hard_ids for j in g_idx])
        taken = np.zeros(len(g_idx), bool)
        confused = np.zeros(len(g_idx), bool)
        for r, i in enumerate(p_idx):
            row = ious[r]
            same = g_cls == dt[i]["category_id"]
            over = row >= t
            free = same & over & ~ignored & ~taken
            conf = -1
            if free.any():
                v = np.where(free, row, -1.0)
                j = int(np.nonzero(v == v.max())[0][-1])  # pycocotools keeps the last of equal IoUs
                taken[j] = True
                res = (TP, NO_REASON, j)
            elif (same & over & ignored).any():
                res = (IGNORED, IGNORE, _first_max(row, same & over & ignored))
            elif (same & over).any():
                res = (FP, DUPLICATE, _first_max(row, same & over))
            elif (~same & over & ~ignored).any():
                res = (FP, WRONG_CLASS, _first_max(row, ~same & over & ~ignored))
                open_ = ~same & over & ~ignored & ~taken & ~confused
                if open_.any():
                    conf = _first_max(row, open_)
                    confused[conf] = True
            elif np.where(same, row, -1.0).max() >= LOW_IOU_FLOOR:
                res = (FP, LOW_IOU, _first_max(row, same))
            else:
                j = _first_max(row, np.ones(len(row), bool))
                res = (FP, BACKGROUND, j if row[j] > 0 else -1)
            j = res[2]
            out[i] = (*res[:2], -1 if j < 0 else g_idx[j], float(row[j]) if j >= 0 else 0.0,
                      -1 if conf < 0 else g_idx[conf])
    return out


@pytest.mark.parametrize("masks", [False, True], ids=["bbox", "segm"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("t", [0.5, 0.3])
def test_matching_equals_a_plain_loop_over_each_image(masks, seed, t):
    gt, dt = make_case(seed, 30, masks=masks)
    rng = np.random.default_rng(seed)
    for d in dt:  # more ties than make_case's own
        if rng.random() < 0.3:
            d["score"] = 0.5
    anns = gt["annotations"]
    for a in list(anns[::5]):  # a label twice: equal IoUs, pycocotools takes the later one
        if not a["iscrowd"]:
            anns.append({**a, "id": len(anns) + 1})
    hard_ids = {a["id"] for a in anns if rng.random() < 0.1}  # "difficult" labels
    iou_type = "segm" if masks else "bbox"
    m = match_objects(gt, dt, t, iou_type, difficult_ids=hard_ids)
    want = plain_matching(gt, dt, t, iou_type, hard_ids)
    g_row = {int(s): k for k, s in enumerate(build_pairs(gt, dt, iou_type, None, hard_ids).g_src)}
    assert {o for o, *_ in want.values()} >= {TP, FP, IGNORED}
    for k, src in enumerate(m.p_id):
        outcome, reason, g, iou, conf = want[int(src)]
        assert (m.p_outcome[k], m.p_reason[k]) == (outcome, reason), int(src)
        assert m.p_gt[k] == (g_row[g] if g >= 0 else -1), int(src)
        assert m.p_iou[k] == pytest.approx(iou, abs=1e-12)
        assert m.p_confused[k] == (g_row[conf] if conf >= 0 else -1), int(src)


def test_bucket_rows_with_a_prediction_of_rank_k_come_first():
    gt, dt = make_case(3, 60)
    pairs = build_pairs(gt, dt)
    assert len(pairs.buckets) > 1
    for bk in pairs.buckets:
        n_rows = len(bk.rows)
        for k in range(bk.pidx.shape[1]):
            assert np.array_equal(bk.pvalid[:, k], np.arange(n_rows) < bk.active[k])


def _same_report(a, b):
    assert np.array_equal(a.coco.precision, b.coco.precision) and np.array_equal(a.coco.recall, b.coco.recall)
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):  # the words naming the image set are the caller's; the backend is named
        del d["image_set"], d["image_set_short"], d["backend"]
    assert da == db


@pytest.mark.parametrize("backend", ["hotcoco", "pycocotools"])
@pytest.mark.parametrize("masks", [False, True], ids=["bbox", "segm"])
def test_report_with_the_evaluator_on_a_thread_equals_the_report_built_after_it(backend, masks):
    gt, dt = make_case(4, 40, masks=masks)
    iou_type = "segm" if masks else "bbox"
    subset = [im["id"] for im in gt["images"][::2]]
    for image_ids, max_dets in ((None, (1, 10, 100)), (subset, (1, 2, 3, 50))):
        fast = evaluate_files_report(gt, dt, iou_type, image_ids, max_dets, backend)
        coco = evaluate_coco(gt, dt, iou_type, image_ids, max_dets, backend)
        slow = build_report(coco, gt, dt)
        _same_report(fast, slow)
        assert_matches_oracle(fast.coco, oracle(gt, dt, iou_type, image_ids, max_dets))
    assert not [t for t in threading.enumerate() if t.name.startswith("coco-eval")]


def test_a_failing_pass_still_joins_the_evaluator_thread(monkeypatch):
    gt, dt = make_case(5, 20)

    def broken(*a, **k):
        raise InterruptedError("cancelled")
    monkeypatch.setattr(report_module, "match_objects", broken)
    with pytest.raises(InterruptedError):
        evaluate_files_report(gt, dt, backend="hotcoco")
    assert not [t for t in threading.enumerate() if t.name.startswith("coco-eval")]


def test_mask_ious_equal_pycocotools_image_by_image_across_image_sizes():
    """Polygons are rasterised in one call per image size: two sizes, polygons, compressed and
    uncompressed RLEs, a crowd region."""
    sizes = {1: (60, 80), 2: (90, 50), 3: (60, 80)}
    images = [{"id": i, "height": h, "width": w} for i, (h, w) in sizes.items()]

    def poly(x, y, s):
        return [[x, y, x + s, y, x + s, y + s * 0.7, x, y + s]]

    def rle(i, x, y, s, compressed=True):
        m = np.zeros(sizes[i], np.uint8, order="F")
        m[y:y + s, x:x + s] = 1
        r = mask_utils.encode(m)
        if compressed:
            return {"size": r["size"], "counts": r["counts"].decode("ascii")}
        flat = m.flatten(order="F")
        change = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]])) if flat.any() else np.array([len(flat)])
        return {"size": list(sizes[i]), "counts": np.diff(np.r_[0, change]).tolist()}

    anns, dets = [], []
    for i in sizes:
        for k, (x, y, s) in enumerate([(5, 5, 20), (30, 10, 15), (10, 30, 25)]):
            seg = poly(x, y, s) if k != 1 else rle(i, x, y, s, compressed=(i != 2))
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "segmentation": seg,
                         "area": float(s * s), "bbox": [x, y, s, s], "iscrowd": int(k == 2 and i == 2)})
            dets.append({"image_id": i, "category_id": 1, "score": 0.9 - 0.1 * k, "segmentation": rle(i, x + 2, y, s)})
    gt = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}]}
    pairs = build_pairs(gt, dets, "segm")
    for bk in pairs.buckets:
        for b in range(len(bk.rows)):
            pi, gi = bk.pidx[b][bk.pidx[b] >= 0], bk.gidx[b][bk.gidx[b] >= 0]
            want = _image_ious(gt, dets, pairs.g_src[gi], pairs.p_src[pi], "segm")
            assert np.array_equal(bk.iou[b, :len(pi), :len(gi)], want)


@pytest.mark.parametrize("seed", [0, 3])
def test_box_ious_equal_pycocotools_bit_for_bit(seed):
    """Each bucket's box IoUs (corners and areas computed once per box, padding read from an empty
    box) are pycocotools' bbIou, crowd regions included, also for boxes that touch, have no width,
    lie at negative coordinates or are far larger than the image."""
    gt, dt = make_case(seed)
    img = gt["images"][1]["id"]
    odd = [[0.0, 0.0, 0.0, 10.0], [-20.5, -3.0, 25.0, 8.0], [10.0, 10.0, 5.0, 5.0], [15.0, 10.0, 5.0, 5.0],
           [0.1, 0.2, 1e6, 1e6], [3.3, 4.4, 1e-9, 2.0]]
    for k, box in enumerate(odd):
        gt["annotations"].append({"id": 10_000 + k, "image_id": img, "category_id": gt["categories"][0]["id"],
                                  "bbox": box, "area": box[2] * box[3], "iscrowd": int(k == 4)})
        dt.append({"image_id": img, "category_id": gt["categories"][0]["id"], "bbox": list(reversed(odd))[k],
                   "score": 0.5})
    pairs = build_pairs(gt, dt, "bbox")
    checked = 0
    for bk in pairs.buckets:
        for b in range(len(bk.rows)):
            pi, gi = bk.pidx[b][bk.pidx[b] >= 0], bk.gidx[b][bk.gidx[b] >= 0]
            want = _image_ious(gt, dt, pairs.g_src[gi], pairs.p_src[pi], "bbox")
            assert np.array_equal(bk.iou[b, :len(pi), :len(gi)], want)
            assert not bk.iou[b, len(pi):].any() and not bk.iou[b, :, len(gi):].any()  # padding
            checked += len(pi) * len(gi)
    assert checked > 500


def test_hotcoco_reading_the_shared_masks_equals_pycocotools_on_coco_val2014():
    """For a report, hotcoco takes the RLEs the IoUs are computed from (and the results' areas from
    their masks, as loadRes): real masks, more than 255 results, crowd regions."""
    gt = json.loads((DATA / "instances_val2014_100.json").read_text())
    dt = json.loads((DATA / "instances_val2014_fakesegm100_results.json").read_text())
    pending = start_coco(gt, dt, "segm", backend="hotcoco")
    assert pending.rles is not None and len(pending.rles[1]) == len(dt) > 255
    res = pending.result()
    np.testing.assert_allclose(res.stats, README_STATS["segm"], atol=5e-7)
    assert_matches_oracle(res, oracle(gt, dt, "segm"))
    report = evaluate_files_report(gt, dt, "segm", backend="hotcoco")
    _same_report(report, build_report(evaluate_coco(gt, dt, "segm", backend="pycocotools"), gt, dt))
