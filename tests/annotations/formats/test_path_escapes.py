"""Image paths from label files stay inside the project or the folder the person named, and must be
images; an export hard-links only images inside the project."""
import json
import os

import pytest
import yaml

from annotations.formats import FormatError, export_labels, import_labels
from annotations.model import Annotation, Category, ImageRecord

from fmt_helpers import snapshot, write_image

ESCAPES = ["../../../../etc/passwd", "/etc/passwd", "sub/../../outside.jpg"]


def coco(file_name, **image):
    return {"images": [{"id": 1, "file_name": file_name, "width": 10, "height": 10, **image}],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 3, 3]}]}


@pytest.mark.parametrize("name", ESCAPES)
def test_coco_file_name_outside_is_refused(store, tmp_path, name):
    write_image(tmp_path / "outside.jpg", 10, 10)  # a real image, but outside both folders
    f = tmp_path / "escape.json"
    f.write_text(json.dumps(coco(name)))
    before = snapshot(store)
    with pytest.raises(FormatError, match=r"escape\.json: images\[0\] \(id 1\): the image path .* leads outside "
                                          r"the project and the named image folder"):
        import_labels(store, "coco", f)
    with pytest.raises(FormatError, match="leads outside"):
        import_labels(store, "coco", f, image_dir=tmp_path / "imgs")
    assert snapshot(store) == before


def test_coco_file_that_is_not_an_image_is_refused(store, tmp_path):
    (store.root / "notes.txt").write_text("secret")
    f = tmp_path / "c.json"
    f.write_text(json.dumps(coco("notes.txt")))
    with pytest.raises(FormatError, match=r"c\.json: images\[0\] \(id 1\): .*notes\.txt: not a readable image"):
        import_labels(store, "coco", f)
    assert store.image_count() == 0


def test_coco_images_in_the_named_folder_are_accepted(store, tmp_path):
    write_image(tmp_path / "imgs" / "sub" / "x.jpg", 10, 10)
    f = tmp_path / "c.json"
    f.write_text(json.dumps(coco("sub/x.jpg")))
    report = import_labels(store, "coco", f, image_dir=tmp_path / "imgs")
    assert report.images == 1 and report.warnings == []
    assert store.image_path(store.images()[0]) == tmp_path / "imgs" / "sub" / "x.jpg"


def test_coco_missing_images_are_reported_one_by_one(store, tmp_path):
    write_image(store.root / "here.jpg", 10, 10)
    d = coco("here.jpg")
    d["images"] += [{"id": 2, "file_name": "gone.jpg", "width": 10, "height": 10},
                    {"id": 3, "file_name": "lost/also.jpg", "width": 10, "height": 10}]
    f = tmp_path / "m.json"
    f.write_text(json.dumps(d))
    report = import_labels(store, "coco", f)
    assert report.images == 3
    assert len(report.warnings) == 2
    assert "m.json: images[1] (id 2): image" in report.warnings[0] and "gone.jpg not found" in report.warnings[0]
    assert "images[2] (id 3)" in report.warnings[1] and "also.jpg not found" in report.warnings[1]


VOC = """<annotation><folder>x</folder><filename>{filename}</filename>{path}
<size><width>10</width><height>10</height><depth>3</depth></size>
<object><name>a</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>
</annotation>"""


@pytest.mark.parametrize("filename, path", [("../../../../etc/passwd", ""), ("/etc/passwd", ""),
                                            ("missing.jpg", "<path>/etc/passwd</path>"),
                                            ("missing.jpg", "<path>../../../../etc/passwd</path>")])
def test_voc_filename_and_path_outside_are_refused(store, tmp_path, filename, path):
    d = tmp_path / "voc"
    d.mkdir()
    (d / "a.xml").write_text(VOC.format(filename=filename, path=path))
    with pytest.raises(FormatError, match=r"a\.xml: <(filename|path)>: the image path .* leads outside"):
        import_labels(store, "voc", d)
    assert store.image_count() == 0


def test_voc_filename_that_is_not_an_image(store, tmp_path):
    d = tmp_path / "voc"
    d.mkdir()
    (d / "fake.jpg").write_text("plain text")
    (d / "a.xml").write_text(VOC.format(filename="fake.jpg", path=""))
    with pytest.raises(FormatError, match=r"a\.xml: .*fake\.jpg: not a readable image"):
        import_labels(store, "voc", d)


@pytest.mark.parametrize("image_path", ESCAPES + ["..\\..\\..\\..\\etc\\passwd"])
def test_labelme_image_path_outside_is_refused(store, tmp_path, image_path):
    d = tmp_path / "lm"
    d.mkdir()
    write_image(tmp_path / "outside.jpg", 10, 10)
    (d / "a.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": [], "imagePath": image_path,
                                          "imageData": None, "imageHeight": 10, "imageWidth": 10}))
    with pytest.raises(FormatError, match=r"a\.json: imagePath: the image path .* leads outside"):
        import_labels(store, "labelme", d)
    assert store.image_count() == 0 and not (store.root / "labelme_images").exists()


def test_yolo_list_file_outside_is_refused(store, tmp_path):
    root = tmp_path / "ds"
    write_image(root / "images" / "a.jpg", 10, 10)
    write_image(tmp_path / "elsewhere.jpg", 10, 10)
    (root / "train.txt").write_text("images/a.jpg\n../elsewhere.jpg\n")
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "train.txt", "val": "train.txt", "names": ["a"]}))
    with pytest.raises(FormatError, match=r"train\.txt: line 2: the image path '\.\./elsewhere\.jpg' leads outside"):
        import_labels(store, "yolo", root)


def test_yolo_split_folder_outside_is_refused(store, tmp_path):
    root = tmp_path / "ds"
    write_image(root / "images" / "a.jpg", 10, 10)
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "/etc", "val": "images", "names": ["a"]}))
    with pytest.raises(FormatError, match=r"data\.yaml: train: the image path .* leads outside"):
        import_labels(store, "yolo", root)


def test_yolo_export_links_only_images_inside_the_project(store, tmp_path):
    cid = store.add_category(Category(None, "a"))
    inside = write_image(store.root / "in.jpg", 10, 10)
    outside = write_image(tmp_path / "elsewhere" / "out.jpg", 10, 10, seed=1)
    ids = store.add_images([ImageRecord(None, "in.jpg", 10, 10), ImageRecord(None, outside.as_posix(), 10, 10)])
    store.add_annotations([Annotation(None, i, cid, bbox=(1, 1, 3, 3)) for i in ids])
    export_labels(store, "yolo", tmp_path / "y")
    linked, copied = tmp_path / "y/images/in.jpg", tmp_path / "y/images/out.jpg"
    assert os.path.samefile(linked, inside)  # a hard link: no copy of the project's own image
    assert not os.path.samefile(copied, outside) and copied.read_bytes() == outside.read_bytes()
    copied.write_bytes(b"changed")  # writing to the export never writes the outside file
    assert outside.read_bytes() != b"changed"
