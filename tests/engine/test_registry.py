"""The model registry: every model the engine issue names, with its categories, builds and predicts.

Random weights only (nothing is downloaded); small images and min_size so the file stays fast.
One model per family predicts by default; SIGHTLINE_ALL_MODELS=1 runs every model (slow).
"""
import os

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from engine.registry import (BACKGROUND, DETECTION, INSTANCE, SEMANTIC, SPECS, build_model,
                             class_indexed_parameters, get_spec, model_names)
from engine.weights import load_model, release_model
from engine.predictor import ImagePrediction, Predictor

ISSUE_MODELS = {
    DETECTION: ["fasterrcnn_resnet50_fpn", "fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn",
                "fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2",
                "fcos_resnet50_fpn", "ssd300_vgg16", "ssdlite320_mobilenet_v3_large"],
    INSTANCE: ["maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2"],
    SEMANTIC: ["fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101",
               "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"],
}
# Built from torchvision's detection classes on a small backbone; no published weights.
COMPACT_MODELS = {DETECTION: ["fcos_compact_fpn"]}
# The cheapest model of each family (heads and outputs differ between families, not within).
FAMILY_SMOKE = ["fasterrcnn_mobilenet_v3_large_320_fpn", "retinanet_resnet50_fpn", "fcos_resnet50_fpn",
                "ssdlite320_mobilenet_v3_large", "maskrcnn_resnet50_fpn", "fcn_resnet50",
                "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large", "fcos_compact_fpn"]
PREDICTED = model_names() if os.environ.get("SIGHTLINE_ALL_MODELS") == "1" else FAMILY_SMOKE
H, W = 96, 128
# At score 0 random heads return hundreds of boxes; fewer keep the test fast and still check them.
FEW_DETECTIONS = {
    "fasterrcnn": {"box_detections_per_img": 20, "rpn_post_nms_top_n_test": 100},
    "maskrcnn": {"box_detections_per_img": 10, "rpn_post_nms_top_n_test": 100},
    "retinanet": {"detections_per_img": 20, "topk_candidates": 50},
    "fcos": {"detections_per_img": 20, "topk_candidates": 50},
    "ssd": {"detections_per_img": 20, "topk_candidates": 50},
    "ssdlite": {"detections_per_img": 20, "topk_candidates": 50},
}


def test_registry_holds_exactly_the_issue_models_and_the_compact_ones_by_task():
    for task, names in ISSUE_MODELS.items():
        assert sorted(model_names(task)) == sorted(names + COMPACT_MODELS.get(task, []))
    every = [*ISSUE_MODELS.values(), *COMPACT_MODELS.values()]
    assert sorted(SPECS) == sorted(n for names in every for n in names)
    assert all(SPECS[n].has_weights for names in ISSUE_MODELS.values() for n in names)


def test_compact_models_say_they_have_no_published_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for name in (n for names in COMPACT_MODELS.values() for n in names):
        assert not get_spec(name).has_weights
        with pytest.raises(LookupError, match="no published weights.*checkpoint"):
            load_model(name, source="default", device="cpu")
        with pytest.raises(LookupError, match="no published weights"):
            build_model(name, num_classes=3, weights="DEFAULT")
        assert list(tmp_path.iterdir()) == []  # nothing was looked up or downloaded


def test_categories_come_from_torchvision_meta():
    coco = get_spec("fasterrcnn_resnet50_fpn").categories
    assert len(coco) == 91 and coco[0] == BACKGROUND and coco[1] == "person" and coco[90] == "toothbrush"
    voc = get_spec("deeplabv3_resnet50").categories
    assert len(voc) == 21 and voc[0] == BACKGROUND and voc[15] == "person"
    for spec in (s for s in SPECS.values() if s.has_weights):
        assert spec.categories == (coco if spec.task != SEMANTIC else voc)
        assert spec.min_size > 0 and 0.0 <= spec.default_score < 1.0
        assert tuple(spec.default_weights.meta["categories"]) == spec.categories


def test_unknown_model_message_lists_the_known_names():
    with pytest.raises(KeyError) as e:
        get_spec("yolov99")
    assert "yolov99" in str(e.value) and "maskrcnn_resnet50_fpn" in str(e.value)


@pytest.mark.parametrize("name", list(SPECS))
def test_every_model_has_class_rows_sized_by_num_classes(name):
    """Built on the meta device (no memory): the class-indexed layers follow num_classes."""
    rows = class_indexed_parameters(name)
    assert rows, f"{name}: no class-indexed layer found"
    with torch.device("meta"):
        sd = build_model(name, num_classes=5).state_dict()
    for key, k in rows.items():
        assert sd[key].shape[0] == 5 * k


def test_build_model_sizes_heads_and_passes_builder_keywords():
    m = build_model("fasterrcnn_mobilenet_v3_large_320_fpn", num_classes=3, min_size=64, max_size=128)
    assert m.roi_heads.box_predictor.cls_score.out_features == 3
    assert m.transform.min_size == (64,) and m.transform.max_size == 128
    s = build_model("lraspp_mobilenet_v3_large", num_classes=4)
    assert s.classifier.low_classifier.out_channels == 4
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_model("fcos_resnet50_fpn", num_classes=1)


def _check_prediction(p: ImagePrediction, spec, categories):
    n = len(p.labels)
    assert p.boxes.shape == (n, 4) and p.boxes.dtype == np.float32
    assert p.scores.shape == (n,)
    assert p.class_names == list(categories)
    assert all(name in categories and name not in (BACKGROUND, "N/A") for name in p.labels)
    if n:
        assert (p.boxes[:, 2:] >= 0).all()
        assert (p.boxes[:, 0] >= -1e-3).all() and (p.boxes[:, 0] + p.boxes[:, 2] <= W + 1e-3).all()
        assert (p.boxes[:, 1] >= -1e-3).all() and (p.boxes[:, 1] + p.boxes[:, 3] <= H + 1e-3).all()
    if spec.task == DETECTION:
        assert p.masks is None and p.semantic is None
    else:
        assert p.masks is not None and len(p.masks) == n
        for rle in p.masks:
            assert rle["size"] == [H, W] and isinstance(rle["counts"], str)
            assert mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).shape == (H, W)
    if spec.task == SEMANTIC:
        assert p.semantic.shape == (H, W) and p.semantic.min() >= 0 and p.semantic.max() < len(categories)
        present = {categories[c] for c in np.unique(p.semantic)} - {BACKGROUND}
        assert set(p.labels) == present  # score threshold of semantic models is 0: all present classes
        for name, rle in zip(p.labels, p.masks):
            c = categories.index(name)
            decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
            assert np.array_equal(decoded.astype(bool), p.semantic == c)


@pytest.mark.parametrize("name", PREDICTED)
def test_model_builds_with_random_weights_and_predicts_on_cpu(name):
    spec = get_spec(name)
    kw = {} if spec.task == SEMANTIC else {"min_size": 64, "max_size": 128}
    kw.update(FEW_DETECTIONS.get(spec.family, {}))
    torch.manual_seed(0)  # random heads, but the same ones every run
    loaded = load_model(name, "random", "cpu", **kw)
    try:
        assert loaded.device.type == "cpu" and loaded.precision == "fp32" and not loaded.model.training
        # Score 0: random heads still yield detections, so the postprocessing is exercised.
        pred = Predictor(loaded, score_threshold=0.0, input_size=64)
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(2)]
        out = pred.predict(images)
        assert len(out) == 2
        for p in out:
            _check_prediction(p, spec, loaded.categories)
        assert len(out[0]) > 0, "random heads at score 0 predict something, so postprocessing ran"
    finally:
        release_model(loaded)


def test_an_unknown_model_is_a_readable_sightline_error():
    from annotations.errors import SightlineError
    from engine.registry import UnknownModel, get_spec
    with pytest.raises(UnknownModel) as info:
        get_spec("yolo9")
    assert isinstance(info.value, SightlineError) and isinstance(info.value, KeyError)
    assert str(info.value).startswith("Unknown model 'yolo9'. Known models: ")  # not KeyError's quoted repr


def test_a_new_model_is_one_module(tmp_path, monkeypatch):
    """A module of engine/models/ that declares MODELS is in the registry; its builder builds it."""
    import sys
    from engine import models, registry
    (tmp_path / "tiny.py").write_text(
        "import torch\n"
        "from engine.model_spec import BACKGROUND, CLASS_MAJOR, SEMANTIC, ModelSpec\n"
        "def tiny_seg(*, weights=None, weights_backbone=None, num_classes=2, **kw):\n"
        "    return torch.nn.Conv2d(3, num_classes, 1)\n"
        "MODELS = (ModelSpec('tiny_seg', SEMANTIC, (BACKGROUND, 'thing'), 64, 0.0, 64, 'tiny', CLASS_MAJOR,\n"
        "                    description='one convolution', builder=tiny_seg),)\n", encoding="utf-8")
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(tmp_path)])
    try:
        specs = registry._specs()
        assert list(specs)[:len(registry.SPECS)] == list(registry.SPECS)  # torchvision's first, as listed
        assert specs["tiny_seg"].task == SEMANTIC and not specs["tiny_seg"].has_weights
        monkeypatch.setattr(registry, "SPECS", specs)
        net = registry.build_model("tiny_seg", num_classes=3)
        assert net(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)
        (tmp_path / "twice.py").write_text("from engine.models.tiny import MODELS\n", encoding="utf-8")
        with pytest.raises(ValueError, match="two models are named 'tiny_seg'"):
            registry._specs()
    finally:
        for name in ("engine.models.tiny", "engine.models.twice"):
            sys.modules.pop(name, None)
