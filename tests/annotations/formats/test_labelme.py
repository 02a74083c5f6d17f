"""labelme JSON, written by hand the way labelme 5 saves it."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from annotations import geometry
from annotations.formats import FormatError, export_labels, import_labels
from annotations.model import BOX, MASK, POLYGON, Annotation, Category, ImageRecord
from annotations.store import Store

from fmt_helpers import snapshot, write_image

W, H = 60, 40


def shape(label, points, shape_type, group_id=None, mask=None, **more):
    d = {"label": label, "points": points, "group_id": group_id, "description": "", "shape_type": shape_type,
         "flags": {}, "mask": mask}
    d.update(more)
    return d


def b64_png(mask: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(bool)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def labelme_file(folder, stem, shapes, image_name=None, image_data=None, make_image=True):
    image_name = image_name or f"{stem}.jpg"
    if make_image:
        write_image(folder / image_name, W, H)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_name, "imageData": image_data,
           "imageHeight": H, "imageWidth": W}
    (folder / f"{stem}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder / f"{stem}.json"


def test_import_shapes(store, tmp_path):
    crop = np.zeros((10, 8), bool)
    crop[2:8, 1:7] = True
    shapes = [
        shape("car", [[10, 5], [30, 25]], "rectangle", description="parked", flags={"occluded": True}),
        shape("car", [[60, 40], [40, 30]], "rectangle"),  # corners in any order, touching the border
        shape("tree", [[1, 1], [20, 2], [10, 15]], "polygon"),
        shape("ball", [[30, 20], [35, 20]], "circle"),
        shape("spot", [[5, 5], [12, 14]], "mask", mask=b64_png(crop)),
        shape("pin", [[3, 3]], "point"),
        shape("road", [[0, 0], [10, 10]], "line"),
        shape("thin", [[0, 0], [10, 10]], "polygon"),
    ]
    labelme_file(tmp_path / "lm", "straße", shapes)
    report = import_labels(store, "labelme", tmp_path / "lm")
    assert report.annotations == 5 and report.images == 1
    skipped = "\n".join(report.warnings)
    assert "shape 5 ('pin')" in skipped and "point shape cannot be represented" in skipped
    assert "shape 6 ('road')" in skipped and "line" in skipped
    assert "shape 7 ('thin')" in skipped and "2 point(s)" in skipped and "at least 3" in skipped
    anns = {(store.category(a.category_id).name, a.kind, a.bbox[0]): a for a in store.annotations()}
    car = anns[("car", BOX, 10.0)]
    assert car.bbox == (10, 5, 20, 20) and car.extra["description"] == "parked"
    assert car.extra["flags"] == {"occluded": True}
    assert anns[("car", BOX, 40.0)].bbox == (40, 30, 20, 10)
    tree = next(a for k, a in anns.items() if k[0] == "tree")
    assert tree.kind == POLYGON and tree.polygons == [[1, 1, 20, 2, 10, 15]]
    ball = next(a for k, a in anns.items() if k[0] == "ball")
    assert ball.kind == POLYGON and ball.area == pytest.approx(np.pi * 25, rel=0.01)
    spot = next(a for k, a in anns.items() if k[0] == "spot")
    m = geometry.decode_rle(spot.rle)
    assert spot.kind == MASK and m.sum() == crop.sum()
    assert m[5 + 2:5 + 8, 5 + 1:5 + 7].all()  # pasted at the first corner


def test_group_id_makes_one_object(store, tmp_path):
    shapes = [shape("person", [[1, 1], [10, 1], [5, 10]], "polygon", group_id=3),
              shape("person", [[20, 1], [30, 1], [25, 10]], "polygon", group_id=3),
              shape("person", [[40, 1], [50, 1], [45, 10]], "polygon", group_id=4)]
    labelme_file(tmp_path / "lm", "g", shapes)
    import_labels(store, "labelme", tmp_path / "lm")
    parts = sorted(len(a.polygons) for a in store.annotations())
    assert parts == [1, 2]


def test_image_only_in_image_data(store, tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.full((H, W, 3), 200, np.uint8)).save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode()
    labelme_file(tmp_path / "lm", "inline", [shape("a", [[1, 1], [5, 5]], "rectangle")],
                 image_name="inline.png", image_data=data, make_image=False)
    import_labels(store, "labelme", tmp_path / "lm")
    (rec,) = store.images()
    assert store.image_path(rec).is_file() and (rec.width, rec.height) == (W, H)


def test_export_then_import_same_geometry(store, tmp_path):
    cid = store.add_category(Category(None, "thing"))
    write_image(store.root / "pics" / "ü.png", W, H)
    iid = store.add_image(ImageRecord(None, "pics/ü.png", W, H))
    m = np.zeros((H, W), np.uint8)
    m[10:20, 30:45] = 1
    store.add_annotations([
        Annotation(None, iid, cid, kind=BOX, bbox=(0, 0, 15, 10)),
        Annotation(None, iid, cid, kind=POLYGON, polygons=[[2, 20, 12, 20, 7, 35], [15, 20, 25, 20, 20, 35]]),
        Annotation(None, iid, cid, kind=MASK, rle=geometry.encode_mask(m)),
        Annotation(None, iid, cid, kind=POLYGON, polygons=[[30, 22, 58, 22, 58, 39, 30, 39]],
                   holes=[[40, 28, 48, 28, 48, 34, 40, 34]]),
    ])
    out = tmp_path / "export"
    report = export_labels(store, "labelme", out)
    assert any("holes" in w for w in report.warnings)
    doc = json.loads((out / "ü.json").read_text(encoding="utf-8"))
    assert doc["imagePath"] == "../project/pics/ü.png" and doc["imageData"] is None
    assert (doc["imageWidth"], doc["imageHeight"]) == (W, H)
    kinds = sorted(s["shape_type"] for s in doc["shapes"])
    assert kinds == ["mask", "mask", "polygon", "polygon", "rectangle"]
    groups = {s["group_id"] for s in doc["shapes"] if s["shape_type"] == "polygon"}
    assert len(groups) == 1 and None not in groups  # two rings of one object share a group
    with Store.open(tmp_path / "again") as again:
        with pytest.raises(FormatError, match=r"ü\.json: imagePath: the image path '\.\./project/pics/ü\.png' "
                                              r"leads outside the project"):
            import_labels(again, "labelme", out)  # the images lie outside both: they must be named
        import_labels(again, "labelme", out, image_dir=store.root / "pics")

        def pixels(s):
            rec = s.images()[0]
            return sorted(int(geometry.decode_rle(geometry.annotation_rle(a, rec.height, rec.width)).sum())
                          for a in s.annotations())
        assert pixels(again) == pixels(store)
        assert sorted(a.kind for a in again.annotations()) == [BOX, MASK, MASK, POLYGON]


@pytest.mark.parametrize("shapes, message", [
    ([shape("a", [[1, -1], [5, 5]], "rectangle")], r"shape 0 \('a'\): points holds the negative value -1"),
    ([shape("a", [[1, float("nan")], [5, 5], [3, 3]], "polygon")], r"shape 0 \('a'\): points holds nan"),
    ([shape("a", [[1, 1], [5, 5]], "mask", mask="bm90IGEgcG5n")], r"shape 0 \('a'\): the mask is not a base64 PNG"),
    ([shape("a", [[1, 1, 1]], "polygon")], r"shape 0 \('a'\): 'points' must be a list of \[x, y\] pairs"),
    ([shape("a", [[1, 1], [2, 2], [3, 3]], "rectangle")], r"shape 0 \('a'\): a rectangle needs 2 points"),
    ([{"points": [[1, 1], [2, 2]], "shape_type": "rectangle"}], r"shape 0 has no label"),
])
def test_bad_shapes(store, tmp_path, shapes, message):
    before = snapshot(store)
    labelme_file(tmp_path / "lm", "ok", [shape("fine", [[1, 1], [4, 4]], "rectangle")])
    labelme_file(tmp_path / "lm", "zbad", shapes)
    with pytest.raises(FormatError, match=r"zbad\.json: " + message):
        import_labels(store, "labelme", tmp_path / "lm")
    assert snapshot(store) == before


def test_malformed_json_missing_image_and_bad_image_data(store, tmp_path):
    d = tmp_path / "lm"
    d.mkdir()
    (d / "broken.json").write_text('{"shapes": [')
    with pytest.raises(FormatError, match=r"broken\.json: malformed JSON at line 1"):
        import_labels(store, "labelme", d)
    (d / "broken.json").unlink()
    labelme_file(d, "lost", [], make_image=False)
    with pytest.raises(FormatError, match=r"lost\.json: its image lost\.jpg was not found"):
        import_labels(store, "labelme", d)
    labelme_file(d, "lost", [], make_image=False, image_data=base64.b64encode(b"junk").decode())
    with pytest.raises(FormatError, match=r"lost\.json: imageData: not a decodable image"):
        import_labels(store, "labelme", d)
    assert store.image_count() == 0 and not (store.root / "labelme_images").exists()


def test_x_anylabeling_files_import(store, tmp_path):
    """X-AnyLabeling (labelme's most used fork; its label_file.py and shape.py) writes a rectangle as
    its four corners since v2.2.0, a rotated box as "rotation" (four corners and a direction), and
    "quadrilateral" and "cuboid" shapes, each with score, difficult, attributes and kie_linking, a
    description of null, and "checked" and "text" beside the shapes. A four-corner rectangle used to
    refuse the whole import ("a rectangle needs 2 points") and a rotated box was dropped."""
    def xshape(label, points, shape_type, **more):
        d = {"label": label, "score": None, "points": points, "group_id": None, "description": None,
             "difficult": False, "shape_type": shape_type, "flags": {}, "attributes": {}, "kie_linking": []}
        d.update(more)
        return d
    write_image(tmp_path / "x" / "shot.jpg", W, H)
    doc = {"version": "3.0.0", "flags": {}, "checked": False, "shapes": [
        xshape("car", [[10, 5], [30, 5], [30, 25], [10, 25]], "rectangle", score=0.86),
        xshape("ship", [[20, 2], [40, 12], [35, 22], [15, 12]], "rotation", direction=0.46),
        xshape("sign", [[1, 1], [9, 2], [8, 9], [2, 8]], "quadrilateral"),
        xshape("box", [[1, 1], [5, 1], [5, 5], [1, 5], [2, 2], [6, 2], [6, 6], [2, 6]], "cuboid"),
    ], "imagePath": "shot.jpg", "imageData": None, "imageHeight": H, "imageWidth": W, "text": ""}
    (tmp_path / "x" / "shot.json").write_text(json.dumps(doc, indent=2))
    report = import_labels(store, "labelme", tmp_path / "x")
    assert report.annotations == 3
    assert any("shape 3 ('box')" in w and "cuboid" in w for w in report.warnings)
    anns = {store.category(a.category_id).name: a for a in store.annotations()}
    assert anns["car"].kind == BOX and anns["car"].bbox == (10, 5, 20, 20) and anns["car"].score == pytest.approx(0.86)
    assert anns["ship"].kind == POLYGON and anns["ship"].polygons == [[20, 2, 40, 12, 35, 22, 15, 12]]
    assert anns["ship"].extra["direction"] == 0.46
    assert anns["sign"].kind == POLYGON and len(anns["sign"].polygons[0]) == 8
