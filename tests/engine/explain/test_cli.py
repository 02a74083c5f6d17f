"""`main.py explain`: the --npy map has the image's shape and values in [0, 1]; bad layer names,
targets and methods give one clear error line and exit code 2; the split report is written."""
import json

import numpy as np
import pytest

import main
from annotations.imageio import write_rgb

MODEL = "fcos_compact_fpn"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain_cli") / "shapes.png"
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (75, 110, 3), dtype=np.uint8)
    rgb[20:50, 30:70] = (220, 40, 40)
    write_rgb(path, rgb)
    return path


def _explain(*args):
    return main.main(["explain", "--model", MODEL, "--weights", "random", "--device", "cpu", *map(str, args)])


@pytest.mark.parametrize("method,extra", [
    ("gradcam", []),  # no target: the top-scoring detection
    ("occlusion", ["--target-box", "30,20,40,30", "--target-class", "shape", "--param", "window=16"]),
])
def test_explain_writes_the_overlay_and_the_raw_map_with_the_image_shape(trained_compact, tmp_path, capsys, method,
                                                                         extra):
    from annotations.store import Store
    project, run_dir, _ = trained_compact
    store = Store.open(project, create=False)
    rec = store.image(store.image_ids("val")[0])
    path = store.image_path(rec)
    store.close()
    out, npy = tmp_path / "heat.png", tmp_path / "heat.npy"
    rc = main.main(["explain", "--model", MODEL, "--weights", str(run_dir / "last.pt"), "--device", "cpu",
                    "--image", str(path), "--method", method, "--out", str(out), "--npy", str(npy),
                    "--auc-steps", "8", *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    heat = np.load(npy)
    assert heat.shape == (rec.height, rec.width) and heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() == 1.0
    from annotations.imageio import read_rgb
    assert read_rgb(out).shape == (rec.height, rec.width, 3)
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["method"] == method and 0 <= summary["deletion_auc"] <= 1 and 0 <= summary["insertion_auc"] <= 1
    assert "deletion AUC" in captured.err and "insertion AUC" in captured.err


@pytest.mark.parametrize("args,message", [
    (["--method", "gradcam", "--layer", "backbone.fpm"], "Unknown layer 'backbone.fpm'. Did you mean: backbone.fpn"),
    (["--method", "gradcan"], "Unknown method 'gradcan'"),
    (["--method", "gradcam", "--target-class", "tank"], "Unknown class 'tank'"),
    (["--method", "gradcam", "--target-index", "5000"], "target index 5000"),
    (["--method", "gradcam", "--target-box", "1,2,3"], "expected X,Y,W,H"),
    (["--method", "gradcam", "--target-box", "10,10,0,5", "--target-class", "object"], "has no area"),
    (["--method", "occlusion", "--param", "windw=3"], "occlusion has no parameter windw"),
    (["--method", "occlusion", "--param", "baseline=grey"], "Unknown baseline 'grey'"),
])
def test_bad_layer_target_method_or_parameter_is_one_error_line(image, tmp_path, capsys, args, message):
    out = tmp_path / "heat.png"
    rc = _explain("--image", image, "--out", out, "--auc-steps", "0", *args)
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert rc == 2 and len(errors) == 1 and message in errors[0], err
    assert not out.exists()


def test_missing_image_is_an_error_naming_the_file(tmp_path, capsys):
    rc = _explain("--image", tmp_path / "nope.png", "--method", "gradcam", "--out", tmp_path / "h.png")
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error:") and "nope.png" in err


def test_split_report_lists_classes_images_and_mean_aucs(trained_compact, tmp_path, capsys):
    project, run_dir, _ = trained_compact
    report = tmp_path / "report.json"
    rc = main.main(["explain", "--project", str(project), "--model-run", run_dir.name, "--split", "val",
                    "--method", "gradcam", "--report", str(report), "--auc-steps", "4", "--device", "cpu"])
    assert rc == 0, capsys.readouterr().err
    d = json.loads(report.read_text())
    assert set(d["per_class"]) == {"shape"} and d["total"] == sum(im["total"] for im in d["images"]) > 0
    assert 0 <= d["mean_deletion_auc"] <= 1 and 0 <= d["mean_insertion_auc"] <= 1
    rates = [im["hits"] / im["total"] for im in d["images"]]
    assert rates == sorted(rates)  # misses first
    assert "pointing game" in capsys.readouterr().out
    bad = main.main(["explain", "--project", str(project), "--model-run", "nope", "--method", "gradcam",
                     "--report", str(tmp_path / "r2.json")])
    assert bad == 2 and "--model-run 'nope'" in capsys.readouterr().err
