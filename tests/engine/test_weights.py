"""Weights: checkpoints round-trip exactly, torchvision's cache is used offline, offline without a
cached file says what to do, mismatched classes are mapped by name or refused, release frees RAM."""
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.category_mapping import KEEP_INIT, SUPPRESSED_LOGIT, remap_state_dict
from engine.device import DeviceUnavailable, resolve_device
from engine.predictor import Predictor
from engine.registry import BACKGROUND, build_model, get_spec
from engine import weights as W
from engine import weight_cache
from engine.weights import (CheckpointError, WeightsUnavailable, default_weights_path, load_checkpoint, load_model,
                            release_model, save_checkpoint)

FAST = "fasterrcnn_mobilenet_v3_large_320_fpn"
SMALL = {"min_size": 64, "max_size": 128}


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(2)]


def _same_predictions(a, b):
    assert len(a) == len(b)
    for p, q in zip(a, b):
        assert p.labels == q.labels
        np.testing.assert_array_equal(p.boxes, q.boxes)
        np.testing.assert_array_equal(p.scores, q.scores)


def test_checkpoint_saved_and_loaded_predicts_identically(tmp_path, images):
    cats = [BACKGROUND, "circle", "square", "triangle"]
    loaded = load_model(FAST, "random", "cpu", project_categories=cats[1:], **SMALL)
    before = Predictor(loaded, score_threshold=0.0).predict(images)
    assert sum(len(p) for p in before) > 0
    path = save_checkpoint(tmp_path / "ckpt" / "model.pt", loaded.model, FAST, loaded.categories,
                           epoch=7, options={"lr": 0.01})
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left
    ckpt = load_checkpoint(path)
    assert (ckpt["format"], ckpt["version"], ckpt["model_name"]) == ("sightline-checkpoint", 1, FAST)
    assert ckpt["categories"] == cats and ckpt["epoch"] == 7 and ckpt["options"] == {"lr": 0.01}

    again = load_model(FAST, str(path), "cpu", **SMALL)
    assert again.categories == cats and str(path) in again.source
    _same_predictions(before, Predictor(again, score_threshold=0.0).predict(images))
    by_name = load_model(None, str(path), "cpu", **SMALL)  # the checkpoint names its model
    assert by_name.spec.name == FAST


def test_bare_torchvision_state_dict_loads_with_registry_categories(tmp_path, images):
    model = build_model(FAST, **SMALL).eval()
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    loaded = load_model(FAST, str(tmp_path / "bare.pth"), "cpu", **SMALL)
    assert loaded.categories == list(get_spec(FAST).categories)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k]), k
    with pytest.raises(CheckpointError, match="bare state dict"):
        load_model(None, str(tmp_path / "bare.pth"))
    torch.save(build_model(FAST, num_classes=4).state_dict(), tmp_path / "four.pth")
    with pytest.raises(CheckpointError, match="a bare state dict for 4 classes") as e:
        load_model(FAST, str(tmp_path / "four.pth"), **SMALL)
    assert str(tmp_path / "four.pth") in str(e.value)


def test_unreadable_or_wrong_checkpoints_are_refused_with_the_file_named(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    for path in (junk, tmp_path / "missing.pt"):
        with pytest.raises(CheckpointError) as e:
            load_model(FAST, str(path))
        assert str(path) in str(e.value)
    other = save_checkpoint(tmp_path / "ssd.pt", build_model("ssdlite320_mobilenet_v3_large", num_classes=3),
                            "ssdlite320_mobilenet_v3_large", [BACKGROUND, "a", "b"])
    with pytest.raises(CheckpointError, match="a checkpoint of ssdlite320_mobilenet_v3_large, not of " + FAST):
        load_model(FAST, str(other))
    wrong = tmp_path / "wrong.pt"
    torch.save({"format": "sightline-checkpoint", "version": 1, "model_name": FAST, "categories": [BACKGROUND, "a"],
                "model": build_model(FAST, num_classes=5).state_dict()}, wrong)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(FAST, str(wrong), **SMALL)


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv(W.OFFLINE_ENV, raising=False)
    return home


def test_offline_default_weights_name_the_file_the_folder_and_the_other_choices(empty_torch_home):
    with pytest.raises(WeightsUnavailable) as e:
        load_model("fcos_resnet50_fpn", "default", allow_download=False)
    msg = str(e.value)
    assert "fcos_resnet50_fpn_coco-99b0c9b7.pth" in msg
    assert str(empty_torch_home / "hub" / "checkpoints") in msg
    assert "checkpoint file" in msg and "random weights" in msg
    assert e.value.directory == empty_torch_home / "hub" / "checkpoints"


def test_failed_download_is_unavailable_not_a_crash(empty_torch_home, monkeypatch):
    # A port nothing listens on: the connection is refused at once, as offline DNS failures are.
    url = "http://127.0.0.1:9/fcos_resnet50_fpn_coco-99b0c9b7.pth"
    monkeypatch.setattr(weight_cache, "weights_url", lambda spec, weights="DEFAULT": url)
    with pytest.raises(WeightsUnavailable) as e:
        load_model("fcos_resnet50_fpn", "default")
    assert "could not be downloaded (" in str(e.value)
    assert not list((empty_torch_home / "hub" / "checkpoints").glob("*")), "no partial file left"


def test_cached_default_weights_load_without_network(empty_torch_home, images):
    name = "lraspp_mobilenet_v3_large"
    reference = build_model(name).eval()
    path = default_weights_path(name)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    loaded = load_model(name, "default", "cpu", allow_download=False)
    assert path.name in loaded.source
    for k, v in reference.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k]), k


def _distinct_rows(model):
    """Give every class-indexed row a value that names its class index, to follow it when mapped."""
    with torch.no_grad():
        p = model.roi_heads.box_predictor
        for c in range(p.cls_score.out_features):
            p.cls_score.weight[c] = 0.25 * c
            p.cls_score.bias[c] = 100 + c
            p.bbox_pred.weight[4 * c:4 * c + 4] = 0.0
            p.bbox_pred.bias[4 * c:4 * c + 4] = 0.125 * c  # small box deltas: boxes stay valid


def test_checkpoint_with_other_classes_is_mapped_by_name(tmp_path, images):
    source = [BACKGROUND, "cat", "dog", "cow"]
    model = build_model(FAST, num_classes=4, **SMALL)
    _distinct_rows(model)
    path = save_checkpoint(tmp_path / "animals.pt", model, FAST, source)

    loaded = load_model(FAST, str(path), "cpu", project_categories=["dog", "bird", "cat"], **SMALL)
    assert loaded.categories == [BACKGROUND, "dog", "bird", "cat"]
    p = loaded.model.roi_heads.box_predictor
    assert p.cls_score.weight[:, 0].tolist() == [0, 0.5, 0, 0.25]
    assert p.cls_score.bias.tolist() == [100, 102, SUPPRESSED_LOGIT, 101]
    assert p.bbox_pred.bias.tolist() == [0] * 4 + [0.25] * 4 + [0] * 4 + [0.125] * 4
    assert loaded.mapping.missing == ["bird"] and loaded.mapping.dropped == ["cow"]
    assert "bird" in loaded.describe() and "cow" in loaded.describe()
    preds = Predictor(loaded, score_threshold=0.0).predict(images)
    assert sum(len(x) for x in preds) > 0
    assert {n for x in preds for n in x.labels} <= {"dog", "cat"}, "an unknown class never fires"


def test_checkpoint_with_no_class_in_common_is_refused_with_the_reason(tmp_path):
    path = save_checkpoint(tmp_path / "animals.pt", build_model(FAST, num_classes=3), FAST, [BACKGROUND, "cat", "dog"])
    with pytest.raises(CheckpointError) as e:
        load_model(FAST, str(path), project_categories=["circle", "square"], **SMALL)
    msg = str(e.value)
    assert str(path) in msg and "no name in common" in msg and "cat" in msg and "circle" in msg


def test_anchor_major_heads_are_remapped_per_anchor():
    """RetinaNet's classifier rows are anchor * num_classes + class."""
    name = "retinanet_resnet50_fpn"
    src = build_model(name, num_classes=4).state_dict()
    key = "head.classification_head.cls_logits.bias"
    src[key] = torch.arange(src[key].numel(), dtype=torch.float32)  # row r holds r
    target_state = build_model(name, num_classes=3).state_dict()
    out, mapping = remap_state_dict(src, name, [BACKGROUND, "a", "b", "c"], [BACKGROUND, "c", "x"],
                                    target_state=target_state, fill=KEEP_INIT)
    rows = out[key].view(9, 3)  # 9 anchors x 3 classes
    for a in range(9):
        assert rows[a, 0] == a * 4 + 0 and rows[a, 1] == a * 4 + 3
        assert rows[a, 2] == target_state[key].view(9, 3)[a, 2]  # "x" keeps the fresh init
    assert mapping.common == ["c"]


def test_cuda_is_never_a_silent_fallback():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceUnavailable, match="Unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailable, match="CUDA is not available"):
            load_model(FAST, "random", "cuda")
        with pytest.raises(DeviceUnavailable, match="fp16 needs a CUDA device"):
            load_model(FAST, "random", "cpu", fp16=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fp16_reports_device_and_precision_and_predicts(images):
    loaded = load_model(FAST, "random", "cuda", fp16=True, **SMALL)
    assert loaded.device.type == "cuda" and loaded.precision == "fp16 autocast"
    assert loaded.info()["precision"] == "fp16 autocast"
    out = Predictor(loaded, score_threshold=0.0).predict(images)
    assert out[0].boxes.dtype == np.float32 and len(out[0]) > 0
    before = torch.cuda.memory_allocated()
    release_model(loaded)
    assert torch.cuda.memory_allocated() < before


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")
def test_switching_models_frees_memory(images):
    name = FAST  # ~19 M parameters: ~76 MB a copy, far above allocator noise

    def cycle():
        loaded = load_model(name, "random", "cpu", **SMALL)
        Predictor(loaded).predict(images[:1])
        ref = weakref.ref(loaded.model)
        held = _rss_mb()
        release_model(loaded)
        assert ref() is None, "something still holds the released model"
        return held

    cycle()
    start = _rss_mb()
    held = [cycle() for _ in range(3)]
    end = _rss_mb()
    assert end - start < 30, f"RSS grew from {start:.0f} to {end:.0f} MB over 3 load/release cycles"
    assert min(held) - end > 50, f"release returned too little: held {held} MB, after {end:.0f} MB"


def test_build_model_with_pretrained_weights_and_other_class_count(empty_torch_home, monkeypatch):
    """Fine-tuning start: every layer but the class-indexed ones comes from torchvision's file."""
    name = "lraspp_mobilenet_v3_large"
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    with pytest.raises(WeightsUnavailable):
        build_model(name, num_classes=3, weights="DEFAULT")  # offline, nothing cached: no hang
    reference = build_model(name).eval()
    path = default_weights_path(name)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model = build_model(name, num_classes=3, weights="DEFAULT")
    assert model.classifier.low_classifier.out_channels == 3
    ref = reference.state_dict()
    for k, v in model.state_dict().items():
        if "low_classifier" in k or "high_classifier" in k:
            assert v.shape[0] == 3
        else:
            assert torch.equal(v, ref[k]), k


def test_a_checkpoint_from_elsewhere_is_refused_in_one_line_with_nothing_else_on_the_terminal(tmp_path, capfd):
    """A checkpoint is a file from outside (downloaded, shared). A file of another pickle protocol
    made torch print a two-line UserWarning before our one-line refusal; an app checkpoint whose
    version is a word or whose class names are a number got past the checks."""
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x80\x04garbage")
    sd = {"w": torch.zeros(2)}
    cases = {garbage: "not a readable checkpoint",
             tmp_path / "v.pt": {"format": W.CHECKPOINT_FORMAT, "version": "abc", "model_name": FAST,
                                 "categories": [BACKGROUND], "model": sd},
             tmp_path / "c.pt": {"format": W.CHECKPOINT_FORMAT, "version": 1, "model_name": FAST,
                                 "categories": 5, "model": sd}}
    for path, obj in cases.items():
        if isinstance(obj, dict):
            torch.save(obj, path)
    capfd.readouterr()
    for path, why in zip(cases, ("not a readable checkpoint", "version is not a whole number", "are not text")):
        with pytest.raises(CheckpointError, match=why) as e:
            load_checkpoint(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
