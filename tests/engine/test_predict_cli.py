"""`main.py predict` on a tiny generated project and an image folder; bad input exits 2."""
import contextlib
import io
import json
import shutil

import pytest
import torch
from pycocotools.coco import COCO

import main
from annotations.demo import generate_demo
from annotations.formats.coco import store_to_coco_dict
from annotations.store import Store
from engine.registry import BACKGROUND, build_model
from engine.weights import OFFLINE_ENV, save_checkpoint

FAST = "fasterrcnn_mobilenet_v3_large_320_fpn"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "template"
    generate_demo(path, n_images=4, seed=3, size=(160, 120)).close()
    return path


@pytest.fixture
def project(template, tmp_path):
    shutil.copytree(template, tmp_path / "p")
    return tmp_path / "p"


def _coco(data: dict) -> COCO:
    c = COCO()
    c.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        c.createIndex()
    return c


def _run(args, capsys):
    rc = main.main(["predict", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_predict_project_stores_a_run_and_writes_results_pycocotools_loads(project, tmp_path, capsys):
    out = tmp_path / "results.json"
    rc, stdout, stderr = _run(["--model", FAST, "--weights", "random", "--device", "cpu", "--score", "0.0",
                               "--min-size", "64", "--max-size", "128", "--project", str(project), "--split", "train",
                               "--out", str(out), "--add-categories"], capsys)
    assert rc == 0, stderr
    assert "cpu" in stderr and "fp32" in stderr  # device and precision are reported
    results = json.loads(out.read_text())
    with Store.open(project, create=False) as store:
        (run,) = store.runs()
        assert run.model == FAST and run.params["split"] == "train" and run.params["device"] == "cpu"
        stored = store.annotations(run_id=run.id)
        assert len(stored) == len(results) > 0
        assert f"run {run.id}" in stdout
        train_ids = set(store.image_ids("train"))
        assert {r["image_id"] for r in results} <= train_ids
        assert {a.image_id for a in stored} == {r["image_id"] for r in results}
        gt = _coco(store_to_coco_dict(store))
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(str(out))
    assert len(dt.getAnnIds()) == len(results)
    assert set(dt.getCatIds()) == set(gt.getCatIds())  # predicted classes became categories, as asked


def test_predict_image_folder_writes_results_and_an_image_index(project, tmp_path, capsys):
    # A segmenter whose classifier never says "background", saved as this app's checkpoint.
    model = build_model("lraspp_mobilenet_v3_large", num_classes=3)
    with torch.no_grad():
        model.classifier.low_classifier.bias[0] = -1e4
    ckpt = save_checkpoint(tmp_path / "seg.pt", model, "lraspp_mobilenet_v3_large", [BACKGROUND, "circle", "star"])
    out = tmp_path / "seg.json"
    rc, stdout, stderr = _run(["--model", "lraspp_mobilenet_v3_large", "--weights", str(ckpt), "--device", "cpu",
                               "--min-size", "64", "--images", str(project / "images"), "--out", str(out)], capsys)
    assert rc == 0, stderr
    index = json.loads((tmp_path / "seg.images.json").read_text())
    files = sorted(p.name for p in (project / "images").iterdir())
    assert [im["file_name"] for im in index["images"]] == files
    assert [im["id"] for im in index["images"]] == [1, 2, 3, 4]
    assert all((im["width"], im["height"]) == (160, 120) for im in index["images"])
    results = json.loads(out.read_text())
    assert results and all("segmentation" in r for r in results)
    gt = _coco(index)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
    assert len(dt.getAnnIds()) == len(results)
    assert index["categories"] == [{"id": 1, "name": "circle", "supercategory": ""},
                                   {"id": 2, "name": "star", "supercategory": ""}]
    assert {r["category_id"] for r in results} <= {1, 2}
    assert all(r["image_id"] in {1, 2, 3, 4} for r in results)


def test_bad_input_gives_one_line_and_exit_code_2(project, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.setenv(OFFLINE_ENV, "1")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"nothing useful")
    cases = {
        "Unknown model 'yolo9'": ["--model", "yolo9", "--project", str(project)],
        str(junk): ["--model", FAST, "--weights", str(junk), "--project", str(project)],
        "ssdlite320_mobilenet_v3_large_coco-a79551df.pth": ["--model", "ssdlite320_mobilenet_v3_large",
                                                           "--project", str(project)],
        "No project at": ["--model", FAST, "--weights", "random", "--project", str(tmp_path / "nowhere")],
        "--out FILE.json is needed": ["--model", FAST, "--images", str(project / "images")],
        "CUDA": ["--model", FAST, "--weights", "random", "--device", "cuda", "--project", str(project)],
    }
    if torch.cuda.is_available():
        del cases["CUDA"]
    for expected, args in cases.items():
        rc, stdout, stderr = _run(args, capsys)
        assert rc == 2, (args, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    with Store.open(project, create=False) as store:
        assert store.runs() == [] and store.annotation_count("prediction") == 0  # nothing changed
