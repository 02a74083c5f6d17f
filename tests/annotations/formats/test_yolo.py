"""YOLO txt in Ultralytics' layout, written by hand."""
import pytest
import yaml

from annotations.formats import FormatError, export_labels, import_labels
from annotations.model import BOX, MASK, POLYGON, Annotation, Category, ImageRecord
from annotations.store import Store

from fmt_helpers import snapshot, write_image

W, H = 100, 50


def yolo_dataset(root, names=("cat", "dog", "bird"), names_as="list"):
    """images/{train,val}/ and labels/{train,val}/ with data.yaml."""
    names_value = list(names) if names_as == "list" else {i: n for i, n in enumerate(names)}
    (root).mkdir(parents=True)
    (root / "data.yaml").write_text(yaml.safe_dump({"path": ".", "train": "images/train", "val": "images/val",
                                                    "names": names_value}, allow_unicode=True))
    write_image(root / "images/train/one.jpg", W, H, 1)
    write_image(root / "images/train/empty.jpg", W, H, 2)       # empty label file
    write_image(root / "images/train/no_label.png", W, H, 3)    # no label file at all
    write_image(root / "images/val/日本語 ファイル.jpg", W, H, 4)   # unicode and a space
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/val").mkdir(parents=True)
    (root / "labels/train/one.txt").write_text(
        "0 0.5 0.5 0.2 0.4\n"                                   # box in the middle
        "1 0.1 0.1 0.2 0.2\n"                                   # box touching the top-left corner
        "\n")
    write_image(root / "images/train/tri.jpg", W, H, 5)
    (root / "labels/train/tri.txt").write_text("2 0.1 0.2 0.5 0.2 0.3 0.9\n")  # a triangle (a file of polygons)
    (root / "labels/train/empty.txt").write_text("")
    (root / "labels/val/日本語 ファイル.txt").write_text("1 0.9 0.9 0.2 0.2\n", encoding="utf-8")  # bottom-right border
    return root


def by_file(store):
    return {r.file_name.split("/")[-1]: r for r in store.images()}


@pytest.mark.parametrize("names_as", ["list", "dict"])
def test_import_boxes_polygons_splits(store, tmp_path, names_as):
    report = import_labels(store, "yolo", yolo_dataset(tmp_path / "ds", names_as=names_as))
    assert (report.images, report.annotations, report.categories) == (5, 4, 3)
    assert [c.name for c in store.categories()] == ["cat", "dog", "bird"]
    files = by_file(store)
    assert {n: r.split for n, r in files.items()} == {
        "one.jpg": "train", "empty.jpg": "train", "no_label.png": "train", "日本語 ファイル.jpg": "val",
        "tri.jpg": "train"}
    anns = store.annotations(image_id=files["one.jpg"].id) + store.annotations(image_id=files["tri.jpg"].id)
    names = {a.id: store.category(a.category_id).name for a in anns}
    cat, dog, bird = (next(a for a in anns if names[a.id] == n) for n in ("cat", "dog", "bird"))
    assert cat.kind == BOX and cat.bbox == pytest.approx((40, 15, 20, 20))
    assert dog.bbox == pytest.approx((0, 0, 20, 10))
    assert bird.kind == POLYGON and bird.polygons[0] == pytest.approx([10, 10, 50, 10, 30, 45])
    (edge,) = store.annotations(image_id=files["日本語 ファイル.jpg"].id)
    assert edge.bbox == pytest.approx((80, 40, 20, 10))
    assert store.annotations(image_id=files["empty.jpg"].id) == []


def test_classes_txt_and_flat_images(store, tmp_path):
    root = tmp_path / "flat"
    write_image(root / "images/a.jpg", W, H)
    (root / "labels").mkdir(parents=True)
    (root / "labels/a.txt").write_text("1 0.5 0.5 1 1 0.87\n")  # with a confidence
    (root / "classes.txt").write_text("apple\npear\n")
    import_labels(store, "yolo", root)
    (a,) = store.annotations()
    assert store.category(a.category_id).name == "pear"
    assert a.bbox == pytest.approx((0, 0, W, H)) and a.score == pytest.approx(0.87)
    assert store.images()[0].split == ""


def test_export_class_numbering_and_round_trip(store, tmp_path):
    import_labels(store, "yolo", yolo_dataset(tmp_path / "ds"))
    out = tmp_path / "out"
    report = export_labels(store, "yolo", out)
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "cat", 1: "dog", 2: "bird"} and data["nc"] == 3
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    assert (out / "classes.txt").read_text().split() == ["cat", "dog", "bird"]
    # a polygon in the set: every box became a 4-point polygon (YOLO reads one kind per set)
    assert any("4-point polygons" in w for w in report.warnings)
    lines = (out / "labels/train/one.txt").read_text().splitlines()
    assert sorted(ln.split()[0] for ln in lines) == ["0", "1"]
    cat = next(ln for ln in lines if ln.startswith("0 ")).split()[1:]
    assert [float(v) for v in cat] == pytest.approx([0.4, 0.3, 0.6, 0.3, 0.6, 0.7, 0.4, 0.7])
    assert (out / "images/val/日本語 ファイル.jpg").is_file()
    assert (out / "labels/train/empty.txt").read_text() == ""
    with Store.open(tmp_path / "again") as again:
        import_labels(again, "yolo", out)
        def shapes(s):
            out = []
            for a in s.annotations():
                rec = s.image(a.image_id)
                out.append((rec.file_name.split("/")[-1], rec.split, s.category(a.category_id).name,
                            tuple(round(v, 3) for v in a.bbox)))
            return sorted(out)
        assert shapes(again) == shapes(store)


def test_boxes_only_export_box_lines(store, tmp_path):
    cid = store.add_category(Category(None, "box"))
    write_image(store.root / "a.png", 200, 100)
    iid = store.add_image(ImageRecord(None, "a.png", 200, 100, split="val"))
    store.add_annotation(Annotation(None, iid, cid, bbox=(0, 0, 200, 100)))
    export_labels(store, "yolo", tmp_path / "o")
    assert (tmp_path / "o/labels/val/a.txt").read_text() == "0 0.500000 0.500000 1.000000 1.000000\n"


def test_masks_export_as_polygons(store, tmp_path):
    import numpy as np
    from annotations.geometry import encode_mask
    cid = store.add_category(Category(None, "blob"))
    iid = store.add_image(ImageRecord(None, "m.png", 40, 20))
    m = np.zeros((20, 40), np.uint8)
    m[5:15, 10:30] = 1
    store.add_annotation(Annotation(None, iid, cid, kind=MASK, rle=encode_mask(m)))
    report = export_labels(store, "yolo", tmp_path / "o")
    assert any("not found" in w for w in report.warnings)  # no image file: labels only
    vals = [float(v) for v in (tmp_path / "o/labels/m.txt").read_text().split()[1:]]
    xs, ys = np.array(vals[0::2]) * 40, np.array(vals[1::2]) * 20
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == pytest.approx((10, 30, 5, 15))


def _dataset_with(tmp_path, label_text, names=("a",)):
    root = tmp_path / "bad_ds"
    write_image(root / "images/x.jpg", W, H)
    (root / "labels").mkdir(parents=True)
    (root / "labels/x.txt").write_text(label_text)
    (root / "data.yaml").write_text(yaml.safe_dump({"names": list(names)}))
    return root


@pytest.mark.parametrize("text, message", [
    ("0 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.2 0.2\n", r"x\.txt: line 2: class 3 is not among the 1 class names"),
    ("0 0.5 nan 0.2 0.2\n", r"x\.txt: line 1: coordinates must be finite numbers"),
    ("0 -0.5 0.5 0.2 0.2\n", r"x\.txt: line 1: negative coordinate -0.5"),
    ("0 45 30 20 20\n", r"x\.txt: line 1: coordinate 45.0 is not normalised to 0..1"),
    ("zero 0.5 0.5 0.2 0.2\n", r"x\.txt: line 1: expected a class index and numbers"),
])
def test_bad_label_lines(store, tmp_path, text, message):
    before = snapshot(store)
    with pytest.raises(FormatError, match=message):
        import_labels(store, "yolo", _dataset_with(tmp_path, text))
    assert snapshot(store) == before


def test_polygon_with_fewer_than_three_points_is_rejected(store, tmp_path):
    report = import_labels(store, "yolo", _dataset_with(tmp_path, "0 0.5 0.5 0.2 0.2\n0 0.1 0.1\n"))
    assert report.annotations == 1
    (w,) = report.warnings
    assert "x.txt: line 2" in w and "1 point(s)" in w and "at least 3" in w


def test_labels_without_image(store, tmp_path):
    root = _dataset_with(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (root / "labels/ghost.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(FormatError, match=r"ghost\.txt: labels for an image that does not exist"):
        import_labels(store, "yolo", root)
    assert store.image_count() == 0


def test_undecodable_image(store, tmp_path):
    root = _dataset_with(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (root / "images/y.jpg").write_bytes(b"GIF89a but not really")
    with pytest.raises(FormatError, match=r"y\.txt: its image cannot be decoded: .*y\.jpg"):
        import_labels(store, "yolo", root)
    assert store.image_count() == 0


@pytest.mark.parametrize("yaml_text, message", [
    ("names: [a, b\n", r"data\.yaml: malformed YAML"),
    ("names: 5\n", r"data\.yaml: 'names' must be a list"),
    ("names: {zero: a}\n", r"data\.yaml: 'names' keys must be class indices"),
])
def test_bad_data_yaml(store, tmp_path, yaml_text, message):
    root = _dataset_with(tmp_path, "")
    (root / "data.yaml").write_text(yaml_text)
    with pytest.raises(FormatError, match=message):
        import_labels(store, "yolo", root)


def test_no_class_names(store, tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(FormatError, match="no data.yaml or classes.txt"):
        import_labels(store, "yolo", tmp_path / "nothing")


def test_data_yaml_with_path_and_image_lists(store, tmp_path):
    """Splits given as .txt lists of images, and a `path` the entries are relative to."""
    root = tmp_path / "data_root"
    for name in ("a", "b", "c"):
        write_image(root / f"images/{name}.jpg", W, H)
    (root / "labels").mkdir()
    (root / "labels/a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "train.txt").write_text("./images/a.jpg\n./images/b.jpg\n")
    (root / "val.txt").write_text("./images/c.jpg\n")
    cfg = tmp_path / "configs" / "mine.yaml"
    cfg.parent.mkdir()
    cfg.write_text(yaml.safe_dump({"path": str(root), "train": "train.txt", "val": ["val.txt"],
                                   "names": {0: "thing"}}))
    report = import_labels(store, "yolo", cfg)
    assert report.images == 3 and report.annotations == 1
    assert {n: r.split for n, r in by_file(store).items()} == {"a.jpg": "train", "b.jpg": "train", "c.jpg": "val"}


def test_a_shape_of_several_parts_is_one_object_one_line(store, tmp_path):
    """A COCO object in two pieces (a person behind a pole) is one YOLO line, its parts joined at
    their nearest points by a bridge of no width, as Ultralytics' COCO converter writes it; the
    polygon covers the parts and nothing more. Imported back it is one object."""
    import numpy as np
    from pycocotools import mask as mask_utils
    cid = store.add_category(Category(None, "person"))
    iid = store.add_image(ImageRecord(None, "p.png", W, H))
    left, right = [5, 5, 20, 5, 20, 30, 5, 30], [60, 10, 90, 10, 90, 40, 75, 45, 60, 40]
    store.add_annotation(Annotation(None, iid, cid, kind=POLYGON, polygons=[left, right]))
    report = export_labels(store, "yolo", tmp_path / "o")
    lines = (tmp_path / "o/labels/p.txt").read_text().splitlines()
    assert len(lines) == 1 and any("joined at their nearest points" in w for w in report.warnings)
    vals = np.array([float(v) for v in lines[0].split()[1:]])
    ring = np.stack([vals[0::2] * W, vals[1::2] * H], 1).round(4).ravel().tolist()
    assert len(ring) == len(left) + len(right) + 4  # every vertex, and the two ends of the bridge twice
    joined = mask_utils.decode(mask_utils.frPyObjects([ring], H, W)).max(2)
    parts = mask_utils.decode(mask_utils.frPyObjects([left, right], H, W)).max(2)
    assert abs(int(joined.sum()) - int(parts.sum())) <= 60  # the bridge is a line, not an area
    assert (joined & ~parts.astype(bool)).sum() <= 60 and (parts.astype(bool) & ~joined.astype(bool)).sum() == 0
    with Store.open(tmp_path / "back") as back:
        (tmp_path / "o/images").mkdir(exist_ok=True)
        write_image(tmp_path / "o/images/p.png", W, H)
        import_labels(back, "yolo", tmp_path / "o")
        assert len(back.annotations()) == 1
