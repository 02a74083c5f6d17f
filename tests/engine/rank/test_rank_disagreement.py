"""Disagreement between two runs, and the mirror-image run made with one Predictor."""
from __future__ import annotations

import numpy as np
import pytest

from engine.rank import RankOptions, rank_project
from engine.rank.flip import find_flip_run, flip_run, predict_flipped, unflip

from .helpers import categories, image, pred, run

BOX = (10, 10, 40, 40)


def test_unmatched_boxes_and_the_iou_of_matched_ones(store):
    """A: the runs agree exactly. B: run 2's box 6 px off (IoU 1360/1840). C: only run 1 sees it.
    D: the runs see other classes at one place (two unmatched boxes)."""
    c = categories(store)
    r1, r2 = run(store), run(store)
    ids = {n: image(store, n) for n in "ABCD"}
    pred(store, ids["A"], c["a"], BOX, 0.9, r1)
    pred(store, ids["A"], c["a"], BOX, 0.9, r2)
    pred(store, ids["B"], c["a"], BOX, 0.9, r1)
    pred(store, ids["B"], c["a"], (16, 10, 40, 40), 0.8, r2)
    pred(store, ids["C"], c["a"], BOX, 0.7, r1)
    d1 = pred(store, ids["D"], c["a"], BOX, 0.8, r1)
    d2 = pred(store, ids["D"], c["b"], BOX, 0.6, r2)
    ranking = rank_project(store, "disagreement", r1, r2)
    name = {v: k for k, v in ids.items()}
    b = (1 - 1360 / 1840) * 0.8  # max(|0.9 - 0.8|, (1 - IoU) * min(0.9, 0.8))
    assert [(name[s.image_id], round(s.score, 4)) for s in ranking.images] == [
        ("D", 0.8), ("C", 0.7), ("B", round(b, 4)), ("A", 0.0)]
    d = ranking.images[0]
    assert [(o.kind, o.prediction_id, o.extra["run"]) for o in d.objects] == [
        ("unmatched", d1, 1), ("unmatched", d2, 2)]
    matched = ranking.images[2].objects[0]
    assert matched.kind == "matched" and matched.extra["iou"] == pytest.approx(1360 / 1840, abs=1e-6)
    mean = rank_project(store, "disagreement", r1, r2, options=RankOptions(aggregate="mean"))
    assert {name[s.image_id]: round(s.score, 4) for s in mean.images}["D"] == 0.7


def test_unflip_mirrors_boxes_and_masks(store):
    from annotations import geometry
    from engine.predictor import ImagePrediction
    mask = np.zeros((4, 6), bool)
    mask[1:3, 0:2] = True
    p = ImagePrediction(np.array([[0, 1, 2, 2]], np.float32), np.array([0.7], np.float32), ["a"],
                        [geometry.encode_mask(mask)])
    q = unflip(p, 6)
    assert q.boxes.tolist() == [[4, 1, 2, 2]]
    assert geometry.decode_rle(q.masks[0]).astype(bool).tolist() == mask[:, ::-1].tolist()


@pytest.fixture(scope="module")
def predictor():
    from engine.predictor import Predictor
    from engine.weights import load_model
    import torch
    torch.manual_seed(0)
    return Predictor(load_model("fcos_compact_fpn", "random", "cpu"), score_threshold=0.001, batch_size=2)


def test_the_flip_pass_is_the_predictor_on_the_mirror_image(predictor, demo_project):
    from annotations.imageio import read_rgb
    img = read_rgb(demo_project / "images" / "shapes_0000.jpg")
    direct = predictor.predict_one(img)
    assert len(direct) > 0
    again = predict_flipped(predictor, [np.ascontiguousarray(img[:, ::-1])])[0]
    w = img.shape[1]
    expected = direct.boxes.copy()
    expected[:, 0] = w - direct.boxes[:, 0] - direct.boxes[:, 2]
    np.testing.assert_allclose(again.boxes, expected, atol=1e-3)
    assert again.labels == direct.labels


def test_a_flip_run_is_stored_and_compared_like_any_run(predictor, demo_project):
    from annotations.model import LABEL
    from annotations.store import Store
    from engine.predictor import new_prediction_run
    store = Store.open(demo_project, create=False)
    try:
        ids = store.image_ids("val")[:3]
        store.delete_annotations([a.id for a in store.annotations(status=LABEL, image_ids=ids)])
        r = new_prediction_run(store, predictor)
        predictor.predict_store_images(store, ids, r, add_categories=True)  # the model's classes join
        f = flip_run(store, predictor, r, ids)
        assert find_flip_run(store, r) == f and store.run(f).params["flip"] == "horizontal"
        assert len(store.annotations(run_id=f)) > 0
        ranking = rank_project(store, "disagreement", r, f, image_ids=ids)
        assert [s.image_id for s in ranking.images] != [] and all(s.score >= 0 for s in ranking.images)
        assert {o.kind for s in ranking.images for o in s.objects} <= {"matched", "unmatched"}
    finally:
        store.close()
