"""The predictor against the bare torchvision model, its options, cancellation and the store."""
import shutil

import numpy as np
import pytest
import torch
import torchvision
from pycocotools import mask as mask_utils

from annotations.demo import generate_demo
from annotations.model import PREDICTION
from annotations.store import Store
from annotations.errors import Cancelled, CancelToken
from engine.prediction_store import prediction_rows
from engine.predictor import Predictor, new_prediction_run
from engine.registry import BACKGROUND, PLACEHOLDER
from engine.weights import load_model

FAST = "fasterrcnn_mobilenet_v3_large_320_fpn"
SMALL = {"min_size": 64, "max_size": 128}


@pytest.fixture(scope="module")
def detector():
    """A random Faster R-CNN: at score 0 it returns plenty of boxes of many classes."""
    torch.manual_seed(0)
    return load_model(FAST, "random", "cpu", **SMALL)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(5)
    return [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), rng.integers(0, 256, (120, 80, 3), dtype=np.uint8)]


def _bare(model, images):
    with torch.inference_mode():
        return model([torch.from_numpy(im).permute(2, 0, 1).float() / 255 for im in images])


def _decode(rle):
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})


def test_detections_equal_the_bare_model_in_image_coordinates(detector, images):
    preds = Predictor(detector, score_threshold=0.0).predict(images)
    raw = _bare(detector.model, images)
    names = detector.categories
    for p, r, im in zip(preds, raw, images):
        keep = [i for i, lab in enumerate(r["labels"].tolist()) if names[lab] not in (BACKGROUND, PLACEHOLDER)]
        assert len(p) == len(keep) > 0
        xyxy = r["boxes"][keep].numpy()
        np.testing.assert_allclose(p.boxes[:, :2], xyxy[:, :2], atol=1e-4)
        np.testing.assert_allclose(p.boxes[:, :2] + p.boxes[:, 2:], xyxy[:, 2:], atol=1e-4)
        np.testing.assert_allclose(p.scores, r["scores"][keep].numpy(), atol=1e-6)
        assert p.labels == [names[i] for i in r["labels"][keep].tolist()]
        h, w = im.shape[:2]
        assert (p.boxes[:, 0] + p.boxes[:, 2] <= w + 1e-3).all() and (p.boxes[:, 1] + p.boxes[:, 3] <= h + 1e-3).all()


def test_score_threshold_class_filter_and_nms(detector, images):
    everything = Predictor(detector, score_threshold=0.0).predict(images)[0]
    t = float(np.median(everything.scores))
    above = Predictor(detector, score_threshold=t).predict(images)[0]
    assert 0 < len(above) < len(everything)
    np.testing.assert_array_equal(above.scores, everything.scores[everything.scores >= t])

    wanted = set(everything.labels[:2])
    only = Predictor(detector, score_threshold=0.0, classes=wanted).predict(images)[0]
    assert set(only.labels) == wanted
    assert len(only) == sum(n in wanted for n in everything.labels)

    nms = Predictor(detector, score_threshold=0.0, nms_iou=0.1).predict(images)[0]
    xyxy = torch.from_numpy(everything.boxes.copy())
    xyxy[:, 2:] += xyxy[:, :2]
    label_ids = torch.tensor([detector.categories.index(n) for n in everything.labels])
    kept = torchvision.ops.batched_nms(xyxy, torch.from_numpy(everything.scores), label_ids, 0.1)
    assert 0 < len(nms) < len(everything)
    np.testing.assert_array_equal(nms.scores, everything.scores[kept.numpy()])
    assert nms.labels == [everything.labels[i] for i in kept.tolist()]


def test_instance_masks_are_the_model_masks_at_half(images):
    torch.manual_seed(0)
    loaded = load_model("maskrcnn_resnet50_fpn", "random", "cpu", box_detections_per_img=10, **SMALL)
    preds = Predictor(loaded, score_threshold=0.0).predict(images)
    raw = _bare(loaded.model, images)
    for p, r in zip(preds, raw):
        keep = [i for i, lab in enumerate(r["labels"].tolist())
                if loaded.categories[lab] not in (BACKGROUND, PLACEHOLDER)]
        assert len(p.masks) == len(keep) > 0
        for rle, i in zip(p.masks, keep):
            assert np.array_equal(_decode(rle).astype(bool), (r["masks"][i, 0] > 0.5).numpy())
        rows = [r for r in prediction_rows(p) if r is not None]
        assert rows and all(rle is not None for _name, _bbox, rle, _score in rows)


def test_semantic_map_is_the_argmax_of_the_model(images):
    torch.manual_seed(0)
    loaded = load_model("lraspp_mobilenet_v3_large", "random", "cpu")
    with torch.no_grad():  # a random head may call every pixel background; make sure it does not
        loaded.model.classifier.low_classifier.bias[0] -= 50.0
    im = images[0]
    p = Predictor(loaded, input_size=min(im.shape[:2])).predict([im])[0]  # no resize: compare pixel for pixel
    x = torch.from_numpy(im).permute(2, 0, 1).float() / 255
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    with torch.inference_mode():
        logits = loaded.model(x[None])["out"][0]
    expected = logits.argmax(0).numpy()
    confidence = logits.softmax(0).max(0).values.numpy()
    assert np.array_equal(p.semantic, expected)
    assert len(p.labels) > 0
    for name, score in zip(p.labels, p.scores):  # a class's score: mean confidence over its pixels
        assert score == pytest.approx(confidence[expected == loaded.categories.index(name)].mean(), rel=1e-4)
    rows = [r for r in prediction_rows(p) if r is not None]  # what store_predictions stores
    present = sorted(set(np.unique(expected).tolist()) - {0})
    assert sorted(loaded.categories.index(name) for name, _bbox, _rle, _score in rows) == present
    for name, _bbox, rle, _score in rows:
        assert np.array_equal(_decode(rle).astype(bool), expected == loaded.categories.index(name))


def test_cancel_between_images_stops_before_the_forward_pass(detector, images):
    calls = []
    handle = detector.model.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        class CancelAfter(CancelToken):
            """Cancelled from its third check on: after the batch check and the first image's preprocessing."""
            asked = 0

            def check(self, message: str = "cancelled") -> None:
                CancelAfter.asked += 1
                if CancelAfter.asked > 2:
                    self.cancel()
                super().check(message)

        with pytest.raises(Cancelled):
            Predictor(detector).predict(images, cancel=CancelAfter())
        assert calls == [] and CancelAfter.asked == 3
        Predictor(detector).predict(images, cancel=CancelToken())
        assert calls == [1]
    finally:
        handle.remove()


def test_bad_input_is_refused_with_a_message(detector, images):
    with pytest.raises(ValueError, match="image 1: expected an HxWx3 uint8 RGB array"):
        Predictor(detector).predict([images[0], images[0].astype(np.float32)])
    with pytest.raises(ValueError, match="no classes named unicorn"):
        Predictor(detector, classes=["person", "unicorn"])


@pytest.fixture(scope="module")
def tiny_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("predictor") / "template"
    generate_demo(path, n_images=5, seed=2, size=(160, 120)).close()
    return path


@pytest.fixture
def tiny_project(tiny_template, tmp_path):
    shutil.copytree(tiny_template, tmp_path / "p")
    store = Store.open(tmp_path / "p")
    yield store
    store.close()


def test_predict_store_images_stores_a_run_and_skips_unreadable_images(detector, tiny_project):
    store = tiny_project
    ids = store.image_ids()
    broken = store.image(ids[2])
    store.image_path(broken).write_bytes(b"\x00garbage")
    predictor = Predictor(detector, score_threshold=0.0)
    run_id = new_prediction_run(store, predictor)
    commits, warnings, progress = [], [], []
    store.subscribe(lambda ev: commits.append(ev) if ev.table == "annotations" else None)
    out = predictor.predict_store_images(store, ids + [9999], run_id, progress=lambda d, t: progress.append((d, t)),
                                         batch_size=2, warn=warnings.append, add_categories=True)
    stored = store.annotations(run_id=run_id)
    assert len(out.ids) == len(stored) > 0 and out.kept_out == {}
    assert len(warnings) == 2 and "image id 9999" in warnings[0] and broken.file_name in warnings[1]
    assert progress == [(3, 6), (5, 6), (6, 6)]  # the unknown id counts as done at once
    assert len(commits) == 3  # one transaction per batch
    assert ids[2] not in {a.image_id for a in stored}
    assert {a.image_id for a in stored} == set(ids) - {ids[2]}
    names = {c.id: c.name for c in store.categories()}
    assert all(a.status == PREDICTION and a.source == FAST and a.score is not None for a in stored)
    assert {names[a.category_id] for a in stored} <= set(detector.categories)
    run = store.run(run_id)
    assert run.model == FAST and run.weights == "random weights" and run.params["score_threshold"] == 0.0
    assert store.annotation_count("label") > 0 and store.annotation_count("prediction") == len(out.ids)


def test_predict_store_images_cancel_keeps_finished_batches(detector, tiny_project):
    store = tiny_project
    predictor = Predictor(detector, score_threshold=0.0)
    run_id = new_prediction_run(store, predictor)
    ids = store.image_ids()
    out = predictor.predict_store_images(store, ids, run_id, progress=lambda d, t: False, batch_size=2,
                                         add_categories=True)
    assert {a.image_id for a in store.annotations(run_id=run_id)} == set(ids[:2])
    assert len(out.ids) == len(store.annotations(run_id=run_id))
    run2 = new_prediction_run(store, predictor)
    assert predictor.predict_store_images(store, ids, run2, cancel=_cancelled()).ids == []
    assert store.annotations(run_id=run2) == []


def test_predict_store_images_keeps_classes_the_project_lacks_out_of_it(detector, tiny_project):
    store = tiny_project
    before = [c.name for c in store.categories()]
    predictor = Predictor(detector, score_threshold=0.0)
    out = predictor.predict_store_images(store, store.image_ids()[:1], None)
    assert out.ids == [] and sum(out.kept_out.values()) > 0
    assert set(out.kept_out) <= set(detector.categories) and not set(out.kept_out) & set(before)
    assert [c.name for c in store.categories()] == before


def _cancelled() -> CancelToken:
    token = CancelToken()
    token.cancel()
    return token
