"""COCO files in the exact layouts other tools write: CVAT's and datumaro's annotations/ beside
images/<subset>/, COCO's own <subset>/, keypoints-only folders, Roboflow's split folders each with
its _annotations.coco.json, FiftyOne's labels.json beside data/ (labelme, VOC and YOLO:
test_other_tools_layouts.py)."""
import json
from pathlib import Path

import pytest

from annotations.formats import FormatError, import_labels

from fmt_helpers import snapshot, write_image


# ---- COCO ----------------------------------------------------------------------------------------
def _datumaro_coco(root, subset, images, first_image_id=1):
    """datumaro's coco exporter (CVAT's "COCO 1.0"): annotations/instances_<subset>.json whose
    file_name is the bare name, the image in images/<subset>/, licenses/info as it writes them,
    annotation ids from 1 in every file."""
    doc = {"licenses": [{"name": "", "id": 0, "url": ""}],
           "info": {"contributor": "", "date_created": "", "description": "", "url": "", "version": "", "year": ""},
           "categories": [{"id": 1, "name": "a", "supercategory": ""}, {"id": 2, "name": "b", "supercategory": ""}],
           "images": [], "annotations": []}
    for i, (name, w, h) in enumerate(images):
        write_image(root / "images" / subset / name, w, h)
        iid = first_image_id + i
        doc["images"].append({"id": iid, "width": w, "height": h, "file_name": name, "license": 0, "flickr_url": "",
                              "coco_url": "", "date_captured": 0})
        doc["annotations"].append({"id": i + 1, "image_id": iid, "category_id": 1 + i % 2, "segmentation": [],
                                   "area": 6.0, "bbox": [1.0, 1.0, 3.0, 2.0], "iscrowd": 0,
                                   "attributes": {"occluded": False}})
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / f"instances_{subset}.json").write_text(json.dumps(doc, indent=4))


def test_coco_cvat_layout_finds_each_subset_s_images_and_split(store, tmp_path):
    root = tmp_path / "cvat"
    _datumaro_coco(root, "train", [("a.jpg", 40, 20), ("b.jpg", 30, 20)])
    _datumaro_coco(root, "Validation", [("c.jpg", 20, 40)], first_image_id=10)
    report = import_labels(store, "coco", root / "annotations" / "instances_train.json")
    assert report.images == 2 and not any("not found" in w for w in report.warnings)
    assert {(Path(r.file_name).name, r.split) for r in store.images()} == {("a.jpg", "train"), ("b.jpg", "train")}
    report = import_labels(store, "coco", root)  # the whole folder: every subset, one transaction
    assert report.images == 1 and report.images_matched == 2
    assert {Path(r.file_name).name: r.split for r in store.images()}["c.jpg"] == "val"
    assert {r.id for r in store.images()} == {1, 2, 10}  # the files' ids kept


def test_coco_own_layout_annotations_beside_the_images_folder(store, tmp_path):
    """COCO 2017 as downloaded: annotations/instances_val2017.json beside val2017/."""
    root = tmp_path / "coco"
    _datumaro_coco(root, "val2017", [("000000000139.jpg", 64, 48)])
    (root / "images" / "val2017").rename(root / "val2017")
    report = import_labels(store, "coco", root / "annotations" / "instances_val2017.json")
    (rec,) = store.images()
    assert report.images == 1 and rec.split == "val" and store.image_path(rec) == root / "val2017" / "000000000139.jpg"


def test_coco_folder_import_is_all_or_nothing_and_stays_in_the_subset(store, tmp_path):
    root = tmp_path / "cvat"
    _datumaro_coco(root, "train", [("a.jpg", 40, 20)])
    _datumaro_coco(root, "val", [("c.jpg", 20, 40)], first_image_id=10)
    bad = json.loads((root / "annotations" / "instances_val.json").read_text())
    bad["annotations"][0]["bbox"] = [1, 1, "wide", 2]
    (root / "annotations" / "instances_val.json").write_text(json.dumps(bad))
    before = snapshot(store)
    with pytest.raises(FormatError, match=r"instances_val\.json"):
        import_labels(store, "coco", root)
    assert snapshot(store) == before  # the train file, read first, was not kept either
    outside = root / "secret.jpg"
    write_image(outside, 40, 20)
    escape = json.loads((root / "annotations" / "instances_train.json").read_text())
    escape["images"][0]["file_name"] = "../../secret.jpg"  # out of the project, and out of images/train/
    (root / "annotations" / "instances_train.json").write_text(json.dumps(escape))
    with pytest.raises(FormatError, match=r"the image path '\.\./\.\./secret\.jpg' leads outside"):
        import_labels(store, "coco", root / "annotations" / "instances_train.json")
    assert snapshot(store) == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match=r"a folder with no annotations/instances_<subset>\.json"):
        import_labels(store, "coco", tmp_path / "empty")



def _roboflow_coco(root, split, names):
    """Roboflow's COCO export: <split>/_annotations.coco.json beside the split's images, every file
    numbering images and annotations from 0, and a first category 0 that is the supercategory."""
    doc = {"info": {"year": "2026", "version": "1", "description": "Exported from roboflow.com"},
           "licenses": [{"id": 1, "url": "https://creativecommons.org/licenses/by/4.0/", "name": "CC BY 4.0"}],
           "categories": [{"id": 0, "name": "cells", "supercategory": "none"},
                          {"id": 1, "name": "Platelets", "supercategory": "cells"}],
           "images": [], "annotations": []}
    for i, name in enumerate(names):
        write_image(root / split / name, 32, 24)
        doc["images"].append({"id": i, "license": 1, "file_name": name, "height": 24, "width": 32,
                              "date_captured": "2026-01-01T00:00:00+00:00"})
        doc["annotations"].append({"id": i, "image_id": i, "category_id": 1, "bbox": [2, 3, 10, 8], "area": 80,
                                   "segmentation": [], "iscrowd": 0})
    (root / split / "_annotations.coco.json").write_text(json.dumps(doc))


def test_coco_roboflow_split_folders_import_as_one_data_set(store, tmp_path):
    """A Roboflow COCO export is train/, valid/, test/, each with its _annotations.coco.json beside its
    images. The folder used to be refused (no annotations/instances_*.json) and a single file lost
    its split; now the folder imports in one transaction and each folder gives its split."""
    root = tmp_path / "rf"
    _roboflow_coco(root, "train", ["a_jpg.rf.1.jpg", "b_jpg.rf.2.jpg"])
    _roboflow_coco(root, "valid", ["c_jpg.rf.3.jpg"])
    _roboflow_coco(root, "test", ["d_jpg.rf.4.jpg"])
    report = import_labels(store, "coco", root)
    assert report.images == 4 and report.annotations == 4 and not any("not found" in w for w in report.warnings)
    assert {Path(r.file_name).name: r.split for r in store.images()} == {
        "a_jpg.rf.1.jpg": "train", "b_jpg.rf.2.jpg": "train", "c_jpg.rf.3.jpg": "val", "d_jpg.rf.4.jpg": "test"}


def _fiftyone_coco(root, names):
    """FiftyOne's COCODetectionDataset (its export, and its zoo's COCO download): labels.json beside
    data/, file_name relative to data/, nulls where it has no value."""
    doc = {"info": {"year": "", "version": "", "description": "", "contributor": "", "url": "",
                    "date_created": "2026-01-01T00:00:00"},
           "licenses": [], "categories": [{"id": 1, "name": "cat", "supercategory": None}],
           "images": [], "annotations": []}
    for i, name in enumerate(names, 1):
        write_image(root / "data" / name, 32, 24)
        doc["images"].append({"id": i, "file_name": name, "height": 24, "width": 32, "license": None,
                              "coco_url": None})
        doc["annotations"].append({"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25,
                                   "iscrowd": 0, "supercategory": None})
    root.mkdir(parents=True, exist_ok=True)
    (root / "labels.json").write_text(json.dumps(doc))


def test_coco_fiftyone_layout_finds_its_images_in_data(store, tmp_path):
    """FiftyOne writes labels.json beside data/; its zoo puts one such folder per split
    (validation/, train/). Before, every image was reported not found."""
    _fiftyone_coco(tmp_path / "export", ["a.jpg", "b.jpg"])
    report = import_labels(store, "coco", tmp_path / "export" / "labels.json")
    assert report.images == 2 and not any("not found" in w for w in report.warnings)
    assert all(store.image_path(r).parent == tmp_path / "export" / "data" for r in store.images())
    zoo = tmp_path / "coco-2017"
    _fiftyone_coco(zoo / "validation", ["000000000139.jpg"])
    _fiftyone_coco(zoo / "train", ["000000000009.jpg"])
    report = import_labels(store, "coco", zoo)
    assert report.images == 2
    assert {Path(r.file_name).name: r.split for r in store.images()}["000000000139.jpg"] == "val"
    assert {Path(r.file_name).name: r.split for r in store.images()}["000000000009.jpg"] == "train"


def test_coco_folder_of_person_keypoints_files_imports_and_is_not_doubled_beside_instances(store, tmp_path):
    """datumaro's coco_person_keypoints layout: annotations/person_keypoints_<subset>.json only (their
    persons' boxes and outlines); the folder was refused. Beside instances files (COCO's download
    has both) only the instances are read, or every person would come in twice."""
    root = tmp_path / "kp"
    _datumaro_coco(root, "train", [("a.jpg", 40, 20)])
    (root / "annotations" / "instances_train.json").rename(root / "annotations" / "person_keypoints_train.json")
    report = import_labels(store, "coco", root)
    assert report.images == 1 and report.annotations == 1
    both = tmp_path / "both"
    _datumaro_coco(both, "val", [("b.jpg", 40, 20)])
    (both / "annotations" / "person_keypoints_val.json").write_text(
        (both / "annotations" / "instances_val.json").read_text())
    report = import_labels(store, "coco", both)
    assert report.images == 1 and report.annotations == 1
