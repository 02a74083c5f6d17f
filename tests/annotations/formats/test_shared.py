"""Pieces every format relies on: RLE strings, staged folder writes, repeated imports."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from annotations.formats import FormatError, export_labels, import_labels
from annotations.formats.common import StagedFolder
from annotations.formats.rle_counts import counts_from_string, string_from_counts
from annotations.model import Annotation, Category, ImageRecord

from fmt_helpers import write_image


@pytest.mark.parametrize("counts", [[12], [0, 12], [3, 0, 4, 5], [0, 0, 0, 12], [1, 10, 1]])
def test_rle_strings_keep_every_run_even_empty_ones(counts):
    rle = mask_utils.frPyObjects({"size": [3, 4], "counts": counts}, 3, 4)
    assert counts_from_string(rle["counts"]) == counts
    assert string_from_counts(counts) == rle["counts"].decode()


def test_rle_strings_of_random_masks():
    rng = np.random.default_rng(3)
    for _ in range(20):
        m = (rng.random((37, 53)) > rng.random()).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(m))
        counts = counts_from_string(rle["counts"])
        assert sum(counts) == m.size
        assert string_from_counts(counts) == rle["counts"].decode()
        flat = m.ravel(order="F")
        assert int(flat.sum()) == sum(counts[1::2])


def test_rle_string_errors():
    with pytest.raises(ValueError):
        counts_from_string("a b")


def test_staged_folder_replaces_its_files_and_keeps_others(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "user_notes.txt").write_text("mine")
    (out / "a.txt").write_text("old")
    with StagedFolder(out) as st:
        st.write_text("a.txt", "new")
        st.write_text("sub/b.txt", "b")
        assert not (out / "sub").exists()  # nothing appears before the end
    assert (out / "a.txt").read_text() == "new" and (out / "sub/b.txt").read_text() == "b"
    assert (out / "user_notes.txt").read_text() == "mine"
    with pytest.raises(RuntimeError):
        with StagedFolder(out) as st:
            st.write_text("a.txt", "half")
            raise RuntimeError("stop")
    assert (out / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FormatError, match="not a folder"):
        StagedFolder(tmp_path / "f")


def test_yolo_import_twice_does_not_duplicate_images(store, tmp_path):
    root = tmp_path / "ds"
    write_image(root / "images/a.jpg", 20, 10)
    (root / "labels").mkdir()
    (root / "labels/a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "classes.txt").write_text("x\n")
    import_labels(store, "yolo", root)
    report = import_labels(store, "yolo", root)
    assert (report.images, report.images_matched, report.categories) == (0, 1, 0)
    assert store.image_count() == 1 and store.annotation_count() == 2


def test_failed_labelme_import_removes_images_it_unpacked(store, tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, format="PNG")
    d = tmp_path / "lm"
    d.mkdir()
    good = {"shapes": [], "imagePath": "inline.png", "imageData": base64.b64encode(buf.getvalue()).decode(),
            "imageHeight": 8, "imageWidth": 8}
    (d / "a.json").write_text(json.dumps(good))
    (d / "b.json").write_text(json.dumps({"shapes": "nope"}))
    with pytest.raises(FormatError, match=r"b\.json: not a labelme file"):
        import_labels(store, "labelme", d)
    assert not (store.root / "labelme_images" / "inline.png").exists()
    assert store.image_count() == 0


def test_predictions_are_left_out_unless_asked(store, tmp_path):
    cid = store.add_category(Category(None, "c"))
    iid = store.add_image(ImageRecord(None, "i.png", 10, 10))
    store.add_annotation(Annotation(None, iid, cid, bbox=(0, 0, 4, 4)))
    store.add_annotation(Annotation(None, iid, cid, bbox=(5, 5, 4, 4), status="prediction", score=0.7))
    for fmt in ("voc", "yolo", "labelme", "masks"):
        assert export_labels(store, fmt, tmp_path / f"{fmt}_labels").annotations == 1
        assert export_labels(store, fmt, tmp_path / f"{fmt}_all", include_predictions=True).annotations == 2
    assert (tmp_path / "yolo_all/labels/i.txt").read_text().splitlines()[1].split()[-1] == "0.700000"


def test_unknown_format(store, tmp_path):
    with pytest.raises(FormatError, match="unknown format 'csv'"):
        export_labels(store, "csv", tmp_path / "x")


def test_reading_a_big_file_does_not_hold_the_write_lock(store, tmp_path):
    """While an import parses and checks its file, other writers (the GUI) are not blocked: a
    second connection with a 0.1 s busy timeout can write from inside the progress callback."""
    import sqlite3
    from fmt_helpers import COCO_GT
    other = sqlite3.connect(store.db_path, timeout=0.1, isolation_level=None)
    writes = []

    def progress(done, total):
        other.execute("INSERT OR REPLACE INTO meta VALUES ('probe', ?)", (json.dumps(done),))
        writes.append(done)

    report = import_labels(store, "coco", COCO_GT, progress=progress)
    other.close()
    assert writes and report.annotations == 839
    assert store.get_meta("probe") == writes[-1]


def test_fields_a_coco_file_carried_into_extra_export_whatever_their_type(store, tmp_path):
    """A COCO entry's unknown fields are kept in the annotation's extra as any JSON; the VOC and
    labelme exports read some of them by name (truncated, parts, actions, group_id, flags) and the
    COCO export its own hints ("_coco"). Values of another type ended those exports in a traceback
    (int("yes"), "abc".get, [1].items); now each takes what holds and its default otherwise, and
    the files are what the other tools read."""
    import xml.etree.ElementTree as ET
    write_image(tmp_path / "a.jpg", 64, 48)
    odd = {"truncated": "yes", "difficult": True, "occluded": "0.0", "pose": 5, "parts": "abc",
           "actions": [1], "group_id": "g", "flags": "x", "description": 3, "_coco": "x"}
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "area": 120,
                             "iscrowd": 0, **odd},
                            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 3, 10, 12], "area": 120,
                             "iscrowd": 0, "difficult": 1, "actions": {"jumping": "1", "bad name": 1},
                             "parts": [{"name": "head", "bndbox": [21, 4, 25, 8]}, {"bndbox": "x"}]}]}
    (tmp_path / "a.json").write_text(json.dumps(coco))
    import_labels(store, "coco", tmp_path / "a.json")
    assert store.annotations()[0].extra["truncated"] == "yes"  # kept as the file had it
    export_labels(store, "voc", tmp_path / "voc")
    root = ET.parse(next((tmp_path / "voc" / "Annotations").glob("*.xml"))).getroot()
    first, second = root.findall("object")
    assert [first.findtext(k) for k in ("pose", "truncated", "difficult", "occluded")] == ["Unspecified", "0", "1", "0"]
    assert first.find("part") is None and first.find("actions") is None
    assert [p.findtext("name") for p in second.findall("part")] == ["head"]
    assert [el.tag for el in second.find("actions")] == ["jumping"] and second.findtext("actions/jumping") == "1"
    export_labels(store, "labelme", tmp_path / "labelme")
    shape = json.loads(next((tmp_path / "labelme").glob("*.json")).read_text())["shapes"][0]
    assert shape["group_id"] is None and shape["flags"] == {} and shape["description"] == ""
    export_labels(store, "coco", tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text())["annotations"][0]["bbox"] == [2, 3, 10, 12]


def test_exporting_again_into_the_same_folder_removes_what_the_last_export_wrote_and_this_one_does_not(
        store, tmp_path):
    """An image moved from train to val and exported again into the same folder stayed in both
    splits' folders: Ultralytics then trained on a validation image. The files an export wrote
    are listed in the folder; the next export removes those it no longer writes, and leaves
    files no export wrote (and anything a forged list names outside the folder) alone."""
    from dataclasses import replace

    from annotations.formats.common import EXPORT_MANIFEST
    cat = store.add_category(Category(None, "cat"))
    ids = []
    for name, split in (("a.jpg", "train"), ("b.jpg", "val")):
        write_image(store.root / name, 40, 30)
        ids.append(store.add_image(ImageRecord(None, name, 40, 30, split)))
        store.add_annotation(Annotation(None, ids[-1], cat, bbox=(1, 1, 5, 5)))
    out = tmp_path / "yolo"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    export_labels(store, "yolo", out)
    assert (out / "images" / "train" / "a.jpg").is_file() and (out / "labels" / "train" / "a.txt").is_file()
    store.update_image(replace(store.image(ids[0]), split="val"))
    export_labels(store, "yolo", out)
    assert not (out / "images" / "train").exists() and not (out / "labels" / "train").exists()
    assert (out / "images" / "val" / "a.jpg").is_file() and (out / "labels" / "val" / "a.txt").is_file()
    assert (out / "notes.txt").read_text() == "mine"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    stamp = [3, 0, 0]
    (out / EXPORT_MANIFEST).write_text(json.dumps({"files": {"../outside.txt": stamp, "/etc/hostname": stamp,
                                                              "notes.txt": stamp}}))
    export_labels(store, "yolo", out)
    assert outside.read_text() == "keep" and (out / "notes.txt").read_text() == "mine"  # named, but not this export's
    label = out / "labels" / "val" / "b.txt"
    label.write_text(label.read_text() + "\n")  # edited by hand since: kept when b.jpg is no longer exported
    store.delete_images([ids[1]])
    export_labels(store, "yolo", out)
    assert label.is_file() and not (out / "images" / "val" / "b.jpg").exists()
    # a labelme export folder, with its list, imports again
    export_labels(store, "labelme", tmp_path / "lm")
    assert (tmp_path / "lm" / EXPORT_MANIFEST).is_file()
    from annotations.store import Store
    with Store.open(tmp_path / "again") as again:
        report = import_labels(again, "labelme", tmp_path / "lm", image_dir=store.root)
        assert report.images == 1
