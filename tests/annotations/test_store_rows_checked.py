"""A project database is a file from outside too: rows that no version of Sightline writes (as a
shared project, another tool or a hand edit may leave them) are refused at open with one line
naming the first of them, and the database is left byte for byte as it was. Before, each of these
opened and then ended in a traceback in the window (first frame, annotation list) or in an export,
and '../../etc/passwd' as an image path was copied into a YOLO export."""
from __future__ import annotations

import hashlib
import sqlite3

import numpy as np
import pytest

from annotations.demo import generate_demo
from annotations.geometry import encode_mask
from annotations.model import Annotation, ModelRun
from annotations.store import DB_NAME, Store, StoreError

HOSTILE = [
    ("UPDATE annotations SET polygons='not json' WHERE id=1", "annotation 1: its geometry does not hold"),
    ("UPDATE annotations SET polygons='[[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]]' WHERE id=1",
     "annotation 1: its geometry does not hold"),
    ("UPDATE annotations SET polygons='[[1,[2,3]]]' WHERE id=1", "annotation 1: its geometry does not hold"),
    ("UPDATE annotations SET kind='mask', polygons=NULL, rle='{\"size\":[2,2],\"counts\":[1,-3]}' WHERE id=1",
     "annotation 1: its geometry does not hold"),
    ("UPDATE annotations SET kind='weird' WHERE id=1", "annotation 1: kind not one of box, polygon, mask"),
    ("UPDATE annotations SET status='weird' WHERE id=1", "annotation 1: status not label or prediction"),
    ("UPDATE annotations SET x='abc' WHERE id=1", "annotation 1: x not a finite number"),
    ("UPDATE annotations SET area=9e999 WHERE id=1", "annotation 1: area not a finite number"),
    ("UPDATE annotations SET extra='garbage' WHERE id=1", "annotation 1: extra not a JSON object"),
    ("UPDATE annotations SET image_id=999 WHERE id=1", "annotation 1: its image does not exist"),
    ("UPDATE annotations SET category_id=999 WHERE id=1", "annotation 1: its category does not exist"),
    ("UPDATE images SET width=0, height=0 WHERE id=1", "image 1: width or height not a whole number of 1 or more"),
    ("UPDATE images SET width=-1 WHERE id=1", "image 1: width or height"),
    ("UPDATE images SET extra='[1,2]' WHERE id=1", "image 1: extra not a JSON object"),
    ("UPDATE images SET file_name='../../../../etc/passwd' WHERE id=1", "image 1: its path '../../../../etc/passwd' leads"),
    ("UPDATE images SET file_name='images/../../x.jpg' WHERE id=1", "leads outside the project"),
    ("UPDATE categories SET name=x'41' WHERE id=1", "category 1: name not text"),
    ("UPDATE runs SET params='nope' WHERE id=1", "model run 1: params not a JSON object"),
    ("INSERT INTO outlines VALUES (1, x'010203', NULL)", "outline 1: its packed rings are cut short"),
    ("UPDATE meta SET value='abc' WHERE key='schema_version'", "holds no schema version Sightline wrote"),
    ("INSERT INTO score_sets (id, run_id, strategy, params, created_at) VALUES (1, 1, 'uncertainty', '{}', 0);"
     "INSERT INTO image_scores (set_id, image_id, score) VALUES (1, 1, 'high')", "image score 1: score not a number"),
    ("PRAGMA journal_mode=DELETE; UPDATE annotations SET kind='weird' WHERE id=1", "annotation 1: kind not"),
]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """The demo with every kind of row the store writes: polygons, a mask, a box prediction of a run."""
    root = tmp_path_factory.mktemp("healthy") / "demo"
    store = generate_demo(root, n_images=4)
    image = store.images()[0]
    m = np.zeros((image.height, image.width), np.uint8)
    m[10:30, 20:50] = 1
    cat = store.categories()[0].id
    store.add_annotation(Annotation(None, image.id, cat, kind="mask", bbox=(20, 10, 30, 20), rle=encode_mask(m)))
    run = store.add_run(ModelRun(None, "fasterrcnn_resnet50_fpn", "random", "predict", {"score": 0.3}))
    store.add_annotation(Annotation(None, image.id, cat, bbox=(1, 2, 3, 4), score=0.9, status="prediction",
                                    source="model", run_id=run))
    store.close()
    return root


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_project_the_store_wrote_opens(healthy):
    with Store.open(healthy, create=False) as store:
        assert {a.kind for a in store.annotations()} == {"polygon", "mask", "box"}


@pytest.mark.parametrize("sql, named", HOSTILE, ids=[h[1][:40] for h in HOSTILE])
def test_rows_no_version_writes_are_refused_at_open_and_left_as_they_were(healthy, tmp_path, sql, named):
    import shutil
    root = tmp_path / "shared"
    shutil.copytree(healthy, root)
    conn = sqlite3.connect(root / DB_NAME)  # foreign keys off, as any other tool writes
    conn.executescript(sql)
    conn.commit()
    conn.close()
    before = _digest(root / DB_NAME)
    with pytest.raises(StoreError) as e:
        Store.open(root, create=False)
    message = str(e.value)
    assert named in message and "\n" not in message and "it was left as it was" in message
    assert _digest(root / DB_NAME) == before


def test_the_command_line_refuses_such_a_project_in_one_line_and_exports_nothing(healthy, tmp_path, capsys):
    import shutil

    import main
    root = tmp_path / "shared"
    shutil.copytree(healthy, root)
    conn = sqlite3.connect(root / DB_NAME)
    conn.execute("UPDATE images SET file_name='../../../../etc/passwd' WHERE id=1")
    conn.commit()
    conn.close()
    out = tmp_path / "export"
    assert main.main(["export", "--project", str(root), "--format", "yolo", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "leads outside the project" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_an_export_copies_a_file_outside_the_project_only_when_it_is_an_image(healthy, tmp_path, fmt):
    """Absolute paths are the store's own (images registered from a folder the person named), so a
    database may hold them; one naming a file that is no image ('/etc/passwd') used to be copied into
    the export. A real image outside the project is still copied."""
    import shutil

    from annotations.formats import export_labels
    from annotations.imageio import write_rgb
    root = tmp_path / "shared"
    shutil.copytree(healthy, root)
    secret = tmp_path / "secret.txt"
    secret.write_text("password\n")
    outside = tmp_path / "elsewhere" / "photo.png"
    outside.parent.mkdir()
    write_rgb(outside, np.full((240, 320, 3), 90, np.uint8))
    conn = sqlite3.connect(root / DB_NAME)
    conn.execute("UPDATE images SET file_name=? WHERE id=1", (str(secret),))
    conn.execute("UPDATE images SET file_name=? WHERE id=2", (str(outside),))
    conn.commit()
    conn.close()
    out = tmp_path / "export"
    with Store.open(root, create=False) as store:
        report = export_labels(store, fmt, out)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert not any(p.read_bytes() == b"password\n" for p in files)
    assert any(p.name.startswith("photo") or p.read_bytes() == outside.read_bytes() for p in files)
    assert any("not images" in w for w in report.warnings)


def test_packed_ring_counts_that_do_not_add_up_draw_the_shape_as_its_box():
    """What open cannot check cheaply (the ring counts of a packed outline against its points) the
    reader of the first frame checks: such a row has no rings, the others keep theirs."""
    import struct

    from annotations.outlines import outlines_from_rows
    good = struct.pack("<8f", 0, 0, 4, 0, 4, 4, 0, 4)
    rows = [(1, 1, "polygon", "label", None, 0, 0, 4, 4, good, None),
            (2, 1, "polygon", "label", None, 0, 0, 4, 4, good, struct.pack("<2i", 3, 3)),  # 6 points claimed, 4 held
            (3, 1, "polygon", "label", None, 0, 0, 4, 4, good, struct.pack("<2i", 2, 2))]
    o = outlines_from_rows(rows)
    assert o.ring_rows.tolist() == [0, 2, 2] and o.ring_points.tolist() == [4, 2, 2] and len(o.points) == 8


def test_what_the_store_writes_from_an_odd_label_file_opens_again(tmp_path):
    """A COCO file may carry NaN and Infinity in fields the store keeps in extra; the store writes
    them as Python's json does (NaN, Infinity: not JSON to SQLite). Such a project must open again,
    and so must a ring holding NaN as an earlier version could have written it."""
    from annotations.formats import import_labels
    from annotations.imageio import write_rgb
    write_rgb(tmp_path / "a.jpg", np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "a.json").write_text(
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48, "foo": NaN}],'
        ' "categories": [{"id": 1, "name": "c", "bar": Infinity}],'
        ' "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12,'
        ' "iscrowd": 0, "baz": -Infinity}]}')
    with Store.open(tmp_path / "p") as store:
        import_labels(store, "coco", tmp_path / "a.json")
        store.add_annotation(Annotation(None, 1, 1, kind="polygon", polygons=[[1, 1, 9, 1, 9, 9]]))
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    conn.execute("UPDATE annotations SET polygons='[[1, 1, 9, NaN, 9, 9]]' WHERE id=2")
    conn.commit()
    conn.close()
    with Store.open(tmp_path / "p", create=False) as store:
        assert store.annotation(1).extra == {"baz": float("-inf")}
