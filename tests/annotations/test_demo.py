import subprocess
import sys
from pathlib import Path

import numpy as np

from annotations import geometry
from annotations.demo import CLASSES, generate_demo
from annotations.imageio import read_rgb
from annotations.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_demo_is_deterministic_and_split(tmp_path):
    a = generate_demo(tmp_path / "a", n_images=12, seed=5)
    b = generate_demo(tmp_path / "b", n_images=12, seed=5)
    strip = lambda s: [(x.image_id, x.category_id, x.bbox, x.polygons) for x in s.annotations()]
    assert strip(a) == strip(b) and len(strip(a)) >= 12
    assert (tmp_path / "a/images/shapes_0003.jpg").read_bytes() == (tmp_path / "b/images/shapes_0003.jpg").read_bytes()
    assert [c.name for c in a.categories()] == list(CLASSES)
    assert len(a.image_ids("train")) == 10 and len(a.image_ids("val")) == 2
    a.close(), b.close()


def test_demo_labels_match_the_pixels(demo_project):
    s = Store.open(demo_project, create=False)
    for rec in s.images()[:5]:
        img = read_rgb(s.image_path(rec)).astype(int)
        assert img.shape == (rec.height, rec.width, 3)
        for ann in s.annotations(image_id=rec.id):
            m = geometry.decode_rle(geometry.annotation_rle(ann, rec.height, rec.width)).astype(bool)
            x, y, w, h = (int(v) for v in ann.bbox)
            inside, outside = img[m], img[~m & _dilate(m, 3)]
            # the shape is one colour clearly apart from what surrounds it
            assert np.abs(inside.mean(0) - outside.mean(0)).sum() > 60
            assert geometry.rle_bbox(geometry.encode_mask(m)) == ann.bbox
    s.close()


def _dilate(m, r):
    out = m.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(m, dy, 0), dx, 1)
    return out


def test_demo_command_line(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "demo", str(tmp_path / "d"), "--images", "6"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "6 images" in r.stdout
    again = subprocess.run([sys.executable, str(ROOT / "main.py"), "demo", str(tmp_path / "d")],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "already holds a project" in again.stderr
    assert "Traceback" not in again.stderr


def test_the_demo_is_written_only_into_a_new_or_empty_folder(tmp_path, capsys):
    """`demo /etc` wrote project.sightline and images/ among the system's files: the docstring said
    the folder must be empty or absent, and only an existing project was refused."""
    import main
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    for target in (full, a_file):
        assert main.main(["demo", str(target), "--images", "2"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is not an empty folder" in err[0]
    assert sorted(p.name for p in full.iterdir()) == ["notes.txt"] and a_file.read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main.main(["demo", str(empty), "--images", "2"]) == 0
    assert (empty / "project.sightline").is_file()
