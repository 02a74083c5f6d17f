"""Each detector family's target code (engine/explain/candidates.py) scores the model's own top
detection exactly as the model does, and a gradient map can be made at the family's default layer."""
import numpy as np
import pytest
import torch

from engine.explain import Explainable, detection, explain
from engine.explain.targets import top_detection_target
from engine.weights import load_model

FAMILIES = ["fasterrcnn_mobilenet_v3_large_320_fpn", "maskrcnn_resnet50_fpn", "retinanet_resnet50_fpn",
            "fcos_compact_fpn", "ssdlite320_mobilenet_v3_large"]


def _lower_thresholds(model):
    for holder in (getattr(model, "roi_heads", None), model):
        if holder is not None and hasattr(holder, "score_thresh"):
            holder.score_thresh = 0.0


@pytest.mark.parametrize("name", FAMILIES)
def test_target_code_scores_the_top_detection_as_the_model_does(name):
    torch.manual_seed(0)
    loaded = load_model(name, "random", "cpu", min_size=128, max_size=160)
    _lower_thresholds(loaded.model)
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    model = Explainable.from_loaded(loaded)
    x = model.to_input(image)
    with torch.no_grad():
        (out,) = loaded.model(list(x))
    real = (out["labels"] > 0).nonzero().flatten()  # label 0 is the background column, never a result
    assert len(real) > 0
    top = int(real[0])
    box, score, label = out["boxes"][top], float(out["scores"][top]), int(out["labels"][top])
    xywh = [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]
    target = detection(xywh, label)
    with torch.no_grad():
        ours = float(target.score(model.forward(x))[0])
    assert ours == pytest.approx(score, rel=1e-4, abs=1e-6)

    picked = top_detection_target(model, image)  # through engine.predictor, as the CLI picks it
    with torch.no_grad():  # random heads score many boxes alike: the pick is one of the top-scoring ones
        assert float(picked.score(model.forward(x))[0]) == pytest.approx(score, rel=1e-4, abs=1e-6)
    result = explain(model, image, target, "gradcam", faithfulness=False)
    assert result.layer == model.default_layer()
    assert result.heatmap.shape == (96, 128) and np.isfinite(result.heatmap).all()


def test_segmenter_class_over_a_region_is_explained_at_the_image_size():
    from engine.explain import box_region, semantic_target
    torch.manual_seed(0)
    loaded = load_model("lraspp_mobilenet_v3_large", "random", "cpu")
    model = Explainable.from_loaded(loaded)
    image = np.random.default_rng(1).integers(0, 255, (60, 90, 3), dtype=np.uint8)
    target = semantic_target(model, image)  # the largest predicted class, over its pixels
    assert target.label != 0 and target.mask.shape == (60, 90)
    in_box = box_region(target, (10, 10, 30, 20), image.shape)
    for t in (target, in_box):
        result = explain(model, image, t, "gradcam", auc_steps=4)
        assert result.layer == "backbone" and result.heatmap.shape == (60, 90)
        assert result.input_map.shape == tuple(model.to_input(image).shape[-2:]) != (60, 90)  # the model's input size
        assert 0 <= result.deletion_auc <= 1 and 0 <= result.insertion_auc <= 1


@pytest.mark.parametrize("name", FAMILIES)
def test_a_bare_torchvision_detector_is_recognised(name):
    """A model handed over without its registry family (a person's own nn.Module) is recognised by
    its torchvision class, SSD among them."""
    loaded = load_model(name, "random", "cpu", min_size=128, max_size=160)
    found = Explainable(loaded.model, "detector").family
    assert found == ("ssd" if loaded.spec.family == "ssdlite" else loaded.spec.family)  # one target code for both
