"""`main.py export --format voc` read by torchvision's own VOCDetection (torchvision/datasets/voc.py:
root/VOCdevkit/VOC2012/ImageSets/Main/<image_set>.txt lists ids; each id is
JPEGImages/<id>.jpg and Annotations/<id>.xml), and datumaro's writer's <filename> (the name in
JPEGImages/, no <path>)."""
import os
import xml.etree.ElementTree as ET

from PIL import Image

from annotations.formats import import_labels
from annotations.model import Annotation, Category, ImageRecord
from annotations.store import Store
from main import main

from fmt_helpers import write_image


def _project(store, outside):
    """seq1/frame.jpg (40x30, train) and seq2/frame.jpg (50x20, val): the same file name in two
    folders; shot.jpeg (24x16, train) lies outside the project."""
    cat, dog = store.add_categories([Category(None, "cat"), Category(None, "dog")])
    write_image(store.root / "seq1" / "frame.jpg", 40, 30, seed=1)
    write_image(store.root / "seq2" / "frame.jpg", 50, 20, seed=2)
    write_image(outside / "shot.jpeg", 24, 16, seed=3)
    a = store.add_image(ImageRecord(None, "seq1/frame.jpg", 40, 30, "train"))
    b = store.add_image(ImageRecord(None, "seq2/frame.jpg", 50, 20, "val"))
    c = store.add_image(ImageRecord(None, str(outside / "shot.jpeg"), 24, 16, "train"))
    store.add_annotations([Annotation(None, a, cat, bbox=(2, 3, 10, 12)),
                           Annotation(None, a, dog, bbox=(20, 5, 15, 20)),
                           Annotation(None, b, dog, bbox=(0, 0, 50, 20)),
                           Annotation(None, c, cat, bbox=(4, 4, 8, 6))])
    return {"seq1/frame.jpg": a, "seq2/frame.jpg": b, "shot.jpeg": c}


def _boxes(target):
    objects = target["annotation"].get("object", [])
    return sorted((o["name"], *(int(o["bndbox"][k]) for k in ("xmin", "ymin", "xmax", "ymax"))) for o in objects)


def test_torchvision_voc_detection_reads_the_export(store, tmp_path, capsys):
    from torchvision.datasets import VOCDetection
    outside = tmp_path / "elsewhere"
    _project(store, outside)
    root = store.root
    store.close()
    voc = tmp_path / "tv" / "VOCdevkit" / "VOC2012"  # VOCDetection's base_dir for year 2012
    assert main(["export", "--project", str(root), "--format", "voc", str(voc)]) == 0
    capsys.readouterr()

    train = VOCDetection(str(tmp_path / "tv"), year="2012", image_set="train", download=False)
    got = {}
    for i in range(len(train)):
        img, target = train[i]
        got[target["annotation"]["filename"]] = (img.size, _boxes(target))
    # VOC boxes are 1-based inclusive: xmin = x + 1, xmax = x + w
    assert got == {"frame.jpg": ((40, 30), [("cat", 3, 4, 12, 15), ("dog", 21, 6, 35, 25)]),
                   "shot.jpg": ((24, 16), [("cat", 5, 5, 12, 10)])}
    val = VOCDetection(str(tmp_path / "tv"), year="2012", image_set="val", download=False)
    assert len(val) == 1
    img, target = val[0]
    assert img.size == (50, 20) and _boxes(target) == [("dog", 1, 1, 50, 20)]
    assert target["annotation"]["filename"] == "frame_2.jpg"  # the second frame.jpg: a unique name
    trainval = VOCDetection(str(tmp_path / "tv"), year="2012", image_set="trainval", download=False)
    assert len(trainval) == 3

    for xml in (voc / "Annotations").glob("*.xml"):
        el = ET.parse(xml).getroot()
        assert el.find("path") is None  # no absolute path (datumaro writes none)
        assert (voc / "JPEGImages" / el.findtext("filename")).is_file()
        assert el.findtext("filename") == xml.stem + ".jpg"
    # inside the project: hard-linked; outside: copied (a link would let the export write that file)
    assert os.stat(voc / "JPEGImages" / "frame.jpg").st_ino == os.stat(root / "seq1" / "frame.jpg").st_ino
    assert os.stat(voc / "JPEGImages" / "shot.jpg").st_ino != os.stat(outside / "shot.jpeg").st_ino
    assert Image.open(voc / "JPEGImages" / "frame_2.jpg").size == (50, 20)


def test_our_import_reads_the_export_with_its_images(store, tmp_path, capsys):
    _project(store, tmp_path / "elsewhere")
    root = store.root
    store.close()
    out = tmp_path / "voc"
    assert main(["export", "--project", str(root), "--format", "voc", str(out)]) == 0
    with Store.open(tmp_path / "again") as again:
        import_labels(again, "voc", out)
        names = {c.id: c.name for c in again.categories()}
        found = {}
        for rec in again.images():
            assert again.image_path(rec).is_file()
            found[(rec.width, rec.height, rec.split)] = sorted(
                (names[a.category_id], tuple(a.bbox)) for a in again.annotations(image_ids=[rec.id]))
    assert found == {(40, 30, "train"): [("cat", (2.0, 3.0, 10.0, 12.0)), ("dog", (20.0, 5.0, 15.0, 20.0))],
                     (50, 20, "val"): [("dog", (0.0, 0.0, 50.0, 20.0))],
                     (24, 16, "train"): [("cat", (4.0, 4.0, 8.0, 6.0))]}


def test_an_image_that_is_not_jpeg_keeps_its_suffix_with_a_warning(store, tmp_path, capsys):
    cat = store.add_categories([Category(None, "cat")])[0]
    write_image(store.root / "a.png", 20, 10)
    im = store.add_image(ImageRecord(None, "a.png", 20, 10))
    store.add_annotations([Annotation(None, im, cat, bbox=(1, 1, 5, 5))])
    root = store.root
    store.close()
    out = tmp_path / "voc"
    assert main(["export", "--project", str(root), "--format", "voc", str(out)]) == 0
    assert "VOCDetection opens <id>.jpg only" in capsys.readouterr().out
    assert (out / "JPEGImages" / "a.png").is_file()
    assert ET.parse(out / "Annotations" / "a.xml").getroot().findtext("filename") == "a.png"
