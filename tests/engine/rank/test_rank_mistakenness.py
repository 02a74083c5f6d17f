"""Mistakenness finds each kind of label error; scores follow FiftyOne Brain's formulas."""
from __future__ import annotations

import pytest

from annotations.model import LABEL, PREDICTION, Annotation
from annotations.store import Store, copy_annotation
from engine.rank import RankOptions, rank_project

from .helpers import categories, image, label, pred, run

B = (10, 10, 40, 40)


def test_each_kind_on_hand_made_images(store):
    c = categories(store, ("a", "b"))
    r = run(store)
    im = {n: image(store, str(n)) for n in range(1, 8)}
    ok = label(store, im[1], c["a"], B)
    pred(store, im[1], c["a"], B, 0.9, r)
    wrong = label(store, im[2], c["b"], B)
    pred(store, im[2], c["a"], B, 0.8, r)
    loose = label(store, im[3], c["a"], B)
    pred(store, im[3], c["a"], (20, 10, 40, 40), 0.9, r)  # IoU 0.6
    label(store, im[4], c["a"], (60, 60, 20, 20))
    pred(store, im[4], c["a"], (60, 60, 20, 20), 0.9, r)
    missing = pred(store, im[4], c["a"], (10, 10, 30, 30), 0.97, r)
    spurious = label(store, im[5], c["a"], (10, 10, 30, 30))
    label(store, im[5], c["a"], (60, 60, 20, 20))
    pred(store, im[5], c["a"], (60, 60, 20, 20), 0.9, r)
    first, second = label(store, im[6], c["a"], B), label(store, im[6], c["a"], B)
    dup_pred = pred(store, im[6], c["a"], B, 0.9, r)
    moved = label(store, im[7], c["a"], B)
    moved_pred = pred(store, im[7], c["a"], (30, 10, 40, 40), 0.96, r)  # IoU 1/3: unmatched, beside it

    ranking = rank_project(store, "mistakenness", r)
    by_image = {s.image_id: s for s in ranking.images}
    assert [s.image_id for s in ranking.images] == [im[4], im[7], im[6], im[2], im[3], im[5], im[1]]

    def top(n):
        o = by_image[im[n]].objects[0]
        return o.kind, o.annotation_id, o.prediction_id, round(o.score, 4)

    assert top(1)[:2] == ("supported", ok) and top(1)[3] == 0.05  # (1 - c) / 2 both ways
    assert top(2)[:2] == ("wrong_class", wrong) and top(2)[3] == 0.9  # (1 + 0.8) / 2
    assert top(3)[:2] == ("loose_box", loose) and top(3)[3] == round((0.9 * (2 * 0.8 - 1) + 1) / 2, 4)
    assert top(4) == ("missing", None, missing, 0.985)
    assert top(5)[:3] == ("spurious", spurious, None) and top(5)[3] == 0.5
    kinds6 = {o.annotation_id: (o.kind, round(o.score, 4)) for o in by_image[im[6]].objects}
    assert sorted(kinds6.values()) == [("spurious", 0.95), ("supported", 0.05)] and set(kinds6) == {first, second}
    assert by_image[im[6]].objects[0].prediction_id == dup_pred
    assert top(7) == ("loose_box", moved, moved_pred, 0.98)  # the prediction beside it is not "missing"
    assert [o.kind for o in by_image[im[7]].objects] == ["loose_box"]
    # Below FiftyOne's 0.95, an unlabelled confident prediction is not called a missing label.
    lower = rank_project(store, "mistakenness", r, options=RankOptions(missing_confidence=0.99), save=False)
    assert "missing" not in {o.kind for s in lower.images for o in s.objects}


def test_injected_errors_top_the_ranking_on_the_demo(demo_project):
    """Predictions = the exact labels at 0.9 (a model that is right); then one label is moved,
    one relabelled, one deleted, one duplicated. Those four are the four most mistaken objects."""
    store = Store.open(demo_project, create=False)
    try:
        r = run(store)
        labels = store.annotations(status=LABEL)
        store.add_annotations([copy_annotation(a, id=None, status=PREDICTION, score=0.97, run_id=r, source="m",
                                               polygons=None, kind="box") for a in labels])
        cats = [c.id for c in store.categories()]
        big = sorted(labels, key=lambda a: -a.bbox[2] * a.bbox[3])
        moved, relabelled, deleted, duplicated = big[0], big[1], big[2], big[3]
        x, y, w, h = moved.bbox
        store.update_annotation(copy_annotation(moved, bbox=(x + 0.3 * w, y, w, h), polygons=None, kind="box"))
        store.update_annotation(copy_annotation(relabelled, category_id=next(c for c in cats
                                                                             if c != relabelled.category_id)))
        store.delete_annotations([deleted.id])
        dup = store.add_annotation(copy_annotation(duplicated, id=None))
        ranking = rank_project(store, "mistakenness", r)
        objects = sorted((o for s in ranking.images for o in s.objects), key=lambda o: -o.score)
        top4 = objects[:4]
        assert {o.kind for o in top4} == {"loose_box", "wrong_class", "missing", "spurious"}
        found = {o.kind: o for o in top4}
        assert found["loose_box"].annotation_id == moved.id
        assert found["wrong_class"].annotation_id == relabelled.id
        assert found["spurious"].annotation_id in (duplicated.id, dup)
        missing = found["missing"]
        assert missing.annotation_id is None and store.annotation(missing.prediction_id).bbox == pytest.approx(
            deleted.bbox)
        assert objects[4].score < 0.5  # everything else is supported
    finally:
        store.close()


def test_crowd_labels_are_not_scored(store):
    c = categories(store, ("a",))
    r = run(store)
    i = image(store, "crowd")
    store.add_annotation(Annotation(None, i, c["a"], "box", B, iscrowd=1))
    ok = label(store, i, c["a"], (60, 60, 20, 20))
    pred(store, i, c["a"], (60, 60, 20, 20), 0.9, r)
    ranking = rank_project(store, "mistakenness", r)
    assert [o.annotation_id for o in ranking.images[0].objects] == [ok]


def test_accepting_the_models_version_of_each_kind(store):
    from annotations.model import LABEL
    from annotations.scores import ObjectScore
    from engine.rank.review import model_version

    c = categories(store, ("a", "b"))
    r = run(store)
    i = image(store, "r")
    poly = store.add_annotation(Annotation(None, i, c["a"], "polygon", (10, 10, 20, 20),
                                           polygons=[[10, 10, 30, 10, 30, 30, 10, 30]]))
    p = store.annotation(pred(store, i, c["b"], (40, 40, 40, 20), 0.9, r))
    lab = store.annotation(poly)
    loose = model_version(ObjectScore(i, "loose_box", 0.8, lab.id, p.id), lab, p)
    assert loose.id == lab.id and loose.polygons == [[40, 40, 80, 40, 80, 60, 40, 60]] and loose.category_id == c["a"]
    store.update_annotation(loose)
    assert store.annotation(poly).bbox == (40, 40, 40, 20)  # the store holds the model's box
    assert model_version(ObjectScore(i, "wrong_class", 0.9, lab.id, p.id), lab, p).category_id == c["b"]
    assert model_version(ObjectScore(i, "spurious", 0.5, lab.id, None), lab, None) is None
    new = model_version(ObjectScore(i, "missing", 0.95, None, p.id), None, p)
    assert new.id is None and new.status == LABEL and new.bbox == p.bbox and new.run_id == r
    store.add_annotation(new)
    assert len(store.annotations(status=LABEL, image_id=i)) == 2 and store.annotation(p.id) is not None


def test_a_second_class_at_the_labels_place_is_not_a_wrong_class(store):
    """FCOS-like: two predictions of different classes on one object, the label's own class
    slightly lower. One detection; the model is sure of the label's class too: not wrong_class."""
    c = categories(store, ("a", "b"))
    r = run(store)
    i = image(store, "own")
    lab = label(store, i, c["b"], B)
    top = pred(store, i, c["a"], B, 0.8, r)
    pred(store, i, c["b"], B, 0.7, r)  # the model also sees the label's class here
    (s,) = rank_project(store, "mistakenness", r).images
    (o,) = s.objects  # one detection, not a second pair or a missing label
    assert (o.kind, o.annotation_id, o.prediction_id) == ("supported", lab, top)
    assert o.score == pytest.approx(0.5)  # (0.8 - 0.7 + 1) / 2 = 0.55, capped: no firm opinion
    assert o.extra["own_class_confidence"] == pytest.approx(0.7) and o.extra["classes"] == 2


def test_a_relabelled_label_is_a_wrong_class_at_the_top(store):
    c = categories(store, ("a", "b"))
    r = run(store)
    fine, other = image(store, "fine"), image(store, "other")
    for k in range(3):  # labels the model agrees with, a little unsure of their box
        box = (5 + 30 * k, 5, 20, 20)
        label(store, fine, c["a"], box)
        pred(store, fine, c["a"], (6 + 30 * k, 5, 20, 20), 0.85, r)
        pred(store, fine, c["b"], box, 0.3, r)
    lab = label(store, other, c["b"], B)
    top = pred(store, other, c["a"], B, 0.9, r)  # confident in another class
    pred(store, other, c["b"], B, 0.1, r)  # and not in the label's
    ranking = rank_project(store, "mistakenness", r)
    o = ranking.images[0].objects[0]
    assert ranking.images[0].image_id == other
    assert (o.kind, o.annotation_id, o.prediction_id) == ("wrong_class", lab, top)
    assert o.score == pytest.approx((0.9 - 0.1 + 1) / 2)
    assert {x.kind for x in ranking.images[1].objects} == {"supported"}


def test_a_duplicated_label_is_spurious_not_a_second_class(store):
    c = categories(store, ("a", "b"))
    r = run(store)
    i = image(store, "dup")
    first = label(store, i, c["a"], B)
    second = label(store, i, c["a"], (11, 10, 40, 40))  # the same object labelled twice
    top = pred(store, i, c["a"], B, 0.8, r)
    pred(store, i, c["b"], (11, 10, 40, 40), 0.6, r)  # the model's second class there
    (s,) = rank_project(store, "mistakenness", r).images
    kinds = {o.annotation_id: (o.kind, round(o.score, 4), o.prediction_id) for o in s.objects}
    assert kinds == {first: ("supported", 0.1, top), second: ("spurious", 0.9, top)}


def test_a_duplicated_label_with_a_second_detection_of_its_class_is_spurious(store):
    """A compact model leaves a weaker same-class box on the object; the copy pairs with it, but two
    labels of one class on one place (IoU >= group_iou) are one object labelled twice. Two labels
    that overlap less are two objects."""
    c = categories(store, ("a",))
    r = run(store)
    i = image(store, "dup2")
    first = label(store, i, c["a"], B)
    second = label(store, i, c["a"], (11, 11, 40, 40))
    top = pred(store, i, c["a"], B, 0.8, r)
    pred(store, i, c["a"], (13, 13, 40, 40), 0.5, r)
    near = label(store, i, c["a"], (60, 10, 30, 30))
    neighbour = label(store, i, c["a"], (70, 10, 30, 30))  # IoU 0.5 with `near`: two objects side by side
    pred(store, i, c["a"], (60, 10, 30, 30), 0.8, r)
    pred(store, i, c["a"], (70, 10, 30, 30), 0.7, r)
    (s,) = rank_project(store, "mistakenness", r).images
    kinds = {o.annotation_id: (o.kind, round(o.score, 4)) for o in s.objects}
    assert kinds[second] == ("spurious", 0.9) and kinds[first] == ("supported", 0.1)
    assert s.objects[0].annotation_id == second and s.objects[0].prediction_id == top
    assert s.objects[0].extra["duplicate_of"] == first
    assert kinds[near][0] == "supported" and kinds[neighbour][0] == "supported"


def test_confident_is_relative_to_the_run_by_default(store):
    """A compact model scoring 0.3-0.4 where it is right: the default level is the median of those
    (0.35), so a 0.38 prediction without a label is missing, a 0.3 one is not, and a 0.4 other
    class over a label is a wrong class. A fixed 0.5 calls none of these."""
    c = categories(store, ("a", "b"))
    r = run(store)
    i = image(store, "compact")
    for k, score in enumerate((0.3, 0.35, 0.4)):
        box = (5 + 30 * k, 5, 20, 20)
        label(store, i, c["a"], box)
        pred(store, i, c["a"], box, score, r)
    missing = pred(store, i, c["a"], (5, 60, 20, 20), 0.38, r)
    pred(store, i, c["a"], (60, 60, 20, 20), 0.3, r)
    relabelled = label(store, i, c["b"], (35, 35, 20, 20))
    other = pred(store, i, c["a"], (35, 35, 20, 20), 0.4, r)
    (s,) = rank_project(store, "mistakenness", r).images
    flagged = {(o.kind, o.annotation_id, o.prediction_id) for o in s.objects if o.kind != "supported"}
    assert flagged == {("missing", None, missing), ("wrong_class", relabelled, other)}
    fixed = rank_project(store, "mistakenness", r, options=RankOptions(missing_confidence=0.5), save=False)
    assert {o.kind for o in fixed.images[0].objects} == {"supported"}
