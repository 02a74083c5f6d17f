"""`main.py import` / `main.py export` from the terminal."""
import json
import subprocess
import sys
from pathlib import Path

import main as entry
from annotations.store import Store

from fmt_helpers import COCO_BBOX_RESULTS, COCO_GT

ROOT = Path(__file__).resolve().parents[3]


def test_import_export_and_results(tmp_path, capsys):
    project = tmp_path / "p"
    assert entry.main(["import", "--project", str(project), "--format", "coco", str(COCO_GT)]) == 0
    assert "Imported 839 annotations on 100 new images" in capsys.readouterr().out
    assert entry.main(["import", "--project", str(project), "--format", "coco-results", "--model", "frcnn",
                       str(COCO_BBOX_RESULTS)]) == 0
    assert "as model run 1" in capsys.readouterr().out
    with Store.open(project) as s:
        assert s.run(1).model == "frcnn" and s.annotation_count("prediction") == 734
        s.set_split(s.image_ids()[:10], "val")
    out = tmp_path / "val.json"
    assert entry.main(["export", "--project", str(project), "--format", "coco", str(out), "--split", "val"]) == 0
    assert len(json.loads(out.read_text())["images"]) == 10
    res = tmp_path / "res.json"
    assert entry.main(["export", "--project", str(project), "--format", "coco", str(res), "--predictions", "1"]) == 0
    assert json.loads(res.read_text()) == json.loads(COCO_BBOX_RESULTS.read_text())
    assert entry.main(["export", "--project", str(project), "--format", "voc", str(tmp_path / "voc")]) == 0
    assert len(list((tmp_path / "voc" / "Annotations").glob("*.xml"))) == 100


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 5, "height": 5}],
                               "categories": [{"id": 1, "name": "x"}],
                               "annotations": [{"id": 4, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}]}))
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "import", "--project", str(tmp_path / "p"),
                           "--format", "coco", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("error: ") and "bad.json" in lines[0] and "annotations[0] (id 4)" in lines[0]
    with Store.open(tmp_path / "p") as s:
        assert s.image_count() == 0 and s.categories() == []


def test_cli_usage_errors(tmp_path, capsys):
    assert entry.main(["export", "--project", str(tmp_path / "none"), "--format", "coco", "x.json"]) == 2
    assert "No project" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()  # export never creates a project
    Store.open(tmp_path / "p").close()
    assert entry.main(["import", "--project", str(tmp_path / "p"), "--format", "coco-results",
                       str(COCO_BBOX_RESULTS)]) == 2
    assert "--model" in capsys.readouterr().err
    assert entry.main(["export", "--project", str(tmp_path / "p"), "--format", "yolo", str(tmp_path / "y"),
                       "--predictions", "1"]) == 2
    assert "--format coco" in capsys.readouterr().err


def test_unwritable_output_is_a_one_line_error(tmp_path, capsys):
    project = tmp_path / "p"
    assert entry.main(["import", "--project", str(project), "--format", "coco", str(COCO_GT)]) == 0
    capsys.readouterr()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = entry.main(["export", "--project", str(project), "--format", "coco", str(blocker / "o.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "a_file" in err and len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


def test_a_failed_import_into_a_new_project_leaves_no_project(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "../../etc/passwd", "width": 5, "height": 5}]}))
    new = tmp_path / "new" / "p"
    assert entry.main(["import", "--project", str(new), "--format", "coco", str(bad)]) == 2
    assert not (tmp_path / "new" / "p").exists()
    existing = tmp_path / "folder"  # a folder of images that is not a project yet: kept, only the database goes
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    assert entry.main(["import", "--project", str(existing), "--format", "coco", str(bad)]) == 2
    assert sorted(p.name for p in existing.iterdir()) == ["keep.txt"]
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"images": [], "categories": [{"id": 1, "name": "a"}]}))
    assert entry.main(["import", "--project", str(existing), "--format", "coco", str(good)]) == 0
    assert Store.exists(existing)
    assert entry.main(["import", "--project", str(existing), "--format", "coco", str(bad)]) == 2
    assert Store.exists(existing)  # a project that was there stays
    with Store.open(existing) as s:
        assert [c.name for c in s.categories()] == ["a"]
    capsys.readouterr()


def test_a_nul_byte_in_any_path_argument_is_one_readable_line(tmp_path, capsys):
    """Every path argument of import and export: the name as Python writes it (the byte itself never
    reaches the terminal), exit code 2, no project made."""
    project = str(tmp_path / "p")
    f = tmp_path / "gt.json"
    f.write_text(json.dumps({"images": [], "categories": [{"id": 1, "name": "a"}], "annotations": []}))
    assert entry.main(["import", "--project", project, "--format", "coco", str(f)]) == 0
    capsys.readouterr()
    cases = [["import", "--project", project, "--format", fmt, str(tmp_path / "in\0put")]
             for fmt in ("coco", "voc", "yolo", "labelme")]
    cases += [["import", "--project", project, "--format", "coco", str(f), "--images", str(tmp_path / "im\0ages")],
              ["import", "--project", str(tmp_path / "new\0project"), "--format", "coco", str(f)]]
    cases += [["export", "--project", project, "--format", fmt, str(tmp_path / "o\0ut")]
              for fmt in ("coco", "voc", "yolo", "labelme", "masks")]
    for args in cases:
        assert entry.main(args) == 2, args
        err = capsys.readouterr().err
        assert "\0" not in err and len(err.strip().splitlines()) == 1, (args, err)
        assert "\\x00" in err and "cannot hold a NUL byte" in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.json", "p"]
