"""`main.py rank`: the JSON it writes, the flip and diverse paths with a checkpoint, bad input."""
from __future__ import annotations

import json
import shutil

import pytest

import main
from annotations.demo import generate_demo
from annotations.model import LABEL
from annotations.store import Store

from .helpers import categories, image, label, pred, run


def _rank(args, capsys):
    rc = main.main(["rank", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def hand_project(tmp_path):
    """Two labelled images (one wrong class, one supported, one missing label), two unlabelled."""
    path = tmp_path / "p"
    with Store.open(path) as store:
        c = categories(store, ("a", "b"))
        r = run(store)
        i1, i2, u1, u2 = (image(store, n) for n in ("i1", "i2", "u1", "u2"))
        wrong = label(store, i1, c["b"], (10, 10, 40, 40))
        pred(store, i1, c["a"], (10, 10, 40, 40), 0.8, r)
        label(store, i2, c["a"], (10, 10, 40, 40))
        pred(store, i2, c["a"], (10, 10, 40, 40), 0.9, r)
        missing = pred(store, i2, c["a"], (60, 60, 20, 20), 0.99, r)
        pred(store, u1, c["a"], (10, 10, 40, 40), 0.5, r)
        pred(store, u2, c["a"], (10, 10, 40, 40), 0.9, r)
    return path, r, {"i1": i1, "i2": i2, "u1": u1, "u2": u2, "wrong": wrong, "missing": missing}


def test_mistakenness_json_lists_images_best_first_with_their_objects(hand_project, tmp_path, capsys):
    path, r, ids = hand_project
    out = tmp_path / "rank.json"
    rc, stdout, stderr = _rank(["--project", path, "--run", r, "--strategy", "mistakenness", "--json", out], capsys)
    assert rc == 0, stderr
    entries = json.loads(out.read_text())
    assert [e["image_id"] for e in entries] == [ids["i2"], ids["i1"]]  # 0.995 (missing) before 0.9
    assert [e["file_name"] for e in entries] == ["images/i2.jpg", "images/i1.jpg"]
    for e in entries:
        assert {"image_id", "file_name", "score", "objects", "why"} <= set(e)
        assert e["score"] == max(o["score"] for o in e["objects"])
        for o in e["objects"]:
            assert {"annotation_id", "prediction_id", "kind", "score"} <= set(o)
    top = entries[0]["objects"][0]
    assert top == {**top, "annotation_id": None, "prediction_id": ids["missing"], "kind": "missing", "score": 0.995}
    second = entries[1]["objects"][0]
    assert second["kind"] == "wrong_class" and second["annotation_id"] == ids["wrong"]
    assert "images/i2.jpg" in stdout and "missing 0.99" in stdout and "stored as set" in stdout
    with Store.open(path, create=False) as store:  # the scores are in the project
        from annotations import scores
        s = scores.find_set(store, "mistakenness", r)
        assert scores.image_scores(store, s.id) == {ids["i2"]: 0.995, ids["i1"]: 0.9}


def test_uncertainty_ranks_the_unlabelled_images(hand_project, tmp_path, capsys):
    path, r, ids = hand_project
    out = tmp_path / "u.json"
    rc, _, stderr = _rank(["--project", path, "--run", r, "--strategy", "margin", "--json", out], capsys)
    assert rc == 0, stderr
    entries = json.loads(out.read_text())
    assert [e["image_id"] for e in entries] == [ids["u1"], ids["u2"]]
    assert entries[0]["near_threshold"] == 1 and entries[0]["objects"][0]["kind"] == "uncertain"


@pytest.mark.parametrize("args, message", [
    (["--run", 9, "--strategy", "uncertainty"], "no model run 9"),
    (["--run", 1, "--strategy", "disagreement"], "--run2"),
    (["--run", 1, "--strategy", "disagreement", "--run2", "x"], "--run2 must be"),
    (["--run", 1, "--strategy", "uncertainty", "--diverse", 0], "--diverse"),
    (["--run", 1, "--strategy", "uncertainty", "--diverse", 2], "embeddings|weights"),
    (["--run", 1, "--strategy", "uncertainty", "--threshold", 2], "threshold"),
])
def test_bad_input_is_one_error_line_and_exit_2(hand_project, capsys, args, message):
    import re
    path, _, _ = hand_project
    rc, stdout, stderr = _rank(["--project", path, *args], capsys)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and re.search(message, lines[0]), stderr


def test_no_project_is_an_error(tmp_path, capsys):
    rc, _, stderr = _rank(["--project", tmp_path / "none", "--run", 1, "--strategy", "entropy"], capsys)
    assert rc == 2 and stderr.startswith("error: ") and "No project" in stderr


@pytest.fixture(scope="module")
def checkpoint_project(tmp_path_factory):
    """A demo project whose 4 val images are unlabelled, a random-weight compact checkpoint, and a
    prediction run of it made with `main.py predict`."""
    import torch

    from engine.registry import BACKGROUND, build_model
    from engine.weights import save_checkpoint
    base = tmp_path_factory.mktemp("rankcli")
    path = base / "demo"
    generate_demo(path, n_images=20, seed=2).close()
    with Store.open(path, create=False) as store:
        val = store.image_ids("val")[:4]
        store.delete_annotations([a.id for a in store.annotations(status=LABEL, image_ids=val)])
        names = [c.name for c in store.categories()]
    torch.manual_seed(0)
    ckpt = save_checkpoint(base / "m.pt", build_model("fcos_compact_fpn", num_classes=len(names) + 1),
                           "fcos_compact_fpn", [BACKGROUND, *names])
    assert main.main(["predict", "--model", "fcos_compact_fpn", "--weights", str(ckpt), "--device", "cpu",
                      "--score", "0.001", "--project", str(path), "--split", "val"]) == 0
    return path


def test_flip_and_diverse_load_the_runs_model_from_its_checkpoint(checkpoint_project, tmp_path, capsys):
    path = tmp_path / "p"
    shutil.copytree(checkpoint_project, path)
    capsys.readouterr()
    out = tmp_path / "d.json"
    rc, _, stderr = _rank(["--project", path, "--run", 1, "--strategy", "disagreement", "--run2", "flip",
                           "--diverse", 2, "--split", "val", "--device", "cpu", "--json", out], capsys)
    assert rc == 0, stderr
    assert "stored as run 2" in stderr
    entries = json.loads(out.read_text())
    assert len(entries) == 2 and all("penalty" in e for e in entries)
    with Store.open(path, create=False) as store:
        assert store.run(2).params["flip_of"] == 1
        from annotations.scores import load_embeddings
        assert len(load_embeddings(store, 1)) == 4  # the four unlabelled val images
    rc, _, stderr = _rank(["--project", path, "--run", 1, "--strategy", "disagreement", "--run2", "flip",
                           "--split", "val"], capsys)
    assert rc == 0 and "using run 2" in stderr  # the mirror-image run is reused
