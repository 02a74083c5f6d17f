"""COCO ids are kept where free (only real clashes and id 0 move, and the report names them),
detections follow the same table, values of the wrong type are refused, hostile numbers and
nesting give one message, exports never hold Infinity and name images portably."""
import json
import math

import pytest

import main as entry
from annotations.formats import FormatError, export_labels, import_labels
from annotations.formats.coco import import_coco_results
from annotations.model import Annotation, Category, ImageRecord
from annotations.store import Store

from fmt_helpers import snapshot, write_image


def roboflow_style():
    """Roboflow's COCO export numbers images, categories and annotations from 0 (and its category 0
    is the data set's supercategory)."""
    return {"info": {"year": "2024"}, "licenses": [],
            "categories": [{"id": 0, "name": "fruits", "supercategory": "none"},
                           {"id": 1, "name": "apple", "supercategory": "fruits"},
                           {"id": 2, "name": "pear", "supercategory": "fruits"}],
            "images": [{"id": i, "license": 1, "file_name": f"img{i}.jpg", "height": 20, "width": 30,
                        "date_captured": "2024-01-01T00:00:00+00:00"} for i in range(3)],
            "annotations": [{"id": i, "image_id": i, "category_id": 1 + i % 2, "bbox": [1, 1, 5, 5], "area": 25,
                             "segmentation": [], "iscrowd": 0} for i in range(3)]}


def cocoapi_style(first_image=1):
    return {"images": [{"id": first_image + k, "file_name": f"p{k}.jpg", "width": 30, "height": 20}
                       for k in range(3)],
            "categories": [{"id": 1, "name": "person", "supercategory": "person"},
                           {"id": 18, "name": "dog", "supercategory": "animal"}],
            "annotations": [{"id": 100 + k, "image_id": first_image + k, "category_id": 18 if k else 1,
                             "bbox": [2, 3, 10, 5], "area": 50, "iscrowd": 0} for k in range(3)]}


def _write(tmp_path, data, name="in.json"):
    f = tmp_path / name
    f.write_text(json.dumps(data))
    return f


def test_free_ids_are_kept_in_an_empty_project_without_a_warning(store, tmp_path):
    report = import_labels(store, "coco", _write(tmp_path, cocoapi_style(first_image=7)))
    assert [r.id for r in store.images()] == [7, 8, 9]
    assert [c.id for c in store.categories()] == [1, 18]
    assert [a.id for a in store.annotations()] == [100, 101, 102]
    assert not any("new ids" in w for w in report.warnings)
    assert report.id_map == {"images": {}, "categories": {}}


def test_only_id_zero_moves_and_the_report_says_which(store, tmp_path):
    report = import_labels(store, "coco", _write(tmp_path, roboflow_style()))
    assert [r.id for r in store.images()] == [1, 2, 3]  # 1 and 2 kept, 0 -> 3 (above every used id)
    assert {r.file_name: r.id for r in store.images()} == {"img0.jpg": 3, "img1.jpg": 1, "img2.jpg": 2}
    assert {c.name: c.id for c in store.categories()} == {"fruits": 3, "apple": 1, "pear": 2}
    assert {a.image_id: a.id for a in store.annotations()} == {3: 3, 1: 1, 2: 2}
    text = "\n".join(report.warnings)
    assert "1 image id(s) were 0 (ids start at 1) and got new ids: 0 -> 3" in text  # only 0 moved: no clash named
    assert "1 category id(s)" in text and "0 -> 3" in text and "1 annotation id(s)" in text


def test_real_clashes_move_and_are_listed(store, tmp_path):
    import_labels(store, "coco", _write(tmp_path, cocoapi_style(first_image=1), "first.json"))
    second = cocoapi_style(first_image=3)  # images 3, 4, 5: 3 clashes
    for i, im in enumerate(second["images"]):
        im["file_name"] = f"other{i}.jpg"
    for a in second["annotations"]:
        a["id"] += 10  # 110.. are free
    report = import_labels(store, "coco", _write(tmp_path, second, "second.json"))
    assert sorted(r.id for r in store.images()) == [1, 2, 3, 4, 5, 6]
    assert {r.file_name: r.id for r in store.images()}["other0.jpg"] == 6
    assert report.id_map["images"] == {3: 6}
    assert "1 image id(s) were already used in the project and got new ids: 3 -> 6" in report.warnings


def test_categories_matched_by_name_under_another_id_are_named(store, tmp_path):
    store.add_category(Category(None, "dog"))  # id 1 in the project
    store.add_category(Category(None, "cat"))  # id 2
    d = cocoapi_style()  # person 1, dog 18
    report = import_labels(store, "coco", _write(tmp_path, d))
    assert {c.name: c.id for c in store.categories()} == {"dog": 1, "cat": 2, "person": 3}
    assert report.id_map["categories"] == {18: 1, 1: 3}
    text = "\n".join(report.warnings)
    assert "1 category(ies) of the file are the project's categories of the same name under another id: " \
           "'dog' 18 -> 1" in text
    assert "1 category id(s) were already used in the project and got new ids: 1 -> 3" in text


def test_roboflow_export_finds_its_images_beside_the_file(store, tmp_path):
    """Roboflow's COCO export: train/_annotations.coco.json beside train/*.jpg (no images folder to name)."""
    folder = tmp_path / "rf" / "train"
    for i in range(3):
        write_image(folder / f"img{i}.jpg", 30, 20, seed=i)
    f = _write(folder, roboflow_style(), "_annotations.coco.json")
    (folder / "img2.jpg").unlink()  # one image really missing
    report = import_labels(store, "coco", f)
    paths = {r.file_name: store.image_path(r) for r in store.images()}
    assert paths[(folder / "img0.jpg").as_posix()] == folder / "img0.jpg"
    assert all(p.is_file() for name, p in paths.items() if "img2" not in name)
    assert f"{f}: 2 image(s) not in the project were found beside the file and taken from there" in report.warnings
    assert any("images[2] (id 2)" in w and "img2.jpg not found" in w for w in report.warnings)
    with Store.open(tmp_path / "second") as other:  # the project's own image of that name comes first
        write_image(other.root / "img1.jpg", 30, 20, seed=5)
        import_labels(other, "coco", f)
        assert {r.file_name for r in other.images()} == {"img1.jpg", "img2.jpg", (folder / "img0.jpg").as_posix()}


def test_beside_the_file_is_no_way_out_of_the_project(store, tmp_path):
    write_image(tmp_path / "outside.jpg", 10, 10)
    (tmp_path / "sub").mkdir()
    f = _write(tmp_path / "sub", {"images": [{"id": 1, "file_name": "../outside.jpg", "width": 10, "height": 10}],
                                  "categories": [], "annotations": []})
    with pytest.raises(FormatError, match="leads outside the project"):
        import_labels(store, "coco", f)
    (tmp_path / "sub" / "notes.jpg").write_text("not an image")
    f.write_text(json.dumps({"images": [{"id": 1, "file_name": "notes.jpg", "width": 10, "height": 10}]}))
    with pytest.raises(FormatError, match=r"notes\.jpg: not a readable image"):
        import_labels(store, "coco", f)
    assert store.image_count() == 0


def test_results_follow_the_renumbering(store, tmp_path):
    import_labels(store, "coco", _write(tmp_path, roboflow_style()))
    results = [{"image_id": 0, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.9},
               {"image_id": 2, "category_id": 0, "bbox": [2, 2, 4, 4], "score": 0.5}]
    run = import_coco_results(store, _write(tmp_path, results, "det.json"), "m")
    got = {(store.image(a.image_id).file_name, store.category(a.category_id).name)
           for a in store.annotations(run_id=run)}
    assert got == {("img0.jpg", "apple"), ("img2.jpg", "fruits")}


def test_results_cli_says_it_used_the_table(tmp_path, capsys):
    f = _write(tmp_path, roboflow_style())
    assert entry.main(["import", "--project", str(tmp_path / "p"), "--format", "coco", str(f)]) == 0
    det = _write(tmp_path, [{"image_id": 0, "category_id": 2, "bbox": [1, 1, 4, 4], "score": 0.9}], "det.json")
    assert entry.main(["import", "--project", str(tmp_path / "p"), "--format", "coco-results", "--model", "m",
                       str(det)]) == 0
    assert "renumbering of the last COCO import (1 image id(s), 1 category id(s))" in capsys.readouterr().out


WRONG = [
    (("annotations", 0, "category_id"), [1], r"annotations\[0\] \(id 100\): category_id must be a whole number"),
    (("annotations", 0, "image_id"), "1", r"annotations\[0\] \(id 100\): image_id must be a whole number"),
    (("annotations", 0, "bbox"), ["2", 3, 10, 5], r"bbox holds '2', which is not a number"),
    (("annotations", 0, "bbox"), [2, True, 10, 5], r"bbox holds True, which is not a number"),
    (("annotations", 0, "bbox"), [1e308, 1e308, 1e308, 1e308], r"bbox reaches .* far outside the 30x20 image"),
    (("annotations", 0, "bbox"), [40, 25, 5, 5], r"bbox lies wholly outside the 30x20 image"),
    (("annotations", 0, "segmentation"), [[1, 1, 3e9, 1, 3e9, 3e9]], r"polygon reaches .* far outside"),
    (("annotations", 0, "iscrowd"), True, r"iscrowd must be 0 or 1"),
    (("annotations", 0, "area"), "50", r"area holds '50', which is not a number"),
    (("annotations", 0, "id"), 2 ** 63, r"id 9223372036854775808\.\.\. is too large"),
    (("images", 0, "id"), -2 ** 70, r"is too large"),
    (("images", 0, "width"), 2 ** 64, r"width .* is too large"),
    (("images", 0, "width"), 2_000_000, r"width must be a positive number of pixels up to"),
    (("images", 0, "height"), "20", r"height must be a whole number, got '20'"),
    (("images", 0, "file_name"), "p\u0000.jpg", r"the image name 'p\\x00\.jpg' holds a NUL byte"),
    (("categories", 0, "id"), 1.5, r"id must be a whole number, got 1\.5"),
]


@pytest.mark.parametrize("where, value, message", WRONG, ids=[str(w[1])[:20] for w in WRONG])
def test_values_of_the_wrong_type(store, tmp_path, where, value, message):
    d = cocoapi_style()
    section, i, key = where
    d[section][i][key] = value
    before = snapshot(store)
    with pytest.raises(FormatError, match=r"in\.json: .*" + message):
        import_labels(store, "coco", _write(tmp_path, d))
    assert snapshot(store) == before


def test_image_sizes_over_the_pixel_limit(store, tmp_path):
    d = cocoapi_style()
    d["images"][0].update(width=100000, height=100000)
    with pytest.raises(FormatError, match=r"images\[0\] \(id 1\): 100000x100000 is 10000 megapixels, over the limit"):
        import_labels(store, "coco", _write(tmp_path, d))


def test_result_score_as_a_string(store, tmp_path):
    import_labels(store, "coco", _write(tmp_path, cocoapi_style()))
    det = _write(tmp_path, [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": "0.9"}], "d.json")
    with pytest.raises(FormatError, match=r"d\.json: detection \[0\]: score holds '0\.9', which is not a number"):
        import_coco_results(store, det, "m")
    det.write_text(json.dumps([{"image_id": [1], "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.9}]))
    with pytest.raises(FormatError, match=r"detection \[0\]: image_id must be a whole number, got \[1\]"):
        import_coco_results(store, det, "m")


@pytest.mark.parametrize("text, message", [
    ("[" * 100000 + "]" * 100000, r"nested too deeply"),
    ('{"images": [{"id": ' + "7" * 5000 + "}]}",
     r"not acceptable JSON: a number of 5000 digits \(at most 4300 are read\)$"),
])
def test_hostile_json_is_one_message(store, tmp_path, text, message):
    f = tmp_path / "h.json"
    f.write_text(text)
    with pytest.raises(FormatError, match=r"h\.json: " + message):
        import_labels(store, "coco", f)


def test_cli_hostile_input_is_one_error_line(tmp_path, capsys):
    cases = {"deep.json": "[" * 100000, "digits.json": '{"images": [{"id": ' + "9" * 5000 + "}]}",
             "big.json": json.dumps({**cocoapi_style(), "images": [{"id": 2 ** 63, "file_name": "a.jpg",
                                                                    "width": 5, "height": 5}]})}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    for name in [*cases, "nul\u0000name.json"]:
        rc = entry.main(["import", "--project", str(tmp_path / "p"), "--format", "coco", str(tmp_path / name)])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 1 and err[0].startswith("error: "), (name, err)
        assert name.split("\u0000")[0] in err[0]
    with Store.open(tmp_path / "p") as s:
        assert s.image_count() == 0


def test_export_never_writes_infinity(store, tmp_path):
    cid = store.add_category(Category(None, "a"))
    iid = store.add_image(ImageRecord(None, "x.jpg", 10, 10))
    store.add_annotation(Annotation(None, iid, cid, bbox=(1, 1, 2, 2), area=math.inf))
    out = tmp_path / "out.json"
    with pytest.raises(FormatError, match=r"out\.json: not written: .*JSON cannot represent"):
        export_labels(store, "coco", out)
    assert not out.exists() and list(tmp_path.glob(".out.json.tmp*")) == []


def test_labelme_export_never_writes_infinity_either(store, tmp_path):
    cid = store.add_category(Category(None, "a"))
    iid = store.add_image(ImageRecord(None, "x.jpg", 10, 10))
    store.add_annotation(Annotation(None, iid, cid, bbox=(1e308, 1e308, 1e308, 1e308)))  # x + w overflows
    with pytest.raises(FormatError, match=r"lm/x\.json: not written: .*JSON cannot represent"):
        export_labels(store, "labelme", tmp_path / "lm")
    assert not (tmp_path / "lm").exists()


def test_export_names_images_outside_the_project_relative_to_the_export(store, tmp_path):
    write_image(tmp_path / "shots" / "a.jpg", 10, 10)
    write_image(store.root / "inside.jpg", 10, 10)
    store.add_images([ImageRecord(None, (tmp_path / "shots" / "a.jpg").as_posix(), 10, 10),
                      ImageRecord(None, "inside.jpg", 10, 10)])
    out = tmp_path / "export" / "gt.json"
    report = export_labels(store, "coco", out)
    names = [im["file_name"] for im in json.loads(out.read_text())["images"]]
    assert names == ["shots/a.jpg", "project/inside.jpg"]  # relative to the folder they share
    assert any(f"relative to {tmp_path}" in w for w in report.warnings)
    with Store.open(tmp_path / "elsewhere") as other:  # the file works from that folder, wherever it is
        report = import_labels(other, "coco", out, image_dir=tmp_path)
        assert report.images == 2 and not any("not found" in w for w in report.warnings)


def test_export_inside_the_project_keeps_names(store, tmp_path):
    write_image(store.root / "d" / "x.jpg", 10, 10)
    store.add_image(ImageRecord(None, "d/x.jpg", 10, 10))
    export_labels(store, "coco", tmp_path / "gt.json")
    assert json.loads((tmp_path / "gt.json").read_text())["images"][0]["file_name"] == "d/x.jpg"
