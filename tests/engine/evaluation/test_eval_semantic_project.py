"""Semantic metrics of a stored run, on a 10x10 image worked out by hand, through main.py evaluate."""
import json

import numpy as np
import pytest

from annotations.model import PREDICTION, Annotation, Category, ImageRecord, ModelRun
from engine.evaluation.semantic_project import evaluate_project_semantic
from main import main


def test_semantic_run_against_labels(store, capsys, tmp_path):
    a, b, c = store.add_categories([Category(None, "a"), Category(None, "b"), Category(None, "c")])
    img = store.add_image(ImageRecord(None, "x.png", 10, 10))
    store.add_annotations([Annotation(None, img, a, bbox=(0, 0, 5, 10)),    # left half: a
                           Annotation(None, img, b, bbox=(5, 0, 5, 10)),    # right half: b
                           Annotation(None, img, a, bbox=(0, 0, 2, 2), iscrowd=1)])  # 4 pixels ignored
    run = store.add_run(ModelRun(None, "seg"))
    pred = lambda cat, box, s: Annotation(None, img, cat, bbox=box, score=s, status=PREDICTION, run_id=run)  # noqa: E731
    # Columns 0-5 predicted a (the more confident mask wins over the b one under it), the rest background.
    store.add_annotations([pred(b, (4, 0, 2, 10), 0.2), pred(a, (0, 0, 6, 10), 0.9)])
    m = evaluate_project_semantic(store, run)
    # Classes: background, a, b, c. Counted pixels: 96. Labels a 46, b 50; predicted a 56, background 40.
    np.testing.assert_array_equal(m.confusion, [[0, 0, 0, 0], [0, 46, 0, 0], [40, 10, 0, 0], [0, 0, 0, 0]])
    assert m.pixel_accuracy == pytest.approx(46 / 96)
    np.testing.assert_allclose(m.iou[:3], [0.0, 46 / 56, 0.0])
    assert np.isnan(m.iou[3])  # c: absent from both
    assert m.miou == pytest.approx((46 / 56) / 3)
    assert m.mean_pixel_accuracy == pytest.approx((1 + 0) / 2)
    root = store.root
    store.close()
    out = tmp_path / "sem.json"
    assert main(["evaluate", "--project", str(root), "--model-run", str(run), "--iou-type", "semantic",
                 "--json", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[-1] == f"{(46 / 56) / 3:.3f}"
    data = json.loads(out.read_text())
    assert data["per_class"][3]["iou"] is None and data["miou"] == pytest.approx((46 / 56) / 3)
    assert main(["evaluate", "--gt", "x.json", "--dt", "y.json", "--iou-type", "semantic"]) == 2
