"""COCO import and export against pycocotools, on real COCO val2014 annotations."""
import contextlib
import copy
import io
import json

import pytest
from pycocotools.coco import COCO

from annotations.formats import FormatError, export_labels, import_labels
from annotations.formats.coco import (coco_results, export_coco_results, import_coco_results,
                                      store_to_coco_dict)
from annotations.model import BOX, MASK, POLYGON, PREDICTION, Annotation, Category, ImageRecord
from annotations.store import Store

from fmt_helpers import COCO_BBOX_RESULTS, COCO_GT, COCO_SEGM_RESULTS, snapshot

FIELDS = ("id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation")


def load(path):
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def test_import_then_export_equals_what_pycocotools_reads(store, tmp_path):
    report = import_labels(store, "coco", COCO_GT)
    assert (report.images, report.annotations, report.categories) == (100, 839, 80)
    # the data set ships without its images: each is reported (20 named, then a count), nothing else
    assert len(report.warnings) == 21 and all("not found" in w for w in report.warnings)
    assert report.warnings[-1] == "... and 80 more images not found"
    out = tmp_path / "out.json"
    export_labels(store, "coco", out)
    original, exported = load(COCO_GT), load(out)
    assert sorted(original.anns) == sorted(exported.anns)
    for ann_id, a in original.anns.items():
        b = exported.anns[ann_id]
        for f in FIELDS:
            assert a[f] == b[f], (ann_id, f)
    assert original.imgs == exported.imgs  # sizes, file names, licence and url fields
    assert original.cats == exported.cats  # supercategory included
    assert original.dataset["info"] == exported.dataset["info"]
    assert original.dataset["licenses"] == exported.dataset["licenses"]


def test_kinds_iscrowd_and_rle_forms(store):
    import_labels(store, "coco", COCO_GT)
    gt = json.loads(COCO_GT.read_text())
    by_id = {a.id: a for a in store.annotations()}
    crowd = [a for a in gt["annotations"] if a["iscrowd"]]
    assert crowd and all(isinstance(a["segmentation"]["counts"], list) for a in crowd)
    for a in gt["annotations"]:
        got = by_id[a["id"]]
        assert got.kind == (MASK if isinstance(a["segmentation"], dict) else POLYGON)
        assert got.iscrowd == a["iscrowd"]
        if got.kind == MASK:  # stored compressed, whatever the file had
            assert isinstance(got.rle["counts"], str)
    assert store.get_meta("info")["year"] == 2014
    assert len(store.get_meta("licenses")) == 8
    person = store.category(1)
    assert (person.name, person.supercategory) == ("person", "person")
    img = store.image(1146)
    assert (img.width, img.height, img.extra["license"]) == (427, 640, 3)


def test_compressed_rle_boxes_and_extra_fields(store, tmp_path):
    from annotations.geometry import encode_mask
    import numpy as np
    m = np.zeros((20, 30), np.uint8)
    m[5:9, 10:20] = 1
    rle = encode_mask(m)
    src = {"images": [{"id": 7, "file_name": "a.png", "width": 30, "height": 20, "camera": "x100"}],
           "categories": [{"id": 3, "name": "cell", "supercategory": "bio", "keypoints": []}],
           "annotations": [
               {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10, 5, 10, 4], "area": 40, "iscrowd": 0,
                "segmentation": rle, "attributes": {"occluded": True}},
               {"id": 2, "image_id": 7, "category_id": 3, "bbox": [0, 0, 30, 20], "area": 600, "iscrowd": 0}]}
    f = tmp_path / "in.json"
    f.write_text(json.dumps(src))
    import_labels(store, "coco", f)
    assert store.annotation(1).kind == MASK and store.annotation(2).kind == BOX
    assert store.annotation(1).extra == {"attributes": {"occluded": True}}
    out = tmp_path / "out.json"
    export_labels(store, "coco", out)
    back = json.loads(out.read_text())
    assert back["images"][0]["camera"] == "x100"
    assert back["categories"][0] == src["categories"][0]
    assert {a["id"]: a for a in back["annotations"]} == {a["id"]: a for a in src["annotations"]}


def test_ids_kept_when_free_and_remapped_on_collision(store, tmp_path):
    store.add_category(Category(1, "person"))  # same name: the file's person maps onto it
    store.add_category(Category(2, "not-a-bicycle"))  # id 2 is taken: bicycle gets a new id
    iid = store.add_image(ImageRecord(1146, "elsewhere.jpg", 10, 10))
    taken_ann = json.loads(COCO_GT.read_text())["annotations"][0]["id"]
    store.add_annotation(Annotation(taken_ann, iid, 1, bbox=(1, 1, 2, 2)))
    report = import_labels(store, "coco", COCO_GT)
    assert any("image id" in w and "new ids" in w for w in report.warnings)
    assert any("annotation id" in w and "new ids" in w for w in report.warnings)
    assert any("category id" in w for w in report.warnings)
    bicycle = store.category_by_name("bicycle")
    assert bicycle.id != 2
    gt = json.loads(COCO_GT.read_text())
    moved = [a for a in gt["annotations"] if a["image_id"] == 1146]
    new_image = next(r for r in store.images() if r.file_name == "COCO_val2014_000000001146.jpg")
    assert new_image.id != 1146
    assert len(store.annotations(image_id=new_image.id)) == len(moved)
    kept = {a["id"] for a in gt["annotations"]} - {taken_ann}
    assert kept <= {a.id for a in store.annotations()}
    assert store.annotation(taken_ann).image_id == iid  # the project's own annotation is untouched
    assert store.annotation_count() == 839 + 1
    # categories are mapped by name: every bicycle annotation landed in the new bicycle category
    n_bicycle = sum(a["category_id"] == 2 for a in gt["annotations"])
    assert len(store.annotations(category_id=bicycle.id)) == n_bicycle


def test_import_twice_reuses_images_and_categories(store):
    import_labels(store, "coco", COCO_GT)
    report = import_labels(store, "coco", COCO_GT)
    assert (report.images, report.categories, report.images_matched) == (0, 0, 100)
    assert store.image_count() == 100 and len(store.categories()) == 80
    assert store.annotation_count() == 2 * 839


def test_polygon_with_holes_is_exported_as_rle_with_a_warning(store, tmp_path):
    from pycocotools import mask as mask_utils
    cid = store.add_category(Category(None, "ring"))
    iid = store.add_image(ImageRecord(None, "r.png", 40, 40))
    outer, hole = [5, 5, 35, 5, 35, 35, 5, 35], [15, 15, 25, 15, 25, 25, 15, 25]
    aid = store.add_annotation(Annotation(None, iid, cid, kind=POLYGON, polygons=[outer], holes=[hole]))
    out = tmp_path / "o.json"
    report = export_labels(store, "coco", out)
    assert any("holes" in w and "RLE" in w for w in report.warnings)
    coco = load(out)
    seg = coco.anns[aid]["segmentation"]
    assert isinstance(seg, dict)
    m = coco.annToMask(coco.anns[aid])
    assert m[10, 10] == 1 and m[20, 20] == 0
    assert int(mask_utils.area(mask_utils.frPyObjects(seg, 40, 40) if isinstance(seg["counts"], list)
                               else {"size": seg["size"], "counts": seg["counts"].encode()})) == m.sum()


def test_results_import_as_predictions_and_export_back(store, tmp_path):
    import_labels(store, "coco", COCO_GT)
    before = store.annotation_count()
    run_id = import_coco_results(store, COCO_SEGM_RESULTS, "maskrcnn-test")
    run = store.run(run_id)
    assert (run.model, run.kind) == ("maskrcnn-test", "import")
    preds = store.annotations(run_id=run_id)
    original = json.loads(COCO_SEGM_RESULTS.read_text())
    assert len(preds) == len(original)
    assert all(p.status == PREDICTION and p.source == "maskrcnn-test" and p.kind == MASK for p in preds)
    assert sorted(p.score for p in preds) == sorted(d["score"] for d in original)
    assert store.annotation_count() == before  # labels untouched
    out = tmp_path / "res.json"
    export_coco_results(store, out, run_id)
    written = json.loads(out.read_text())
    assert written == original  # same detections, same fields, same order
    gt = load(COCO_GT)
    with contextlib.redirect_stdout(io.StringIO()):
        dt_ours, dt_orig = gt.loadRes(str(out)), gt.loadRes(str(COCO_SEGM_RESULTS))
    for k in dt_orig.anns:
        assert list(dt_ours.anns[k]["bbox"]) == list(dt_orig.anns[k]["bbox"])
        assert dt_ours.anns[k]["area"] == dt_orig.anns[k]["area"]


def test_box_results_keep_boxes_and_scores(store):
    import_labels(store, "coco", COCO_GT)
    run_id = import_coco_results(store, COCO_BBOX_RESULTS, "frcnn")
    original = json.loads(COCO_BBOX_RESULTS.read_text())
    got = coco_results(store, run_id)
    assert len(got) == len(original)
    for g, o in zip(got, original):
        assert g == o
    boxes_of_masks = coco_results(store, import_coco_results(store, COCO_SEGM_RESULTS, "m"), iou_type="bbox")
    assert all(set(d) == {"image_id", "category_id", "bbox", "score"} for d in boxes_of_masks)
    assert all(a.kind == BOX for a in store.annotations(run_id=run_id))


def test_results_with_unknown_image_change_nothing(store, tmp_path):
    import_labels(store, "coco", COCO_GT)
    before = snapshot(store)
    bad = json.loads(COCO_BBOX_RESULTS.read_text())
    bad[5]["image_id"] = 999999
    f = tmp_path / "bad_results.json"
    f.write_text(json.dumps(bad))
    with pytest.raises(FormatError, match=r"bad_results\.json: detection \[5\]: image_id 999999"):
        import_coco_results(store, f, "m")
    assert snapshot(store) == before


def test_store_to_coco_dict_filters_status_run_and_images(store):
    import_labels(store, "coco", COCO_GT)
    run_id = import_coco_results(store, COCO_BBOX_RESULTS, "frcnn")
    labels = store_to_coco_dict(store)
    assert len(labels["annotations"]) == 839 and all("score" not in a for a in labels["annotations"])
    preds = store_to_coco_dict(store, status=PREDICTION, run_id=run_id)
    assert len(preds["annotations"]) == len(json.loads(COCO_BBOX_RESULTS.read_text()))
    assert all("score" in a for a in preds["annotations"])
    some = store.image_ids()[:5]
    sub = store_to_coco_dict(store, image_ids=some)
    assert [i["id"] for i in sub["images"]] == some
    assert {a["image_id"] for a in sub["annotations"]} <= set(some)
    assert len(sub["annotations"]) == sum(len(store.annotations(image_id=i, status="label")) for i in some)


def test_include_predictions_adds_scores(store, tmp_path):
    import_labels(store, "coco", COCO_GT)
    import_coco_results(store, COCO_BBOX_RESULTS, "frcnn")
    out = tmp_path / "all.json"
    report = export_labels(store, "coco", out, include_predictions=True)
    data = json.loads(out.read_text())
    assert report.annotations == len(data["annotations"]) == 839 + len(json.loads(COCO_BBOX_RESULTS.read_text()))
    assert sum("score" in a for a in data["annotations"]) == report.annotations - 839


def test_cancel_leaves_the_project_unchanged(store, tmp_path):
    before = snapshot(store)
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return False

    report = import_labels(store, "coco", COCO_GT, progress=progress)
    assert report.cancelled and calls
    assert snapshot(store) == before
    out = tmp_path / "x.json"
    import_labels(store, "coco", COCO_GT)
    assert export_labels(store, "coco", out, progress=lambda d, t: False).cancelled
    assert not out.exists()


def test_progress_reaches_the_total(store):
    seen = []
    import_labels(store, "coco", COCO_GT, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (100 + 839, 100 + 839)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_export_is_atomic_when_it_fails(store, tmp_path, monkeypatch):
    import_labels(store, "coco", COCO_GT)
    out = tmp_path / "keep.json"
    out.write_text('{"old": true}')
    from annotations.formats import coco

    def broken(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(coco.json, "dumps", broken)
    with pytest.raises(RuntimeError):
        export_labels(store, "coco", out)
    assert json.loads(out.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep")] == []


def test_moved_project_exports_the_same(tmp_path):
    import shutil
    s = Store.open(tmp_path / "a")
    import_labels(s, "coco", COCO_GT)
    s.close()
    shutil.move(tmp_path / "a", tmp_path / "b")
    with Store.open(tmp_path / "b") as s2:
        d = store_to_coco_dict(s2)
    original = sorted(json.loads(COCO_GT.read_text())["images"], key=lambda i: i["id"])
    assert [i["file_name"] for i in d["images"]] == [i["file_name"] for i in original]
    assert len(d["annotations"]) == 839


def test_round_trip_hints_never_leak_into_files(store, tmp_path):
    import_labels(store, "coco", COCO_GT)
    out = tmp_path / "o.json"
    export_labels(store, "coco", out)
    text = out.read_text()
    assert '"_coco"' not in text
    data = json.loads(text)
    assert copy.deepcopy(data) == data


def test_unicode_names_empty_images_and_border_boxes_survive(store, tmp_path):
    src = {"images": [{"id": 1, "file_name": "fotos/München 猫.jpg", "width": 64, "height": 48},
                      {"id": 2, "file_name": "leer.jpg", "width": 10, "height": 10}],  # no annotations
           "categories": [{"id": 5, "name": "Katze 🐱", "supercategory": ""}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [0, 0, 64, 48], "area": 3072,
                            "iscrowd": 0, "segmentation": [[0, 0, 64, 0, 64, 48, 0, 48]]},
                           {"id": 2, "image_id": 1, "category_id": 5, "bbox": [60.5, 40.25, 3.5, 7.75],
                            "area": 27.125, "iscrowd": 0}]}
    f = tmp_path / "ünï.json"
    f.write_text(json.dumps(src, ensure_ascii=False), encoding="utf-8")
    report = import_labels(store, "coco", f)
    assert (report.images, report.annotations) == (2, 2)
    out = tmp_path / "out.json"
    export_labels(store, "coco", out)
    back = json.loads(out.read_text(encoding="utf-8"))
    assert back["images"] == src["images"] and back["categories"] == src["categories"]
    assert back["annotations"] == src["annotations"]
