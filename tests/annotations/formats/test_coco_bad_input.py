"""Bad COCO files: a FormatError naming the file and the entry, and a project left as it was."""
import json

import pytest

from annotations.formats import FormatError, import_labels
from annotations.model import Annotation, Category, ImageRecord

from fmt_helpers import snapshot


def valid():
    return {"info": {"description": "small"}, "licenses": [],
            "images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40},
                       {"id": 2, "file_name": "b.jpg", "width": 50, "height": 40}],
            "categories": [{"id": 1, "name": "cat", "supercategory": "animal"}],
            "annotations": [
                {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10], "area": 100, "iscrowd": 0,
                 "segmentation": [[1, 2, 11, 2, 11, 12, 1, 12]]},
                {"id": 11, "image_id": 2, "category_id": 1, "bbox": [0, 0, 50, 40], "area": 2000, "iscrowd": 0}]}


@pytest.fixture
def populated(store):
    """A project with something in it already: a bad import must leave exactly this."""
    cid = store.add_category(Category(None, "dog"))
    iid = store.add_image(ImageRecord(None, "dog.jpg", 20, 20))
    store.add_annotation(Annotation(None, iid, cid, bbox=(1, 1, 5, 5)))
    store.set_meta("info", {"description": "mine"})
    return store


def mutate(fn):
    d = valid()
    fn(d)
    return d


BAD = [
    ("unknown category", lambda d: d["annotations"][1].update(category_id=7),
     r"annotations\[1\] \(id 11\): category_id 7 is not among the file's categories"),
    ("missing image", lambda d: d["annotations"][0].update(image_id=99),
     r"annotations\[0\] \(id 10\): image_id 99 is not among the file's images"),
    ("negative bbox", lambda d: d["annotations"][1].update(bbox=[-3, 0, 5, 5]),
     r"annotations\[1\] \(id 11\): bbox holds the negative value -3"),
    ("NaN bbox", lambda d: d["annotations"][1].update(bbox=[float("nan"), 0, 5, 5]),
     r"annotations\[1\] \(id 11\): bbox holds nan"),
    ("NaN polygon", lambda d: d["annotations"][0].update(segmentation=[[1, 2, float("nan"), 2, 11, 12]]),
     r"annotations\[0\] \(id 10\): polygon holds nan"),
    ("negative polygon", lambda d: d["annotations"][0].update(segmentation=[[1, 2, -11, 2, 11, 12]]),
     r"annotations\[0\] \(id 10\): polygon holds the negative value -11"),
    ("infinite area", lambda d: d["annotations"][0].update(area=float("inf")),
     r"annotations\[0\] \(id 10\): area holds inf"),
    ("short bbox", lambda d: d["annotations"][0].update(bbox=[1, 2, 3]),
     r"annotations\[0\] \(id 10\): bbox must be 4 numbers"),
    ("text in bbox", lambda d: d["annotations"][0].update(bbox=[1, "two", 3, 4]),
     r"annotations\[0\] \(id 10\): bbox holds 'two'"),
    ("duplicate annotation id", lambda d: d["annotations"][1].update(id=10),
     r"annotations\[1\] \(id 10\): annotation id 10 appears twice"),
    ("duplicate image id", lambda d: d["images"][1].update(id=1),
     r"images\[1\] \(id 1\): image id 1 appears twice"),
    ("image without size or file", lambda d: d["images"][1].pop("width"),
     r"images\[1\] \(id 2\): no width/height in the file and the image cannot be read"),
    ("RLE of another size", lambda d: d["annotations"][1].update(segmentation={"size": [10, 10], "counts": [100]}),
     r"annotations\[1\] \(id 11\): RLE size \[10, 10\] differs from its image's size \[40, 50\]"),
    ("RLE counts too short", lambda d: d["annotations"][1].update(segmentation={"size": [40, 50], "counts": [5, 5]}),
     r"annotations\[1\] \(id 11\): uncompressed RLE counts must be whole numbers summing to"),
    ("RLE string garbage", lambda d: d["annotations"][1].update(segmentation={"size": [40, 50], "counts": "~~"}),
     r"annotations\[1\] \(id 11\): RLE counts"),
    ("iscrowd 2", lambda d: d["annotations"][1].update(iscrowd=2),
     r"annotations\[1\] \(id 11\): iscrowd must be 0 or 1"),
    ("category without name", lambda d: d["categories"][0].pop("name"),
     r"categories\[0\] \(id 1\): has no name"),
    ("odd polygon", lambda d: d["annotations"][0].update(segmentation=[[1, 2, 11, 2, 11, 12, 5]]),
     r"annotations\[0\] \(id 10\): polygon has an odd number of coordinates"),
]


@pytest.mark.parametrize("case, change, message", BAD, ids=[b[0] for b in BAD])
def test_bad_entry_names_file_and_entry_and_changes_nothing(populated, tmp_path, case, change, message):
    f = tmp_path / "bad_file.json"
    f.write_text(json.dumps(mutate(change)))  # json writes NaN/Infinity as Python's json reads them
    before = snapshot(populated)
    with pytest.raises(FormatError, match=r"bad_file\.json: " + message):
        import_labels(populated, "coco", f)
    assert snapshot(populated) == before
    assert populated.integrity_check() == "ok"


def test_malformed_json_names_line_and_column(populated, tmp_path):
    f = tmp_path / "broken.json"
    f.write_text('{"images": [\n  {"id": 1,, }\n]}')
    before = snapshot(populated)
    with pytest.raises(FormatError, match=r"broken\.json: malformed JSON at line 2, column 12"):
        import_labels(populated, "coco", f)
    assert snapshot(populated) == before


@pytest.mark.parametrize("content, message", [
    ("[]", "COCO results format"),
    ('{"annotations": []}', "not a COCO file"),
    (b"\xff\xfe{}", "not UTF-8|malformed JSON"),
])
def test_not_a_coco_file(populated, tmp_path, content, message):
    f = tmp_path / "odd.json"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(FormatError, match=message):
        import_labels(populated, "coco", f)


def test_missing_file(store, tmp_path):
    with pytest.raises(FormatError, match=r"nowhere\.json: file not found"):
        import_labels(store, "coco", tmp_path / "nowhere.json")


def test_polygon_with_fewer_than_three_points_is_rejected_with_a_reason(store, tmp_path):
    d = valid()
    d["annotations"][0]["segmentation"] = [[1, 2, 11, 2]]
    f = tmp_path / "two_points.json"
    f.write_text(json.dumps(d))
    report = import_labels(store, "coco", f)
    assert report.annotations == 1 and [a.id for a in store.annotations()] == [11]
    rejected = [w for w in report.warnings if "not found" not in w]
    assert len(rejected) == 1
    w = rejected[0]
    assert "two_points.json" in w and "annotations[0] (id 10)" in w and "2 point(s)" in w and "at least 3" in w


def test_undecodable_image_when_size_is_needed(store, tmp_path):
    (tmp_path / "b.jpg").write_bytes(b"not an image at all")
    d = valid()
    del d["images"][1]["height"]
    f = tmp_path / "needs_size.json"
    f.write_text(json.dumps(d))
    with pytest.raises(FormatError, match=r"needs_size\.json: images\[1\] \(id 2\): .*b\.jpg: not a readable image"):
        import_labels(store, "coco", f, image_dir=tmp_path)
    assert store.image_count() == 0


def test_image_size_read_from_file_when_missing(store, tmp_path):
    from fmt_helpers import write_image
    write_image(tmp_path / "imgs" / "b.jpg", 50, 40)
    d = valid()
    del d["images"][1]["width"], d["images"][1]["height"]
    f = tmp_path / "sizes.json"
    f.write_text(json.dumps(d))
    import_labels(store, "coco", f, image_dir=tmp_path / "imgs")
    rec = next(r for r in store.images() if r.file_name.endswith("b.jpg"))
    assert (rec.width, rec.height) == (50, 40)


def test_same_file_with_other_size_is_refused(store, tmp_path):
    store.add_image(ImageRecord(None, "a.jpg", 99, 99))
    f = tmp_path / "size_clash.json"
    f.write_text(json.dumps(valid()))
    with pytest.raises(FormatError, match=r"size_clash\.json: images\[0\] \(id 1\): a\.jpg is in the project as 99x99"):
        import_labels(store, "coco", f)
    assert store.image_count() == 1


W, H = 50, 40
_RINGS = [
    [1, 2, 11, 2, 11, 12], [1.5, 2.25, 11, 2, 11, 12, 1, 12], [0, 0, 49.9, 0, 49.9, 39.9],
    [0, 0, 2 * W + 64, 0, 2 * W + 64, 2 * H + 64], [0, 0, 2 * W + 64.5, 0, 1, 1],  # up to the far margin, past it
    [W, 0, W + 1, 0, W + 1, 1], [0, H, 1, H, 1, H + 1],  # wholly outside
    [-1, 2, 11, 2, 11, 12], [1, 2, 11, 2, 11], [1, 2, 11, 2], [1, 2, True, 2, 11, 12], [1, 2, "3", 2, 11, 12],
    [1, 2, None, 2, 11, 12], [1, 2, float("nan"), 2, 11, 12], [1, 2, float("inf"), 2, 11, 12],
    [1, 2, 10 ** 400, 2, 11, 12], [1, 2, 1.0, 2, 10 ** 400, 12.5], [1, 2, [3], 2, 11, 12], (1, 2, 11, 2, 11, 12),
    "1,2,3,4,5,6", None, [],
]
_BOXES = [[1, 2, 10, 10], [0, 0, W, H], [0, 0, 0, 0], [1.5, 2, 2 * W + 60, 1], [1, 2, 2 * W + 64, 1], [W, 0, 1, 1],
          [-1, 2, 3, 3], [1, 2, -3, 3], [1, 2, 3], [1, 2, 3, True], [1, 2, 3, "4"], [1, 2, 3, float("nan")],
          [1, 2, 3, 10 ** 400], (1, 2, 3, 4), None, {"x": 1}]


def _accepted(check) -> bool:
    try:
        check()
        return True
    except FormatError:
        return False


@pytest.mark.parametrize("ring", _RINGS, ids=range(len(_RINGS)))
def test_a_ring_taken_at_once_is_one_the_checks_take(ring):
    """ring_fits (the import's fast path) takes a ring only when check_ring and check_extent take it,
    and takes the usual ones."""
    from annotations.formats.common import check_extent, check_ring, ring_fits
    by_checks = _accepted(lambda: check_extent(check_ring(ring, "e"), W, H, "e", "polygon"))
    assert ring_fits(ring, W, H) == (by_checks and type(ring) is list)


@pytest.mark.parametrize("box", _BOXES, ids=range(len(_BOXES)))
def test_a_box_taken_at_once_is_one_the_checks_take(box):
    from annotations.formats.common import box_fits, check_box, check_box_extent
    by_checks = _accepted(lambda: check_box_extent(check_box(box, "e"), W, H, "e"))
    assert box_fits(box, W, H) == (by_checks and type(box) is list)


@pytest.mark.parametrize("ring", _RINGS[:8], ids=range(8))
@pytest.mark.parametrize("box", _BOXES[:6], ids=range(6))
def test_each_entry_reads_as_the_checks_read_it(monkeypatch, ring, box):
    """An entry's geometry (or its one-line refusal) is the same with the fast path as with the checks alone."""
    from annotations.formats import coco_annotation as ca

    def read():
        try:
            return ca.geometry_from_coco({"bbox": box, "segmentation": [ring, [1, 2, 11, 2, 11, 12]]}, "e", H, W)
        except FormatError as e:
            return str(e)
    fast = read()
    monkeypatch.setattr(ca, "box_fits", lambda *a: False)
    assert fast == read()
