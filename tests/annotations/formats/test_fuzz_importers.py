"""Fuzz: malformed and hostile inputs for every importer, through `main.py import`.

Each case starts from a valid file in the importer's own layout and breaks one thing (a value of
the wrong type, a hostile number, a path out of the folders, broken syntax, ...). For each: exit
code 2, exactly one `error:` line that names the file (and the entry, where the format has
entries), and the project unchanged (database and folder)."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

import main as entry
from annotations.model import Annotation, Category, ImageRecord
from annotations.store import Store

from fmt_helpers import snapshot, write_image

W, H = 40, 30
HOSTILE_NUMBERS = [None, "7", True, [1], {"x": 1}, -5, 2 ** 63, 10 ** 400 // 10 ** 390 * 10 ** 300, 3e9,
                   float("nan"), float("inf")]


# ---- COCO ----------------------------------------------------------------------------------------
def coco_seed():
    return {"info": {}, "licenses": [],
            "images": [{"id": 1, "file_name": "a.jpg", "width": W, "height": H},
                       {"id": 2, "file_name": "b.jpg", "width": W, "height": H}],
            "categories": [{"id": 1, "name": "cat", "supercategory": "animal"}],
            "annotations": [{"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 8], "area": 80,
                             "iscrowd": 0, "segmentation": [[1, 2, 11, 2, 11, 10]]},
                            {"id": 11, "image_id": 2, "category_id": 1, "bbox": [3, 3, 4, 4], "area": 16,
                             "iscrowd": 0}]}


def _coco_mutations():
    out = []
    for key in ("bbox", "image_id", "category_id", "iscrowd", "area", "id"):
        for v in HOSTILE_NUMBERS:
            if key in ("bbox",):
                value = [1, v, 10, 8]
            else:
                value = v
            if key in ("area", "id") and v is None or key == "id" and v == -5:
                continue  # no area / no id are allowed (computed / allocated); a negative id is renumbered
            if key == "iscrowd" and v is True:
                value = 2
            out.append((f"coco annotations[1].{key}={v!r:.20}", ("annotations", 1, key, value),
                        "annotations[1]"))
    for key, values in (("id", [None, "1", 1.5, [1], 2 ** 64]), ("width", ["40", -1, 0, True, 2 ** 40]),
                        ("file_name", [None, 5, "", "../../../../etc/passwd", "/etc/passwd", "a\u0000.jpg"])):
        for v in values:
            out.append((f"coco images[1].{key}={v!r:.20}", ("images", 1, key, v), "images[1]"))
    for key, values in (("id", [None, "1", [1]]), ("name", [None, "", 5])):
        for v in values:
            out.append((f"coco categories[0].{key}={v!r:.20}", ("categories", 0, key, v), "categories[0]"))
    segs = [[[1, 2, 11, 2, 11]], [[1, 2, "x", 2, 11, 10]], [[1, 2, 3e9, 2, 3e9, 3e9]],
            {"size": [H, W + 1], "counts": "abc"}, {"size": [H, W], "counts": 5}, {"size": [H, W], "counts": [1, 2]},
            "polygon", 7]
    for seg in segs:
        out.append((f"coco segmentation={seg!r:.24}", ("annotations", 0, "segmentation", seg), "annotations[0]"))
    return out


COCO_MUTATIONS = _coco_mutations()
COCO_TEXTS = [("coco truncated", '{"images": [{"id": 1', None), ("coco deep", "[" * 100000, None),
              ("coco digits", '{"images": [{"id": ' + "9" * 5000 + "}]}", None),
              ("coco not utf8", b'{"images": ["\xff\xfe"]}', None), ("coco list", "[1, 2]", None),
              ("coco number", "42", None), ("coco images not list", '{"images": {}}', None),
              ("coco empty", "", None), ("coco bom junk", "\ufeff{", None)]


def _coco_case(tmp_path, mutation):
    d = coco_seed()
    section, i, key, value = mutation
    d[section][i][key] = value
    f = tmp_path / "fuzz_coco.json"
    f.write_text(json.dumps(d))
    return f


# ---- coco-results ----------------------------------------------------------------------------------
RESULT_MUTATIONS = [(f"results {k}={v!r:.20}", k, v) for k in ("image_id", "category_id", "score", "bbox")
                    for v in (None, "1", [1], True, -1e9, 2 ** 63, float("nan"))
                    if not (k == "score" and v == 2 ** 63)]


def _results_case(tmp_path, key, value):
    d = [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.5}]
    d[0][key] = [value, 1, 5, 5] if key == "bbox" else value
    f = tmp_path / "fuzz_results.json"
    f.write_text(json.dumps(d))
    return f


# ---- VOC -----------------------------------------------------------------------------------------
VOC_SEED = ("<annotation><folder>VOC</folder><filename>{filename}</filename>"
            "<size><width>{w}</width><height>{h}</height><depth>3</depth></size>"
            "<object><name>{name}</name><difficult>{difficult}</difficult>"
            "<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
            "</annotation>")
VOC_OK = {"filename": "v.jpg", "w": W, "h": H, "name": "dog", "difficult": 0, "x0": 2, "y0": 2, "x1": 20, "y1": 20}
VOC_MUTATIONS = ([(f"voc {k}={v!r}", k, v) for k in ("x0", "y0", "x1", "y1")
                  for v in ("abc", "nan", "inf", "-3", "1e400", "", "0x10")]
                 + [("voc xmax<xmin", "x1", "1"), ("voc far outside", "x1", "3000000000"),
                    ("voc wholly outside", "x0", "500"), ("voc difficult", "difficult", "maybe"),
                    ("voc no name", "name", ""), ("voc filename escape", "filename", "../../../../etc/passwd"),
                    ("voc filename absolute", "filename", "/etc/passwd"),
                    ("voc size", "w", "wide")])
VOC_TEXTS = [("voc malformed", "<annotation><filename>v.jpg</filename><object>"), ("voc svg", "<svg></svg>"),
             ("voc no filename", "<annotation></annotation>"),
             ("voc entity", ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                             "<annotation><filename>&e;</filename></annotation>"))]


def _voc_case(tmp_path, text):
    d = tmp_path / "fuzz_voc"
    write_image(d / "v.jpg", W, H)
    (d / "fuzz.xml").write_text(text)
    return d


# ---- YOLO ----------------------------------------------------------------------------------------
YOLO_LINES = [("yolo nan", "0 nan 0.5 0.2 0.2"), ("yolo inf", "0 0.5 inf 0.2 0.2"),
              ("yolo word", "cat 0.5 0.5 0.2 0.2"),
              ("yolo float class", "0.0 0.5 0.5 0.2 0.2"), ("yolo class out", "7 0.5 0.5 0.2 0.2"),
              ("yolo negative", "0 -0.5 0.5 0.2 0.2"), ("yolo pixels", "0 20 15 10 10"),
              ("yolo zero box", "0 0.5 0.5 0 0.2"), ("yolo six among boxes", "0 0.5 0.5 0.2 0.2 0.3 0.3"),
              ("yolo huge", "0 1e400 0.5 0.2 0.2"), ("yolo comma", "0 0,5 0.5 0.2 0.2")]
YOLO_YAMLS = [("yolo names int", "names: 5\n"), ("yolo names keys", "names: {zero: a}\n"),
              ("yolo malformed", "names: [a, b\n"), ("yolo list yaml", "- a\n- b\n"),
              ("yolo alias", "x: &x [a, a]\ny: &y [*x, *x]\nnames: *y\n"),
              ("yolo names of maps", "names: [{a: 1}]\n"), ("yolo train outside", "names: [a]\ntrain: /etc\n"),
              ("yolo train number", "names: [a]\ntrain: 5\n"), ("yolo digits", "names: [a]\nnc: " + "9" * 5000 + "\n"),
              ("yolo deep", "names: " + "[" * 100000 + "]" * 100000 + "\n"), ("yolo not utf8", b"names: [\xff]\n")]


def _yolo_case(tmp_path, line=None, yaml_text=None):
    root = tmp_path / "fuzz_yolo"
    write_image(root / "images" / "y.jpg", W, H)
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "y.txt").write_text("0 0.5 0.5 0.2 0.2\n" + (line + "\n" if line else ""))
    yaml_file = root / "data.yaml"
    (yaml_file.write_bytes if isinstance(yaml_text, bytes) else yaml_file.write_text)(yaml_text or "names: [a]\n")
    return root


# ---- labelme -------------------------------------------------------------------------------------
def _png_b64(w=W, h=H):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def labelme_seed():
    return {"version": "5.5.0", "flags": {}, "imagePath": "l.jpg", "imageData": None, "imageHeight": H,
            "imageWidth": W, "shapes": [{"label": "a", "points": [[1, 1], [10, 10]], "group_id": None,
                                         "description": "", "shape_type": "rectangle", "flags": {}, "mask": None}]}


LABELME_MUTATIONS = (
    [(f"labelme imagePath={v!r:.24}", ("imagePath",), v) for v in
     ("../../../../etc/passwd", "/etc/passwd", "missing.jpg", 5, ["l.jpg"])]
    + [(f"labelme imageData={v!r:.24}", ("imageData",), v) for v in ("!!!notbase64", base64.b64encode(b"junk").decode(),
                                                                      5, {"a": 1})]
    + [(f"labelme imageWidth={v!r:.20}", ("imageWidth",), v) for v in (200000, "40", True, 2 ** 64, -1, 1.5)]
    + [("labelme shapes not a list", ("shapes",), {"a": 1})]
    + [(f"labelme points={v!r:.24}", ("shapes", 0, "points"), v) for v in
       ([[1, 1], ["x", 10]], [[1, 1]], "points", [[1, 1, 1], [2, 2]], [[1, 1], [3e9, 3e9]], [[True, 1], [5, 5]],
        [[float("nan"), 1], [5, 5]], [[-4, 1], [5, 5]], [[100, 100], [120, 120]])]
    + [(f"labelme label={v!r}", ("shapes", 0, "label"), v) for v in (None, "", 5)]
    + [(f"labelme group_id={v!r}", ("shapes", 0, "group_id"), v) for v in ([1], {"g": 1})]
    + [("labelme mask junk", ("shapes", 0), {"label": "m", "points": [[1, 1], [5, 5]], "shape_type": "mask",
                                              "mask": "!!!!"})]
)


# several keys at once: a NUL byte in imagePath, with imageData holding the image (the name is then
# that of the file unpacked into the project) and without
LABELME_UPDATES = [("labelme imagePath NUL with imageData", {"imagePath": "l\u0000.png", "imageData": _png_b64()}),
                   ("labelme imagePath NUL", {"imagePath": "l\u0000.jpg"})]


def _labelme_case(tmp_path, keys, value, updates=None):
    d = tmp_path / "fuzz_lm"
    write_image(d / "l.jpg", W, H)
    doc = labelme_seed()
    if updates is not None:
        doc.update(updates)
    else:
        target = doc
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    (d / "fuzz_lm.json").write_text(json.dumps(doc))
    return d


# ---- the cases -----------------------------------------------------------------------------------
def _cases():
    cases = []
    for name, mutation, entry_name in COCO_MUTATIONS:
        cases.append((name, "coco", lambda t, m=mutation: _coco_case(t, m), "fuzz_coco.json", entry_name))
    for name, text, _ in COCO_TEXTS:
        def build(t, text=text):
            f = t / "fuzz_coco.json"
            (f.write_bytes if isinstance(text, bytes) else f.write_text)(text)
            return f
        cases.append((name, "coco", build, "fuzz_coco.json", None))
    for name, key, value in RESULT_MUTATIONS:
        cases.append((name, "coco-results", lambda t, k=key, v=value: _results_case(t, k, v), "fuzz_results.json",
                      "detection [0]"))
    for name, key, value in VOC_MUTATIONS:
        fields = {**VOC_OK, key: value}
        entry_name = "object 0" if key in ("x0", "y0", "x1", "y1", "difficult", "name") else None
        cases.append((name, "voc", lambda t, f=fields: _voc_case(t, VOC_SEED.format(**f)), "fuzz.xml", entry_name))
    for name, text in VOC_TEXTS:
        cases.append((name, "voc", lambda t, x=text: _voc_case(t, x), "fuzz.xml", None))
    for name, line in YOLO_LINES:
        cases.append((name, "yolo", lambda t, ln=line: _yolo_case(t, line=ln), "y.txt", "line 2"))
    for name, text in YOLO_YAMLS:
        cases.append((name, "yolo", lambda t, x=text: _yolo_case(t, yaml_text=x), "data.yaml", None))
    for name, keys, value in LABELME_MUTATIONS:
        entry_name = "shape 0" if keys[0] == "shapes" and len(keys) > 1 else None
        cases.append((name, "labelme", lambda t, k=keys, v=value: _labelme_case(t, k, v), "fuzz_lm.json",
                      entry_name))
    for name, updates in LABELME_UPDATES:
        cases.append((name, "labelme", lambda t, u=updates: _labelme_case(t, (), None, u), "fuzz_lm.json",
                      "imagePath"))
    return cases


CASES = _cases()


def test_at_least_a_hundred_cases_across_every_importer():
    assert len(CASES) >= 100
    assert {c[1] for c in CASES} == {"coco", "coco-results", "voc", "yolo", "labelme"}


@pytest.fixture
def project(tmp_path):
    p = tmp_path / "project"
    with Store.open(p) as s:
        cid = s.add_category(Category(None, "cat"))
        write_image(p / "a.jpg", W, H)
        iid = s.add_image(ImageRecord(None, "a.jpg", W, H, split="train"))
        s.add_annotation(Annotation(None, iid, cid, bbox=(1, 1, 5, 5)))
        s.set_meta("info", {"description": "before"})
    return p


def _state(project):
    with Store.open(project) as s:
        db = snapshot(s)
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*")
                   if p.is_file() and not p.name.startswith("project.sightline"))
    return db, files


@pytest.mark.parametrize("name, fmt, build, file_name, entry_name", CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_one_error_and_changes_nothing(project, tmp_path, capsys, name, fmt, build, file_name,
                                                          entry_name):
    path = build(tmp_path)
    before = _state(project)
    args = ["import", "--project", str(project), "--format", fmt, str(path)]
    if fmt == "coco-results":
        args += ["--model", "fuzzer"]
    rc = entry.main(args)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, (name, captured.out, captured.err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (name, captured.err)
    assert "Traceback" not in captured.err
    assert file_name in lines[0], (name, lines[0])
    if entry_name:
        assert entry_name in lines[0], (name, lines[0])
    assert _state(project) == before, name
