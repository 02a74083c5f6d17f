"""Files in the exact layouts other tools write (COCO's: test_other_tools_coco.py): labelme
(imageData), Pascal VOC (devkit lists, person layout, labelme2voc's 0-based boxes, Roboflow's
split folders, Label Studio's export), YOLO (datumaro's Images/+Annotations/ and its darknet
obj.data layout that CVAT exports, Roboflow's ../train/images, what Ultralytics' check_det_dataset
resolves)."""
import base64
import glob
import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from annotations.formats import FormatError, export_labels, import_labels
from annotations.model import Annotation, Category, ImageRecord
from annotations.store import Store

from fmt_helpers import snapshot, write_image


# ---- labelme -------------------------------------------------------------------------------------
def png_b64(w, h, seed):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def labelme_doc(image_path, shapes, image_data=None, w=40, h=30):
    """labelme 5's LabelFile.save: these keys, imagePath relative to the JSON, imageData base64 or null."""
    return {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path, "imageData": image_data,
            "imageHeight": h, "imageWidth": w}


def rect(label, x0, y0, x1, y1):
    return {"label": label, "points": [[x0, y0], [x1, y1]], "group_id": None, "description": "",
            "shape_type": "rectangle", "flags": {}, "mask": None}


def test_labelme_embedded_images_with_the_same_name_stay_two_images(store, tmp_path):
    root = tmp_path / "lm"
    for i, seq in enumerate(("seq1", "seq2")):
        (root / seq).mkdir(parents=True)
        doc = labelme_doc("frame.png", [rect(f"thing{i}", 1 + i, 1, 10 + i, 10)], png_b64(40, 30, i))
        (root / seq / "frame.json").write_text(json.dumps(doc))
    report = import_labels(store, "labelme", root)
    assert report.images == 2 and report.annotations == 2
    recs = {r.file_name: r for r in store.images()}
    assert set(recs) == {"labelme_images/seq1/frame.png", "labelme_images/seq2/frame.png"}
    for i, seq in enumerate(("seq1", "seq2")):
        (a,) = store.annotations(image_id=recs[f"labelme_images/{seq}/frame.png"].id)
        assert store.category(a.category_id).name == f"thing{i}"
        assert (store.root / "labelme_images" / seq / "frame.png").read_bytes() == base64.b64decode(png_b64(40, 30, i))


def test_labelme_image_path_naming_the_json_itself_uses_image_data(store, tmp_path):
    d = tmp_path / "lm"
    d.mkdir()
    (d / "shot.json").write_text(json.dumps(labelme_doc("shot.json", [rect("a", 1, 1, 5, 5)], png_b64(40, 30, 3))))
    report = import_labels(store, "labelme", d)
    (rec,) = store.images()
    assert report.images == 1 and rec.file_name == "labelme_images/shot.png" and (rec.width, rec.height) == (40, 30)
    assert Image.open(store.image_path(rec)).size == (40, 30)


def test_labelme_image_data_wins_over_a_different_file(store, tmp_path):
    d = tmp_path / "lm"
    write_image(d / "a.png", 20, 20)  # not the picture the JSON holds (a different size)
    (d / "a.json").write_text(json.dumps(labelme_doc("a.png", [], png_b64(40, 30, 1))))
    import_labels(store, "labelme", d)
    (rec,) = store.images()
    assert (rec.width, rec.height) == (40, 30) and rec.file_name.startswith("labelme_images/")


def test_labelme_same_image_data_and_file_uses_the_file(store, tmp_path):
    d = tmp_path / "lm"
    d.mkdir()
    (d / "a.png").write_bytes(base64.b64decode(png_b64(40, 30, 1)))
    (d / "a.json").write_text(json.dumps(labelme_doc("a.png", [], png_b64(40, 30, 1))))
    import_labels(store, "labelme", d, image_dir=d)
    assert store.image_path(store.images()[0]) == d / "a.png" and not (store.root / "labelme_images").exists()


def test_labelme_size_that_disagrees_with_the_image(store, tmp_path):
    d = tmp_path / "lm"
    write_image(d / "a.jpg", 40, 30)
    (d / "a.json").write_text(json.dumps(labelme_doc("a.jpg", [], w=200000, h=30)))
    with pytest.raises(FormatError, match=r"a\.json: imageWidth is 200000, the image is 40x30"):
        import_labels(store, "labelme", d)
    assert store.image_count() == 0


def test_labelme_far_outside_points(store, tmp_path):
    d = tmp_path / "lm"
    write_image(d / "a.jpg", 40, 30)
    poly = {**rect("a", 0, 0, 0, 0), "shape_type": "polygon", "points": [[1, 1], [3e9, 1], [3e9, 3e9]]}
    (d / "a.json").write_text(json.dumps(labelme_doc("a.jpg", [poly])))
    with pytest.raises(FormatError, match=r"a\.json: shape 0 \('a'\): points reach|far outside the 40x30 image"):
        import_labels(store, "labelme", d)


# ---- Pascal VOC ----------------------------------------------------------------------------------
def voc_xml(filename, objects, w=50, h=40):
    return (f"<annotation><folder>VOC2012</folder><filename>{filename}</filename>"
            f"<source><database>The VOC2012 Database</database></source>"
            f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size><segmented>0</segmented>"
            f"{objects}</annotation>")


def voc_obj(name, box, extra=""):
    return (f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
            f"<bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox>"
            f"{extra}</object>")


def devkit(root, stems_objects, lists):
    for i, (stem, objects) in enumerate(stems_objects.items()):
        write_image(root / "JPEGImages" / f"{stem}.jpg", 50, 40, seed=i)
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.jpg", objects))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for name, stems in lists.items():
        (root / "ImageSets" / "Main" / f"{name}.txt").write_text("".join(f"{s}\n" for s in stems))
    return root


def test_voc_trainval_only_is_the_train_split(store, tmp_path):
    root = devkit(tmp_path / "VOC2007", {"000005": [voc_obj("chair", (2, 2, 20, 20))], "000007": []},
                  {"trainval": ["000005", "000007"], "test": []})
    report = import_labels(store, "voc", root)
    assert {r.split for r in store.images()} == {"train"}
    assert any("listed only in trainval.txt" in w for w in report.warnings)


def test_voc_export_without_splits_writes_default_and_trainval_lists(store, tmp_path):
    cid = store.add_category(Category(None, "a"))
    for name in ("x", "y"):
        write_image(store.root / f"{name}.jpg", 50, 40)
    ids = store.add_images([ImageRecord(None, "x.jpg", 50, 40), ImageRecord(None, "y.jpg", 50, 40, split="test")])
    store.add_annotation(Annotation(None, ids[0], cid, bbox=(1, 1, 5, 5)))
    export_labels(store, "voc", tmp_path / "out")
    sets = tmp_path / "out" / "ImageSets" / "Main"
    assert (sets / "default.txt").read_text() == "x\n"  # datumaro's name for no split
    assert (sets / "trainval.txt").read_text() == "x\n"  # what the devkit and torchvision's VOCDetection read
    assert (sets / "test.txt").read_text() == "y\n"
    # read back: the images keep their splits
    with Store.open(tmp_path / "again") as again:
        import_labels(again, "voc", tmp_path / "out", image_dir=store.root)
        assert sorted((r.file_name.split("/")[-1], r.split) for r in again.images()) == [("x.jpg", ""),
                                                                                        ("y.jpg", "test")]


def test_voc_parts_and_actions_are_kept(store, tmp_path):
    person = voc_obj("person", (5, 5, 40, 38), extra=(
        "<part><name>head</name><bndbox><xmin>10</xmin><ymin>6</ymin><xmax>20</xmax><ymax>15</ymax></bndbox></part>"
        "<part><name>hand</name><bndbox><xmin>30</xmin><ymin>20</ymin><xmax>35</xmax><ymax>25</ymax></bndbox></part>"
        "<actions><jumping>1</jumping><phoning>0</phoning></actions>"))
    root = devkit(tmp_path / "VOC2012", {"2010_000001": [person]}, {"train": ["2010_000001"]})
    import_labels(store, "voc", root)
    (a,) = store.annotations()
    assert a.extra["parts"] == [{"name": "head", "bndbox": [10, 6, 20, 15]},
                                {"name": "hand", "bndbox": [30, 20, 35, 25]}]
    assert a.extra["actions"] == {"jumping": 1, "phoning": 0}
    export_labels(store, "voc", tmp_path / "out")
    obj = ET.parse(tmp_path / "out/Annotations/2010_000001.xml").getroot().find("object")
    assert [p.findtext("name") for p in obj.findall("part")] == ["head", "hand"]
    assert obj.findtext("part/bndbox/xmin") == "10" and obj.findtext("actions/jumping") == "1"


def test_voc_zero_based_writers(store, tmp_path):
    """labelme2voc writes xmin = min x of the shape (0-based); a box from the left edge starts at 0."""
    root = devkit(tmp_path / "lm2voc", {"a": [voc_obj("cat", (0, 3, 10, 13)), voc_obj("dog", (20, 20, 30, 30))]},
                  {"train": ["a"]})
    report = import_labels(store, "voc", root)
    assert sorted(a.bbox for a in store.annotations()) == [(0, 3, 10, 10), (20, 20, 10, 10)]
    assert any("0-based" in w for w in report.warnings)


def test_voc_one_based_files_and_the_explicit_choice(store, tmp_path, capsys):
    import main as entry
    root = devkit(tmp_path / "voc", {"a": [voc_obj("cat", (1, 4, 10, 13))]}, {"train": ["a"]})
    import_labels(store, "voc", root)
    assert store.annotations()[0].bbox == (0, 3, 10, 10)  # VOC's own 1-based convention
    assert entry.main(["import", "--project", str(tmp_path / "p0"), "--format", "voc", "--voc-coordinates", "0",
                       str(root)]) == 0
    with Store.open(tmp_path / "p0") as p0:
        assert p0.annotations()[0].bbox == (1, 4, 9, 9)


def roboflow_voc_xml(filename, box, w=50, h=40):
    """Roboflow's Pascal VOC export (as in datumaro's roboflow_dataset/voc): <folder> empty, <path>
    the bare file name, <bndbox> in the order xmin, xmax, ymin, ymax, 0-based."""
    return (f"<annotation>\n  <folder></folder>\n  <filename>{filename}</filename>\n  <path>{filename}</path>\n"
            f"  <source>\n    <database>roboflow.ai</database>\n  </source>\n"
            f"  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n    <depth>3</depth>\n  </size>\n"
            f"  <segmented>0</segmented>\n  <object>\n    <name>label_0</name>\n    <bndbox>\n"
            f"      <xmin>{box[0]}</xmin>\n      <xmax>{box[2]}</xmax>\n      <ymin>{box[1]}</ymin>\n"
            f"      <ymax>{box[3]}</ymax>\n    </bndbox>\n  </object>\n</annotation>\n")


def test_voc_roboflow_split_folders_with_images_beside_their_xml(store, tmp_path):
    """Roboflow: train/, valid/ and test/ each hold the images and their XML files side by side,
    and the same file name may appear in two of them."""
    root = tmp_path / "rf_voc"
    layout = {"train": [("a.jpg", (0, 1, 10, 12)), ("b.jpg", (2, 2, 20, 20))], "valid": [("a.jpg", (5, 5, 30, 30))],
              "test": [("c.jpg", (3, 3, 9, 9))]}
    for k, (folder, items) in enumerate(layout.items()):
        for i, (name, box) in enumerate(items):
            write_image(root / folder / name, 50, 40, seed=10 * k + i)
            (root / folder / name.replace(".jpg", ".xml")).write_text(roboflow_voc_xml(name, box))
    report = import_labels(store, "voc", root)
    assert report.images == 4 and report.annotations == 4
    got = {(Path(r.file_name).parent.name, Path(r.file_name).name): (r.split, [a.bbox for a in
                                                                               store.annotations(image_id=r.id)])
           for r in store.images()}
    assert got == {("train", "a.jpg"): ("train", [(0, 1, 10, 11)]), ("train", "b.jpg"): ("train", [(2, 2, 18, 18)]),
                   ("valid", "a.jpg"): ("val", [(5, 5, 25, 25)]), ("test", "c.jpg"): ("test", [(3, 3, 6, 6)])}
    for r in store.images():  # each record is the image beside its own XML file
        assert store.image_path(r).read_bytes() == (root / Path(r.file_name).parent.name / Path(r.file_name).name
                                                    ).read_bytes()
    assert any("0-based" in w for w in report.warnings)


def _label_studio_voc(root, stem, w, h, boxes):
    """label-studio-converter's convert_to_voc: Annotations/<stem>.xml, the image in images/ (its
    <folder>), <filename> the stem without its suffix, boxes as int(x% * width) and xmax = x + w
    (0-based), and Label Studio as <owner>."""
    objects = "".join(f"<object><name>{n}</name><pose>Unspecified</pose><truncated>0</truncated>"
                      f"<difficult>0</difficult><bndbox><xmin>{x}</xmin><ymin>{y}</ymin><xmax>{x + bw}</xmax>"
                      f"<ymax>{y + bh}</ymax></bndbox></object>" for n, x, y, bw, bh in boxes)
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / f"{stem}.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotation><folder>images</folder>'
        f"<filename>{stem}</filename><source><database>MyDatabase</database><annotation>COCO2017</annotation>"
        "<image>flickr</image><flickrid>NULL</flickrid><annotator>ann@example.com</annotator></source>"
        "<owner><flickrid>NULL</flickrid><name>Label Studio</name></owner>"
        f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size><segmented>0</segmented>"
        f"{objects}</annotation>\n")


def test_voc_label_studio_export_finds_its_images_and_reads_0_based_boxes(store, tmp_path):
    """Before, every file was refused: "its image a1b2-photo was not found" (no suffix, and the
    image in images/). And with no box at 0 its boxes were read 1-based, a pixel off."""
    root = tmp_path / "ls"
    write_image(root / "images" / "a1b2-photo.jpg", 50, 40)
    write_image(root / "images" / "c3d4-other.png", 50, 40)
    _label_studio_voc(root, "a1b2-photo", 50, 40, [("car", 3, 4, 10, 12)])
    _label_studio_voc(root, "c3d4-other", 50, 40, [("dog", 20, 5, 15, 20)])
    report = import_labels(store, "voc", root)
    assert report.images == 2 and any("Label Studio" in w for w in report.warnings)
    boxes = {Path(store.image(a.image_id).file_name).name: a.bbox for a in store.annotations()}
    assert boxes == {"a1b2-photo.jpg": (3, 4, 10, 12), "c3d4-other.png": (20, 5, 15, 20)}


# ---- YOLO ----------------------------------------------------------------------------------------
def test_yolo_datumaro_loose_layout(store, tmp_path):
    """datumaro's yolo_loose: obj.names, Images/<subset>/x.jpg, Annotations/<subset>/x.txt."""
    root = tmp_path / "dm"
    (root / "obj.names").parent.mkdir(parents=True)
    (root / "obj.names").write_text("".join(f"label_{i}\n" for i in range(10)))
    write_image(root / "Images" / "1.jpg", 100, 50)
    (root / "Annotations").mkdir()
    (root / "Annotations" / "1.txt").write_text("2 0.133333 0.300000 0.266667 0.200000\n"
                                                "4 0.266667 0.450000 0.133333 0.300000\n")
    report = import_labels(store, "yolo", root)
    assert report.images == 1 and report.annotations == 2
    assert sorted(store.category(a.category_id).name for a in store.annotations()) == ["label_2", "label_4"]


def _darknet(root, subsets, names=("label_0", "label_1")):
    """datumaro's yolo exporter (CVAT's "YOLO 1.1"): obj.names, obj.data naming each subset's list
    file under darknet's data/ folder, <subset>.txt listing data/obj_<subset>_data/<image>, and each
    image's txt beside it in obj_<subset>_data/."""
    root.mkdir(parents=True)
    (root / "obj.names").write_text("".join(n + "\n" for n in names))
    data = f"classes = {len(names)}\n"
    for subset, images in subsets.items():
        lines = []
        for i, (name, w, h) in enumerate(images):
            write_image(root / f"obj_{subset}_data" / name, w, h)
            (root / f"obj_{subset}_data" / name).with_suffix(".txt").write_text(f"{i % len(names)} 0.5 0.5 0.2 0.4\n")
            lines.append(f"data/obj_{subset}_data/{name}\n")
        (root / f"{subset}.txt").write_text("".join(lines))
        data += f"{subset} = data/{subset}.txt\n"
    (root / "obj.data").write_text(data + "names = data/obj.names\nbackup = backup/\n")


def test_yolo_darknet_layout_keeps_its_subsets(store, tmp_path):
    root = tmp_path / "cvat"
    _darknet(root, {"Train": [("1.jpg", 100, 50), ("sub/2.png", 80, 40)], "Validation": [("3.jpg", 60, 30)]})
    report = import_labels(store, "yolo", root)
    assert report.images == 3 and report.annotations == 3
    splits = {Path(r.file_name).name: (r.split, r.width, r.height) for r in store.images()}
    assert splits == {"1.jpg": ("train", 100, 50), "2.png": ("train", 80, 40), "3.jpg": ("val", 60, 30)}
    boxes = sorted(a.bbox for a in store.annotations())
    assert boxes[-1] == pytest.approx((40.0, 15.0, 20.0, 20.0))  # 100x50 image: w 0.2, h 0.4


def test_yolo_darknet_images_missing_from_the_export(store, tmp_path):
    """CVAT exports without images on request: the lists still name them, only their txt files are there."""
    root = tmp_path / "cvat"
    _darknet(root, {"train": [("1.jpg", 40, 20), ("2.jpg", 40, 20)]})
    (root / "obj_train_data" / "2.jpg").unlink()
    report = import_labels(store, "yolo", root)
    assert report.images == 1 and [Path(r.file_name).name for r in store.images()] == ["1.jpg"]
    assert any(w.endswith("2.jpg not found") for w in report.warnings)
    assert str(report).startswith("Imported 1 annotation on 1 new image (0 already in the project), 2 new categories.")
    (root / "obj_train_data" / "1.jpg").unlink()
    before = snapshot(store)
    with pytest.raises(FormatError, match=r"cvat: none of the 2 images it lists were found .*an export without its "
                                          r"images cannot be imported"):
        import_labels(store, "yolo", root)
    assert snapshot(store) == before


def test_yolo_darknet_list_leading_outside_is_refused(store, tmp_path):
    root = tmp_path / "cvat"
    _darknet(root, {"train": [("1.jpg", 40, 20)]})
    outside = tmp_path / "elsewhere.jpg"
    write_image(outside, 40, 20)
    (root / "train.txt").write_text("data/obj_train_data/1.jpg\n../elsewhere.jpg\n")
    with pytest.raises(FormatError, match=r"train\.txt: line 2: the image path '\.\./elsewhere\.jpg' leads outside"):
        import_labels(store, "yolo", root)
    (root / "train.txt").write_text("data/obj_train_data/1.jpg\n")
    (root / "obj.data").write_text("train = ../../../etc/passwd\n")
    with pytest.raises(FormatError, match=r"leads outside"):
        import_labels(store, "yolo", root)
    (root / "obj.data").write_bytes(b"train = data/train\xff.txt\n")
    with pytest.raises(FormatError, match=r"obj\.data: not UTF-8 text"):
        import_labels(store, "yolo", root)
    assert store.image_count() == 0


def test_yolo_no_label_found_is_said(store, tmp_path):
    root = tmp_path / "d"
    write_image(root / "pics" / "1.jpg", 100, 50)
    (root / "obj.names").write_text("a\n")
    report = import_labels(store, "yolo", root)
    assert any("no label file was found" in w for w in report.warnings)


def test_yolo_roboflow_layout(store, tmp_path):
    """Roboflow: data.yaml with train: ../train/images (resolved as Ultralytics does)."""
    root = tmp_path / "rf"
    (root).mkdir()
    (root / "data.yaml").write_text("train: ../train/images\nval: ../valid/images\n\nnc: 2\n"
                                    "names: ['label_0', 'label_1']\n")
    write_image(root / "train/images/train_001.jpg", 100, 50)
    write_image(root / "valid/images/val_001.jpg", 100, 50)
    (root / "train/labels").mkdir(parents=True)
    (root / "valid/labels").mkdir(parents=True)
    (root / "train/labels/train_001.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "valid/labels/val_001.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    import_labels(store, "yolo", root)
    assert sorted((r.file_name.split("/")[-1], r.split) for r in store.images()) == [("train_001.jpg", "train"),
                                                                                    ("val_001.jpg", "val")]


def ultralytics_view(yaml_file: Path) -> dict:
    """What Ultralytics reads (check_det_dataset's path rules, img2label_paths), for each key."""
    data = yaml.safe_load(yaml_file.read_text())
    path = Path(data.get("path") or yaml_file.parent)
    out = {}
    for k in ("train", "val", "test"):
        if not data.get(k):
            continue
        entries = data[k] if isinstance(data[k], list) else [data[k]]
        files = []
        for e in entries:
            p = (path / e).resolve()
            files += [f for f in glob.glob(str(p / "**" / "*.*"), recursive=True) if f.endswith((".jpg", ".png"))]
        sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
        labels = [sb.join(f.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt" for f in files]
        out[k] = (sorted(Path(f).name for f in files), sum(os.path.isfile(x) for x in labels))
    return out


def _project_for_yolo(store):
    cid = store.add_category(Category(None, "a"))
    crowd_cid = store.add_category(Category(None, "people"))
    recs = [("train/1.jpg", "train"), ("val/1.jpg", "val"), ("2.jpg", ""), ("3.jpg", "")]
    for i, (name, _) in enumerate(recs):
        write_image(store.root / name, 40, 20, seed=i)
    ids = store.add_images([ImageRecord(None, n, 40, 20, split=s) for n, s in recs])
    store.add_annotations([Annotation(None, i, cid, bbox=(1, 1, 10, 10)) for i in ids])
    store.add_annotation(Annotation(None, ids[2], crowd_cid, bbox=(0, 0, 40, 20), iscrowd=1))
    return ids


def test_yolo_export_is_what_ultralytics_reads(store, tmp_path, monkeypatch):
    _project_for_yolo(store)
    report = export_labels(store, "yolo", tmp_path / "y")
    data = yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())
    assert "path" not in data
    monkeypatch.chdir(tmp_path)  # Ultralytics resolves against the YAML's folder, not the current one
    view = ultralytics_view(tmp_path / "y" / "data.yaml")
    reached = set(view["train"][0]) | set(view["val"][0])
    assert view["train"] == (["1.jpg", "2.jpg", "3.jpg"], 3) and view["val"] == (["1.jpg"], 1)
    assert len(reached) == 3 and (tmp_path / "y/images/val/1.jpg").is_file()  # no renaming across splits
    assert (tmp_path / "y/images/train/1.jpg").is_file() and (tmp_path / "y/images/default/2.jpg").is_file()
    assert not any("share a file stem" in w for w in report.warnings)
    # crowd regions are left out, and said
    assert (tmp_path / "y/labels/default/2.txt").read_text().count("\n") == 1
    assert any("1 crowd region(s) were left out" in w for w in report.warnings)


def test_yolo_export_without_splits_reaches_every_image(store, tmp_path):
    cid = store.add_category(Category(None, "a"))
    write_image(store.root / "a.jpg", 40, 20)
    iid = store.add_image(ImageRecord(None, "a.jpg", 40, 20))
    store.add_annotation(Annotation(None, iid, cid, bbox=(1, 1, 10, 10)))
    export_labels(store, "yolo", tmp_path / "y")
    assert ultralytics_view(tmp_path / "y" / "data.yaml") == {"train": (["a.jpg"], 1), "val": (["a.jpg"], 1)}


@pytest.mark.parametrize("text, message", [
    ("0 0.5 0.5 0 0.2\n", r"x\.txt: line 1: the box has no area"),
    ("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2 0.1 0.1\n", r"x\.txt: line 2: 6 numbers among box lines"),
])
def test_yolo_lines_refused(store, tmp_path, text, message):
    root = tmp_path / "ds"
    write_image(root / "images" / "x.jpg", 40, 20)
    (root / "labels").mkdir()
    (root / "labels" / "x.txt").write_text(text)
    (root / "data.yaml").write_text("names: [a]\n")
    before = snapshot(store)
    with pytest.raises(FormatError, match=message):
        import_labels(store, "yolo", root)
    assert snapshot(store) == before


def test_yolo_alias_bomb_is_refused_at_once(store, tmp_path):
    root = tmp_path / "bomb"
    write_image(root / "images" / "x.jpg", 40, 20)
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 9)}]")
    lines.append(f"names: *{chr(97 + 11)}")
    (root / "data.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"data\.yaml: YAML aliases \(\*name\) are not accepted"):
        import_labels(store, "yolo", root)  # refused while parsing, before anything expands


@pytest.mark.parametrize("text, message", [
    ("names: [a]\nnc: " + "9" * 5000 + "\n",
     r"data\.yaml: not acceptable YAML: a number of 5000 digits \(at most 4300"),
    ("names: " + "[" * 100000 + "]" * 100000 + "\n", r"data\.yaml: nested too deeply to be a data set description$"),
])
def test_yolo_hostile_yaml_names_the_file(store, tmp_path, text, message):
    root = tmp_path / "ds"
    write_image(root / "images" / "x.jpg", 40, 20)
    (root / "data.yaml").write_text(text)
    with pytest.raises(FormatError, match=message):
        import_labels(store, "yolo", root)
    assert store.image_count() == 0
