"""The typed reader of COCO files (engine/evaluation/reader.py) gives what the dict path gives: the
same columns, the same report on every backend, and for anything it does not take as certainly
valid, the dict path's own answer (the same figures, or the same one-line refusal)."""
import json

import numpy as np
import pytest

from eval_coco_cases import make_case
from test_eval_coco_oracle import BACKENDS, DATA
from engine.evaluation import EvaluationError
from engine.evaluation.columns import read_columns
from engine.evaluation.inputs import load_json_file
from engine.evaluation.reader import Record, read_coco_files
from engine.evaluation.report import evaluate_files_report

GT = DATA / "instances_val2014_100.json"
RESULTS = {"bbox": DATA / "instances_val2014_fakebbox100_results.json",
           "segm": DATA / "instances_val2014_fakesegm100_results.json"}


def _write(tmp_path, gt, dt):
    gp, dp = tmp_path / "gt.json", tmp_path / "dt.json"
    gp.write_text(json.dumps(gt))
    dp.write_text(dt if isinstance(dt, str) else json.dumps(dt))
    return gp, dp


def _assert_same_columns(a, b):
    for name in vars(a):
        x, y = getattr(a, name), getattr(b, name)
        if x is None or y is None:
            assert x is None and y is None, name
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def _assert_same_report(a, b):
    np.testing.assert_array_equal(a.coco.stats, b.coco.stats)
    np.testing.assert_array_equal(a.coco.precision, b.coco.precision)
    assert [vars(c) for c in a.coco.per_class] == [vars(c) for c in b.coco.per_class]
    for name in ("p_outcome", "p_reason", "p_gt", "p_iou", "p_confused", "g_tp_pred", "g_best_iou", "g_ignored"):
        np.testing.assert_array_equal(getattr(a.matches, name), getattr(b.matches, name))
    assert a.tide.counts == b.tide.counts and a.tide.dap == b.tide.dap
    assert a.voc.map == b.voc.map or (np.isnan(a.voc.map) and np.isnan(b.voc.map))
    assert a.to_dict() == b.to_dict()


def _outcome(gp, dp, iou_type, backend=None, reader=True):
    """The report, or the refusal's message."""
    try:
        if reader:
            gt, dt, columns = read_coco_files(gp, dp, iou_type)
        else:
            gt, dt, columns = load_json_file(gp, "ground truth"), load_json_file(dp, "detections"), None
        return evaluate_files_report(gt, dt, iou_type, backend=backend, columns=columns)
    except EvaluationError as e:
        return str(e)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_coco_val2014_files_give_the_dict_paths_columns_and_report(iou_type):
    gt, dt, columns = read_coco_files(GT, RESULTS[iou_type], iou_type)
    assert columns is not None
    assert isinstance(gt["annotations"][0], Record) and isinstance(dt[0], Record)
    plain_gt, plain_dt = load_json_file(GT, "gt"), load_json_file(RESULTS[iou_type], "dt")
    _assert_same_columns(columns, read_columns(plain_gt, plain_dt, iou_type))
    _assert_same_report(_outcome(GT, RESULTS[iou_type], iou_type), _outcome(GT, RESULTS[iou_type], iou_type,
                                                                          reader=False))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_every_backend_reads_the_records_as_it_reads_dicts(backend, iou_type, tmp_path):
    """Crowd regions, absent classes, polygons and RLEs (make_case), through each evaluator."""
    gt, dt = make_case(seed=3, masks=iou_type == "segm")
    gp, dp = _write(tmp_path, gt, dt)
    assert read_coco_files(gp, dp, iou_type)[2] is not None
    _assert_same_report(_outcome(gp, dp, iou_type, backend), _outcome(gp, dp, iou_type, backend, reader=False))


def test_fields_the_evaluation_does_not_read_are_skipped(tmp_path):
    gt, dt = make_case(seed=1)  # every label has a polygon too
    for a in gt["annotations"]:
        a["keypoints"] = [1, 2, 2] * 17
        a["attributes"] = {"occluded": True, "note": None}
    gt["info"] = {"year": 2026}
    for d in dt:
        d["extra"] = [{"nested": [1, 2]}]
    gp, dp = _write(tmp_path, gt, dt)
    g, r, columns = read_coco_files(gp, dp, "bbox")
    assert columns is not None and "keypoints" not in g["annotations"][0] and "segmentation" not in r[0]
    _assert_same_report(_outcome(gp, dp, "bbox"), _outcome(gp, dp, "bbox", reader=False))


def test_a_record_reads_like_its_dict(tmp_path):
    gt, dt = make_case(seed=2)
    gp, dp = _write(tmp_path, gt, dt)
    g, r, _ = read_coco_files(gp, dp, "bbox")
    a, d = g["annotations"][0], r[0]
    assert a["id"] == gt["annotations"][0]["id"] and a.get("iscrowd", 0) == gt["annotations"][0]["iscrowd"]
    assert list(d["bbox"]) == dt[0]["bbox"] and "bbox" in d and "segmentation" not in d
    assert d.get("difficult", 7) == 7 and d.get("nothing") is None
    with pytest.raises(KeyError):
        d["segmentation"]
    assert dict(d) == {k: v for k, v in dt[0].items() if k != "bbox"} | {"bbox": tuple(dt[0]["bbox"])}
    assert d.as_dict() == dt[0]


def _edit(where, index, key, value):
    def apply(gt, dt):
        rows = dt if where == "dt" else gt[where]
        if value is _DROP:
            rows[index].pop(key, None)
        else:
            rows[index][key] = value
    return apply


_DROP = object()
HOSTILE = {
    "string image id": _edit("dt", 3, "image_id", "3"),
    "float image id": _edit("dt", 3, "image_id", 3.0),
    "bool category": _edit("dt", 3, "category_id", True),
    "id beyond 64 bits": _edit("annotations", 2, "id", 2 ** 64 + 5),
    "id at 2**63": _edit("dt", 1, "image_id", 2 ** 63),
    "unknown image": _edit("dt", 3, "image_id", 424242),
    "unknown category": _edit("annotations", 0, "category_id", 4242),
    "label without area": _edit("annotations", 5, "area", _DROP),
    "area null": _edit("annotations", 5, "area", None),
    "box of three": _edit("dt", 0, "bbox", [1, 2, 3]),
    "box with a string": _edit("annotations", 0, "bbox", [1, 2, "3", 4]),
    "box of dicts": _edit("dt", 0, "bbox", {"x": 1}),
    "score as text": _edit("dt", 9, "score", "0.9"),
    "score null": _edit("dt", 9, "score", None),
    "one result without a box": _edit("dt", 4, "bbox", _DROP),
    "image without id": _edit("images", 0, "id", _DROP),
    "category id as text": _edit("categories", 0, "id", "1"),
    "crowd as text": _edit("annotations", 0, "iscrowd", "yes"),
    "no segmentation on a label": _edit("annotations", 0, "segmentation", _DROP),
    "RLE without counts": _edit("dt", 0, "segmentation", {"size": [10, 10]}),
}


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
@pytest.mark.parametrize("problem", sorted(HOSTILE))
def test_doubtful_input_gets_the_dict_paths_answer(problem, iou_type, tmp_path):
    gt, dt = make_case(seed=5, masks=iou_type == "segm")
    HOSTILE[problem](gt, dt)
    gp, dp = _write(tmp_path, gt, dt)
    fast, plain = _outcome(gp, dp, iou_type), _outcome(gp, dp, iou_type, reader=False)
    if isinstance(plain, str):
        assert fast == plain
    else:
        _assert_same_report(fast, plain)


@pytest.mark.parametrize("text, words", [
    ("", "the file is empty"), ("[{", "not valid JSON"), (b"\xff\xfe[]", "not valid JSON"),
    ("[]", "no detections"), ("{\"images\": [], \"annotations\": []}", "swapped"), ("[1e999]", "not valid JSON"),
    ("NaN", "not valid JSON (detections): NaN at line 1, column 1 is not a number JSON allows"),
    # As Python's json.dump writes a score that is not finite: the message says which value and where.
    ('[{"image_id": 1, "category_id": 1,\n "bbox": [1, 2, 3, 4], "score": -Infinity}]',
     "-Infinity at line 2, column 33 is not a number JSON allows"),
    ('[{"image_id": 1, "category_id": 1, "bbox": [NaN, 2, 3, 4], "score": 0.5}]', "NaN at line 1, column 45"),
    ('[{"image_id": 1, "file": "NaN", "bbox": [1, 2, 3, 4], }]', "not valid JSON"),
])
def test_bad_results_files_are_refused_as_before(text, words, tmp_path):
    gt, _ = make_case(seed=4)
    gp, dp = _write(tmp_path, gt, "")
    dp.write_bytes(text if isinstance(text, bytes) else text.encode())
    fast, plain = _outcome(gp, dp, "bbox"), _outcome(gp, dp, "bbox", reader=False)
    assert isinstance(fast, str) and fast == plain and words in fast


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_a_deeply_nested_label_is_refused_as_before(iou_type, tmp_path):
    """A bbox evaluation skips the segmentation unbuilt, yet the file is refused as orjson refuses it."""
    gt, dt = make_case(seed=4, masks=iou_type == "segm")
    gp, dp = _write(tmp_path, gt, dt)
    text = gp.read_text()
    cut = text.index('"segmentation": ') + len('"segmentation": ')
    end = text.index("]]", cut) + 2
    gp.write_text(text[:cut] + "[" * 100_000 + "]" * 100_000 + text[end:])
    fast, plain = _outcome(gp, dp, iou_type), _outcome(gp, dp, iou_type, reader=False)
    assert isinstance(fast, str) and fast == plain and "not valid JSON" in fast


def test_a_missing_file_is_named(tmp_path):
    gp, dp = _write(tmp_path, *make_case(seed=4))
    message = _outcome(gp, tmp_path / "nowhere.json", "bbox")
    assert message == f"{tmp_path / 'nowhere.json'}: no such file (detections)"
    assert _outcome(tmp_path, dp, "bbox").endswith("cannot be read (ground truth): not a regular file "
                                                   "(a device, a pipe or a folder)")  # a folder
    assert _outcome(str(gp) + "\0x", dp, "bbox").endswith("no such file (ground truth)")
