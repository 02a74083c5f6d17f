"""Pascal VOC XML, on files written by hand in VOC's own layout."""
import xml.etree.ElementTree as ET

import pytest

from annotations.formats import FormatError, export_labels, import_labels
from annotations.model import BOX, POLYGON, Annotation, Category, ImageRecord

from fmt_helpers import snapshot, write_image

XML = """<annotation>
\t<folder>VOC2012</folder>
\t<filename>{filename}</filename>
\t<source><database>The VOC2012 Database</database></source>
\t<size><width>{w}</width><height>{h}</height><depth>3</depth></size>
\t<segmented>0</segmented>
{objects}</annotation>
"""
OBJ = """\t<object>
\t\t<name>{name}</name>
\t\t<pose>{pose}</pose>
\t\t<truncated>{truncated}</truncated>
\t\t<occluded>{occluded}</occluded>
\t\t<bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox>
\t\t<difficult>{difficult}</difficult>
\t</object>
"""


def obj(name, box, pose="Unspecified", truncated=0, occluded=0, difficult=0):
    return OBJ.format(name=name, b=box, pose=pose, truncated=truncated, occluded=occluded, difficult=difficult)


def voc_dataset(root, w=64, h=48):
    """VOCdevkit-style folder: Annotations/, JPEGImages/, ImageSets/Main/."""
    files = {
        "2008_000001": [obj("dog", (1, 1, 64, 48), pose="Left", truncated=1),  # the whole image
                        obj("person", (10, 5, 20, 30), difficult=1, occluded=1)],
        "2008_000002": [],  # an image with no objects
        "köln_straße_猫": [obj("cat", (30, 20, 64, 48), pose="Frontal")],  # touches the right/bottom border
    }
    for i, (stem, objects) in enumerate(files.items()):
        write_image(root / "JPEGImages" / f"{stem}.jpg", w, h, seed=i)
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"{stem}.xml").write_text(
            XML.format(filename=f"{stem}.jpg", w=w, h=h, objects="".join(objects)), encoding="utf-8")
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("2008_000001\nköln_straße_猫\n", encoding="utf-8")
    (root / "ImageSets" / "Main" / "val.txt").write_text("2008_000002\n")
    return root


def test_import_voc_layout(store, tmp_path):
    root = voc_dataset(tmp_path / "VOC2012")
    report = import_labels(store, "voc", root)
    assert (report.images, report.annotations, report.categories) == (3, 3, 3)
    by_name = {r.file_name.split("/")[-1]: r for r in store.images()}
    assert set(by_name) == {"2008_000001.jpg", "2008_000002.jpg", "köln_straße_猫.jpg"}
    assert {n: r.split for n, r in by_name.items()} == {
        "2008_000001.jpg": "train", "2008_000002.jpg": "val", "köln_straße_猫.jpg": "train"}
    assert store.annotations(image_id=by_name["2008_000002.jpg"].id) == []
    anns = {store.category(a.category_id).name: a for a in store.annotations()}
    assert anns["dog"].bbox == (0.0, 0.0, 64.0, 48.0)  # VOC's 1-based inclusive corners
    assert anns["dog"].extra == {"pose": "Left", "truncated": 1, "occluded": 0, "difficult": 0}
    assert anns["person"].bbox == (9.0, 4.0, 11.0, 26.0)
    assert anns["person"].extra["difficult"] == 1 and anns["person"].extra["occluded"] == 1
    assert anns["cat"].bbox == (29.0, 19.0, 35.0, 29.0) and anns["cat"].kind == BOX


def test_export_then_import_gives_the_same_boxes_and_flags(store, tmp_path):
    import_labels(store, "voc", voc_dataset(tmp_path / "VOC2012"))
    out = tmp_path / "exported"
    report = export_labels(store, "voc", out)
    assert report.files == 3 + 3 + 3  # three XML files, their images in JPEGImages/, train.txt, val.txt, trainval.txt
    root = ET.parse(out / "Annotations" / "2008_000001.xml").getroot()
    assert root.findtext("filename") == "2008_000001.jpg"
    assert (root.findtext("size/width"), root.findtext("size/height")) == ("64", "48")
    objs = {o.findtext("name"): o for o in root.iter("object")}
    assert [objs["dog"].findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == ["1", "1", "64", "48"]
    assert objs["person"].findtext("difficult") == "1" and objs["dog"].findtext("truncated") == "1"
    assert objs["dog"].findtext("pose") == "Left"
    assert (out / "ImageSets" / "Main" / "val.txt").read_text().split() == ["2008_000002"]
    assert (out / "Annotations" / "köln_straße_猫.xml").is_file()

    from annotations.store import Store
    with Store.open(tmp_path / "again") as again:
        import_labels(again, "voc", out, image_dir=tmp_path / "VOC2012" / "JPEGImages")
        def boxes(s):
            return sorted((s.category(a.category_id).name, a.bbox, tuple(sorted(a.extra.items())))
                          for a in s.annotations())
        assert boxes(again) == boxes(store)
        assert sorted(r.split for r in again.images()) == sorted(r.split for r in store.images())


def test_labelimg_style_folder_and_zero_based_border(store, tmp_path):
    """labelImg writes XML beside the image and sometimes 0 for a box at the left edge."""
    write_image(tmp_path / "shots" / "a.png", 30, 20)
    (tmp_path / "shots" / "a.xml").write_text(XML.format(filename="a.png", w=30, h=20,
                                                         objects=obj("cup", (0, 0, 30, 20))))
    import_labels(store, "voc", tmp_path / "shots")
    assert store.annotations()[0].bbox == (0.0, 0.0, 30.0, 20.0)


def test_polygons_are_written_as_boxes_with_a_warning(store, tmp_path):
    cid = store.add_category(Category(None, "tri"))
    write_image(store.root / "t.png", 40, 40)
    iid = store.add_image(ImageRecord(None, "t.png", 40, 40))
    store.add_annotation(Annotation(None, iid, cid, kind=POLYGON, polygons=[[5, 5, 25, 5, 15, 30]]))
    report = export_labels(store, "voc", tmp_path / "o")
    assert any("bounding boxes" in w for w in report.warnings)
    box = ET.parse(tmp_path / "o" / "Annotations" / "t.xml").getroot().find("object/bndbox")
    assert [box.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")] == ["6", "6", "25", "30"]


def _one(tmp_path, objects, filename="a.jpg", size=(30, 20), make_image=True):
    d = tmp_path / "voc"
    if make_image:
        write_image(d / filename, 30, 20)
    d.mkdir(exist_ok=True)
    (d / "a.xml").write_text(XML.format(filename=filename, w=size[0], h=size[1], objects=objects))
    return d


@pytest.mark.parametrize("objects, message", [
    (obj("x", (-2, 1, 5, 5)), r"a\.xml: object 1 \('x'\): bndbox holds the negative value -2"),
    (obj("x", ("nan", 1, 5, 5)), r"a\.xml: object 1 \('x'\): bndbox holds nan"),
    (obj("x", (8, 1, 5, 5)), r"a\.xml: object 1 \('x'\): <bndbox> has xmax < xmin"),
    (obj("x", ("abc", 1, 5, 5)), r"a\.xml: object 1 \('x'\): bndbox holds 'abc'"),
    (obj("", (1, 1, 5, 5)), r"a\.xml: object 1 has no <name>"),
    ("<object><name>x</name><bndbox><xmin>1</xmin></bndbox></object>", r"needs xmin, ymin, xmax and ymax"),
])
def test_bad_objects(populated_voc_store, tmp_path, objects, message):
    store = populated_voc_store
    before = snapshot(store)
    with pytest.raises(FormatError, match=message):
        import_labels(store, "voc", _one(tmp_path, obj("fine", (1, 1, 3, 3)) + objects))
    assert snapshot(store) == before


@pytest.fixture
def populated_voc_store(store):
    cid = store.add_category(Category(None, "fine-already"))
    iid = store.add_image(ImageRecord(None, "x.jpg", 5, 5))
    store.add_annotation(Annotation(None, iid, cid, bbox=(0, 0, 1, 1)))
    return store


def test_malformed_xml(store, tmp_path):
    d = tmp_path / "voc"
    d.mkdir()
    (d / "good.xml").write_text(XML.format(filename="g.jpg", w=5, h=5, objects=""))
    write_image(d / "g.jpg", 5, 5)
    (d / "zz_bad.xml").write_text("<annotation><filename>a.jpg</filename><object>")
    with pytest.raises(FormatError, match=r"zz_bad\.xml: malformed XML"):
        import_labels(store, "voc", d)
    assert store.image_count() == 0  # the good file before it was not kept either


def test_missing_image_and_undecodable_image(store, tmp_path):
    """An export without its images (CVAT's "annotations only", datumaro's voc without JPEGImages/):
    <size> places the boxes and the image is listed as not found, as a COCO file's is. Without
    <size> nothing places them: refused, nothing changed."""
    d = _one(tmp_path, obj("x", (1, 1, 5, 5)), make_image=False, size=(0, 0))
    with pytest.raises(FormatError, match=r"a\.xml: its image a\.jpg was not found in .*, and it has no <size>"):
        import_labels(store, "voc", d)
    assert store.image_count() == 0
    d = _one(tmp_path, obj("x", (1, 1, 5, 5)), make_image=False)
    report = import_labels(store, "voc", d)
    assert report.images == 1 and any("a.jpg not found" in w for w in report.warnings)
    (rec,) = store.images()
    assert (rec.width, rec.height) == (30, 20) and store.annotations()[0].bbox == (0, 0, 5, 5)
    store.delete_images([rec.id])
    (d / "a.jpg").write_bytes(b"\x00garbage")
    (d / "a.xml").write_text(XML.format(filename="a.jpg", w=0, h=0, objects=""))
    with pytest.raises(FormatError, match=r"a\.xml: no <size> and the image cannot be decoded"):
        import_labels(store, "voc", d)
    assert store.image_count() == 0


def test_not_voc(store, tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    (d / "svg.xml").write_text("<svg></svg>")
    with pytest.raises(FormatError, match=r"svg\.xml: not a Pascal VOC file"):
        import_labels(store, "voc", d)
