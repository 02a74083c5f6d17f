"""EXIF orientation (sizes and pixels as displayed), the decompression-bomb pixel limit, read-only
and damaged projects, and full disks: one clear message, nothing half-written, nothing changed."""
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

import main as entry
from annotations import geometry
from annotations.formats import FormatError, export_labels, import_labels
from annotations.imageio import ImageTooLarge, WriteError, image_size, read_rgb, set_pixel_limit
from annotations.model import MASK, Annotation, Category, ImageRecord
from annotations.store import DB_NAME, Store, StoreError


@pytest.fixture(autouse=True)
def default_pixel_limit():
    set_pixel_limit(None)
    yield
    set_pixel_limit(None)


def rotated_photo(path, w=64, h=32):
    """A camera JPEG stored w x h with EXIF orientation 6 (displayed rotated 90 degrees: h x w)."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 4] = (255, 0, 0)  # a red band on the stored left edge: on top once displayed
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(path, "JPEG", exif=exif.tobytes(), quality=95)
    return path


def png_header_only(path, w, h):
    """A tiny PNG that claims w x h pixels (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


# ---- EXIF ----------------------------------------------------------------------------------------
def test_rotated_photo_is_recorded_and_decoded_as_displayed(tmp_path):
    p = rotated_photo(tmp_path / "photo.jpg")
    assert Image.open(p).size == (64, 32)  # as stored
    assert image_size(p) == (32, 64)  # as displayed (labelme, exif_transpose)
    rgb = read_rgb(p)
    assert rgb.shape == (64, 32, 3)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    assert np.abs(rgb.astype(int) - upright).mean() < 3
    assert rgb[:8, :, 0].mean() > 200 and rgb[-8:, :, 0].mean() < 60  # the band is on top


def _png_with_exif_moved_after_pixels(path):
    """The PNG at `path` rewritten with its eXIf chunk after IDAT (the PNG rules allow it there too)."""
    raw, pos, chunks = path.read_bytes(), 8, []
    while pos < len(raw):
        (n,) = struct.unpack(">I", raw[pos:pos + 4])
        chunks.append((raw[pos + 4:pos + 8], raw[pos:pos + 12 + n]))
        pos += 12 + n
    order = [c for k, c in chunks if k not in (b"eXIf", b"IEND")] + [c for k, c in chunks if k == b"eXIf"]
    path.write_bytes(raw[:8] + b"".join(order) + chunks[-1][1])


def oriented_picture(path, orientation, written):
    """A picture stored 40x30 with EXIF orientation `orientation`, written into the file as `written`
    says: its EXIF block, a PNG's eXIf after the pixels, ImageMagick's PNG text chunk, or XMP only."""
    from PIL import PngImagePlugin
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[:, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    im = Image.fromarray(rgb)
    if written in ("exif", "exif after the pixels"):
        im.save(path, exif=exif.tobytes())
        if written != "exif":
            _png_with_exif_moved_after_pixels(path)
    elif written == "png text chunk":
        block = exif.tobytes()
        info = PngImagePlugin.PngInfo()
        info.add_text("Raw profile type exif", f"\nexif\n{len(block):8d}\n{block.hex()}\n")
        im.save(path, pnginfo=info)
    else:
        im.save(path, xmp=f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
                         f'02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
                         f'tiff:Orientation="{orientation}"/></rdf:RDF></x:xmpmeta>'.encode())
    return path


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("ext, written", [("jpg", "exif"), ("png", "exif"), ("webp", "exif"), ("tiff", "exif"),
                                          ("png", "exif after the pixels"), ("png", "png text chunk"),
                                          ("jpg", "xmp"), ("bmp", "exif")])
def test_recorded_size_is_the_size_the_image_is_shown_at(tmp_path, ext, written, orientation):
    """The size a project records is the one OpenCV decodes (read_rgb: the canvas, predictions,
    training), wherever the file keeps or does not keep its orientation: PIL's own rules differ
    (it turns a TIFF's size itself, and reads orientations OpenCV ignores)."""
    p = oriented_picture(tmp_path / f"picture.{ext}", orientation, written)
    shown = read_rgb(p).shape[1::-1]
    assert image_size(p) == shown
    if written == "exif" and ext != "bmp":  # the orientations OpenCV follows: turned where they say so
        assert shown == ((30, 40) if orientation in (6, 8) else (40, 30))


def test_png_size_is_read_without_decoding_its_pixels(tmp_path, monkeypatch):
    """A PNG's size and orientation come from its chunks: PIL would decode the whole image to look
    for an eXIf chunk after the pixels (6 ms for 640x480, 40 ms for 2048x1024, per image)."""
    from PIL import PngImagePlugin
    plain = tmp_path / "plain.png"
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(plain)
    late = oriented_picture(tmp_path / "late.png", 6, "exif after the pixels")
    decoded = []
    real_load = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda im: decoded.append(im) or real_load(im))
    assert image_size(plain) == (40, 30) and image_size(late) == (30, 40)
    assert decoded == []


def test_a_png_whose_exif_chunk_claims_gigabytes_is_sized_without_reading_it(tmp_path):
    p = tmp_path / "hostile.png"
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(p)
    raw = p.read_bytes()
    iend = raw.rindex(b"IEND") - 4
    p.write_bytes(raw[:iend] + struct.pack(">I", 0x7FFFFFF0) + b"eXIf" + b"MM\x00*" + raw[iend:])
    import tracemalloc
    tracemalloc.start()
    try:
        assert image_size(p) == (40, 30)
        assert tracemalloc.get_traced_memory()[1] < 50 << 20  # a read of what it claims would take 2 GB
    finally:
        tracemalloc.stop()


def test_rotated_photo_without_opencv_is_turned_too(tmp_path, monkeypatch):
    import cv2
    p = rotated_photo(tmp_path / "photo.jpg")
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: None)  # the PIL fallback path
    assert read_rgb(p).shape == (64, 32, 3)


def test_rotated_photo_through_label_predict_and_export(store, tmp_path):
    rotated_photo(store.root / "photo.jpg")
    ids, problems = store.add_image_folder(store.root)
    rec = store.image(ids[0])
    assert problems == [] and (rec.width, rec.height) == (32, 64)
    cid = store.add_category(Category(None, "band"))
    m = np.zeros((64, 32), np.uint8)
    m[:16, :] = 1  # labelled on the displayed picture: the band along the top
    store.add_annotation(Annotation(None, rec.id, cid, kind=MASK, rle=geometry.encode_mask(m)))
    from engine.predictor import _read_images  # what predict and training decode
    from dataclasses import replace
    kept, images, read_problems = _read_images([replace(rec, file_name=str(store.image_path(rec)))])
    assert kept == [rec.id] and images[0].shape[:2] == (64, 32) and not read_problems
    report = export_labels(store, "masks", tmp_path / "masks")
    assert report.images == 1
    export_labels(store, "coco", tmp_path / "gt.json")
    with Store.open(tmp_path / "again") as again:  # the app reads its own export of the photo back
        report = import_labels(again, "coco", tmp_path / "gt.json", image_dir=store.root)
        assert report.annotations == 1 and (again.images()[0].width, again.images()[0].height) == (32, 64)


def test_predictions_on_a_rotated_photo_lie_in_its_displayed_size(tmp_path, capsys):
    """`predict --project` on a photo stored 256x128 with orientation 6: the model sees it 128 wide and
    256 tall, so every stored box lies inside the recorded 128x256 and some reach below y=128 (a model
    given the stored pixels would put boxes up to x=256 and none below y=128). The weights are random,
    so they are seeded: 2 of 8 unseeded draws give no box above the score floor."""
    import torch
    torch.manual_seed(0)
    project = tmp_path / "p"
    project.mkdir()
    rotated_photo(project / "photo.jpg", w=256, h=128)
    with Store.open(project) as s:
        s.add_image_folder(project)
        s.add_category(Category(None, "circle"))
    args = ["predict", "--model", "fasterrcnn_mobilenet_v3_large_320_fpn", "--weights", "random", "--device", "cpu",
            "--score", "0.0", "--add-categories", "--project", str(project)]
    assert entry.main(args) == 0, capsys.readouterr().err
    with Store.open(project) as s:
        (rec,) = s.images()
        boxes = [a.bbox for a in s.annotations(status="prediction")]
    assert (rec.width, rec.height) == (128, 256) and len(boxes) > 10
    assert all(x >= 0 and y >= 0 and x + w <= 128 + 1e-3 and y + h <= 256 + 1e-3 for x, y, w, h in boxes)
    assert max(y + h for x, y, w, h in boxes) > 128


# ---- pixel limit ---------------------------------------------------------------------------------
def test_bomb_header_is_refused_before_decoding(tmp_path):
    p = png_header_only(tmp_path / "bomb.png", 100000, 100000)
    for read in (image_size, read_rgb):
        with pytest.raises(ImageTooLarge, match=r"bomb\.png: 100000x100000 is 10000 megapixels, over the limit of "
                                                r"268 .*--max-pixels or SIGHTLINE_MAX_PIXELS"):
            read(p)
    set_pixel_limit(10 ** 11)
    assert image_size(p) == (100000, 100000)


def test_pixel_limit_from_the_environment(tmp_path, monkeypatch):
    p = png_header_only(tmp_path / "wide.png", 3000, 2000)
    assert image_size(p) == (3000, 2000)
    monkeypatch.setenv("SIGHTLINE_MAX_PIXELS", "1e6")
    with pytest.raises(ImageTooLarge, match="over the limit of 1"):
        image_size(p)


def test_batch_jobs_skip_and_report_each_bomb(store):
    from PIL import Image as _Image
    _Image.new("RGB", (20, 10)).save(store.root / "fine.png")
    png_header_only(store.root / "bomb.png", 30000, 30000)
    ids, problems = store.add_image_folder(store.root)
    assert [store.image(i).file_name for i in ids] == ["fine.png"]
    assert len(problems) == 1 and "bomb.png" in problems[0] and "over the limit" in problems[0]
    from engine.predictor import _read_images
    rec = ImageRecord(99, str(store.root / "bomb.png"), 30000, 30000)
    kept, _, read_problems = _read_images([rec])
    assert kept == [] and "over the limit" in read_problems[99] and read_problems[99].endswith("skipped")


def test_rank_skips_and_reports_a_bomb_and_explain_refuses_one_with_one_line(store, tmp_path, capsys):
    """Ranking over a run decodes the images in batches: the bomb is skipped with a warning naming it
    and the others are ranked; explain on that one named image refuses it with one error line."""
    from engine.rank.store_images import read_batches
    Image.new("RGB", (20, 10)).save(store.root / "fine.png")
    png_header_only(store.root / "bomb.png", 30000, 30000)
    fine = store.add_image(ImageRecord(None, "fine.png", 20, 10))
    bomb = store.add_image(ImageRecord(None, "bomb.png", 30000, 30000))
    warnings = []
    batches = list(read_batches(store, [bomb, fine], 8, warnings.append))
    assert [ids for ids, _ in batches] == [[fine]] and batches[0][1][0].shape == (10, 20, 3)
    assert len(warnings) == 1 and "bomb.png" in warnings[0] and "over the limit" in warnings[0]
    rc = entry.main(["explain", "--model", "fcos_compact_fpn", "--weights", "random", "--device", "cpu",
                     "--image", str(store.root / "bomb.png"), "--method", "gradcam", "--out", str(tmp_path / "h.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and "bomb.png" in err[0]
    assert "over the limit" in err[0] and "--max-pixels" in err[0] and not (tmp_path / "h.png").exists()


def test_labelme_image_data_bomb(store, tmp_path):
    import base64
    bomb = png_header_only(tmp_path / "b.png", 200000, 200000).read_bytes()
    d = tmp_path / "lm"
    d.mkdir()
    (d / "a.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": [], "imagePath": "a.png",
                                          "imageData": base64.b64encode(bomb).decode(), "imageHeight": 200000,
                                          "imageWidth": 200000}))
    with pytest.raises(FormatError, match=r"a\.json: imageData: 200000x200000 .* over the limit"):
        import_labels(store, "labelme", d)


def test_cli_max_pixels(tmp_path, capsys):
    png_header_only(tmp_path / "big.png", 3000, 3000)
    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "big.png"}], "categories": [], "annotations": []}))
    args = ["import", "--project", str(tmp_path / "p"), "--format", "coco", str(coco), "--images", str(tmp_path)]
    assert entry.main(args + ["--max-pixels", "1000000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "big.png: 3000x3000 is 9 megapixels, over the limit of 1" in err[0]
    assert entry.main(args + ["--max-pixels", "1e7"]) == 0


def test_every_command_that_reads_images_takes_max_pixels(capsys):
    """The limit's message names --max-pixels, whichever command hit it."""
    required = {"import": ["--project", "p", "--format", "coco", "x.json"],
                "export": ["--project", "p", "--format", "coco", "x.json"],
                "predict": ["--model", "m", "--project", "p"], "train": [],
                "rank": ["--project", "p", "--run", "1", "--strategy", "uncertainty"],
                "explain": ["--method", "gradcam"]}
    parser = entry.build_parser()
    for command, args in required.items():
        assert parser.parse_args([command, *args, "--max-pixels", "1e9"]).max_pixels == 10 ** 9, command
        for bad in ("inf", "0", "lots"):
            assert entry.main([command, *args, "--max-pixels", bad]) == 2  # one line, before anything runs
            err = capsys.readouterr().err.splitlines()
            assert len(err) == 1 and err[0].startswith("error: argument --max-pixels:")
            assert "is not a number of pixels" in err[0]


# ---- read-only and damaged projects ----------------------------------------------------------------
def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project(tmp_path):
    with Store.open(tmp_path / "ro") as s:
        cid = s.add_category(Category(None, "a"))
        iid = s.add_image(ImageRecord(None, "x.jpg", 10, 10))
        s.add_annotation(Annotation(None, iid, cid, bbox=(1, 1, 3, 3)))
    return tmp_path / "ro"


def test_opening_writes_nothing(project):
    before = _digest(project / DB_NAME)
    with Store.open(project) as s:
        assert s.image_count() == 1 and not s.read_only
    assert _digest(project / DB_NAME) == before


def test_read_only_project_opens_for_export_and_refuses_writes(project, tmp_path):
    before = _digest(project / DB_NAME)
    with Store.open(project, read_only=True) as s:  # what an unwritable folder gets (see below)
        assert s.read_only and s.image_count() == 1
        export_labels(s, "coco", tmp_path / "out.json")
        with pytest.raises(StoreError, match="open read-only"):
            s.add_category(Category(None, "b"))
    assert json.loads((tmp_path / "out.json").read_text())["annotations"][0]["bbox"] == [1, 1, 3, 3]
    assert _digest(project / DB_NAME) == before


def test_unwritable_folder_is_detected(project, tmp_path, monkeypatch, capsys):
    import annotations.store as store_module
    monkeypatch.setattr(store_module, "writable", lambda root, db: False)  # as a read-only mount answers
    with Store.open(project) as s:
        assert s.read_only
    assert entry.main(["export", "--project", str(project), "--format", "coco", str(tmp_path / "o.json")]) == 0
    capsys.readouterr()
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"images": [], "categories": [{"id": 5, "name": "new"}]}))
    assert entry.main(["import", "--project", str(project), "--format", "coco", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be written" in err[0] and "nothing was changed" in err[0]


@pytest.fixture
def read_only_mount(project, tmp_path):
    """The project seen through a read-only bind mount (as a read-only share or medium shows it)."""
    mnt = tmp_path / "ro_mount"
    mnt.mkdir()
    r = subprocess.run(["mount", "--bind", str(project), str(mnt)], capture_output=True, check=False)
    if r.returncode != 0:
        pytest.skip("cannot bind-mount here (not root, or no permission)")
    r = subprocess.run(["mount", "-o", "remount,bind,ro", str(mnt)], capture_output=True, check=False)
    if r.returncode != 0:
        subprocess.run(["umount", str(mnt)], check=False)
        pytest.skip("cannot remount read-only here")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_real_read_only_mount(read_only_mount, tmp_path, capsys):
    before = sorted(p.name for p in read_only_mount.iterdir()), _digest(read_only_mount / DB_NAME)
    with Store.open(read_only_mount) as s:  # found out by itself: nothing injected
        assert s.read_only and s.image_count() == 1 and s.annotation_count() == 1
    out = tmp_path / "o.json"
    assert entry.main(["export", "--project", str(read_only_mount), "--format", "coco", str(out)]) == 0
    assert json.loads(out.read_text())["annotations"][0]["bbox"] == [1, 1, 3, 3]
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"images": [], "categories": [{"id": 5, "name": "new"}]}))
    capsys.readouterr()
    assert entry.main(["import", "--project", str(read_only_mount), "--format", "coco", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be written" in err[0] and "nothing was changed" in err[0]
    assert (sorted(p.name for p in read_only_mount.iterdir()), _digest(read_only_mount / DB_NAME)) == before


def test_damaged_database_is_one_message_at_open_and_left_alone(project, capsys, tmp_path):
    db = project / DB_NAME
    data = bytearray(db.read_bytes())
    data[4096:4096 + 200] = b"\xff" * 200  # the second page's header and cells overwritten
    db.write_bytes(bytes(data))
    before = _digest(db)
    with pytest.raises(StoreError, match=r"project\.sightline is (damaged|not a readable project database)"):
        Store.open(project)
    assert _digest(db) == before
    assert entry.main(["export", "--project", str(project), "--format", "coco", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "left as it was" in err[0]
    assert _digest(db) == before


def test_not_a_database_at_all(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / DB_NAME).write_bytes(b"this is text, not SQLite" * 100)
    with pytest.raises(StoreError, match="not a readable project database"):
        Store.open(tmp_path / "p")


# ---- full disks ----------------------------------------------------------------------------------
def _coco_file(tmp_path, n=400):
    anns = [{"id": i + 1, "image_id": 1 + i % 20, "category_id": 1, "bbox": [1, 1, 5, 5],
             "segmentation": [[1, 1, 30, 1, 30, 30, 15, 40, 1, 30] * 8]} for i in range(n)]
    f = tmp_path / "many.json"
    f.write_text(json.dumps({"images": [{"id": i, "file_name": f"{i}.jpg", "width": 50, "height": 50}
                                        for i in range(1, 21)],
                             "categories": [{"id": 1, "name": "a"}], "annotations": anns}))
    return f


def _small_database(monkeypatch):
    """Every connection may grow the database by a few pages only: SQLite's own "disk is full"."""
    original = Store._conn

    def conn(self):
        c = original(self)
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        c.execute(f"PRAGMA max_page_count = {pages + 3}")
        return c
    monkeypatch.setattr(Store, "_conn", conn)


def test_disk_full_during_import(project, tmp_path, monkeypatch, capsys):
    before = _digest(project / DB_NAME)
    _small_database(monkeypatch)
    with Store.open(project) as s:
        with pytest.raises(StoreError, match=r"project\.sightline: cannot write: the disk is full; nothing was "
                                             r"changed") as e:
            import_labels(s, "coco", _coco_file(tmp_path))
        assert "rollback" not in str(e.value)
        assert s.image_count() == 1 and s.annotation_count() == 1
    assert entry.main(["import", "--project", str(project), "--format", "coco", str(_coco_file(tmp_path))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the disk is full" in err[0]
    monkeypatch.undo()
    with Store.open(project) as s:
        assert s.integrity_check() == "ok" and s.annotation_count() == 1
    assert _digest(project / DB_NAME) == before  # the database is whole and holds what it held, byte for byte


def _no_space(monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)


def test_disk_full_during_coco_export(project, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out" / "gt.json"
    _no_space(monkeypatch)
    with Store.open(project) as s, pytest.raises(WriteError, match=r"gt\.json: cannot be written: the disk is full"):
        export_labels(s, "coco", out)
    assert not out.exists() and list(out.parent.glob(".gt.json.tmp*")) == []
    assert entry.main(["export", "--project", str(project), "--format", "coco", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {out}: cannot be written: the disk is full"]
    assert list(out.parent.iterdir()) == []


def test_disk_full_during_a_folder_export(project, tmp_path, monkeypatch):
    _no_space(monkeypatch)
    with Store.open(project) as s, pytest.raises(WriteError, match=r"voc/.*\.(xml|txt): cannot be written: "
                                                                  r"the disk is full"):
        export_labels(s, "voc", tmp_path / "voc")
    assert not (tmp_path / "voc").exists() and list(tmp_path.glob(".voc.partial*")) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True,
                       check=False)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no permission)")
    yield mnt
    r = subprocess.run(["umount", str(mnt)], capture_output=True, text=True, check=False)
    if r.returncode != 0:  # busy: a file there is still open (e.g. a connection a failed open never closed)
        subprocess.run(["umount", "-l", str(mnt)], check=False)
        pytest.fail(f"the tmpfs could not be unmounted: {r.stderr.strip()}")


def test_real_full_disk(small_tmpfs, tmp_path, capsys):
    """A 256 kB tmpfs: the project and the export live on it."""
    project = small_tmpfs / "p"
    f = _coco_file(tmp_path, n=3000)
    assert entry.main(["import", "--project", str(project), "--format", "coco", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "disk is full" in err[0] and "rollback" not in err[0]
    with Store.open(project) as s:
        assert s.image_count() == 0 and s.integrity_check() == "ok"
    filler = small_tmpfs / "filler"
    with open(filler, "wb") as fh:
        try:
            fh.write(b"\0" * (1 << 20))
        except OSError:
            pass
    out = small_tmpfs / "gt.json"
    with Store.open(tmp_path / "other") as s:
        import_labels(s, "coco", _coco_file(tmp_path, n=3000))
    assert entry.main(["export", "--project", str(tmp_path / "other"), "--format", "coco", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {out}: cannot be written: the disk is full"]
    assert not out.exists() and not list(small_tmpfs.glob(".gt.json.tmp*"))


def _fill(folder):
    """Not a byte left on the file system of `folder`."""
    with open(folder / "filler", "wb", buffering=0) as fh:
        for chunk in (64 << 10, 4 << 10, 1):
            try:
                while True:
                    fh.write(b"\0" * chunk)
            except OSError:
                pass
    assert os.statvfs(folder).f_bavail == 0


def test_opening_a_project_on_a_full_disk(small_tmpfs, tmp_path, capsys):
    """SQLite needs room for its -wal and -shm files just to open for writing (it then says only
    "disk I/O error"): the project opens read-only for export, and an import says the disk is full."""
    made = tmp_path / "made"
    with Store.open(made) as s:
        cid = s.add_category(Category(None, "a"))
        s.add_annotation(Annotation(None, s.add_image(ImageRecord(None, "x.jpg", 10, 10)), cid, bbox=(1, 1, 3, 3)))
    sqlite3.connect(made / DB_NAME).close()  # the last connection folds the -wal file in and removes it
    project = small_tmpfs / "p"
    project.mkdir()
    shutil.copy(made / DB_NAME, project / DB_NAME)  # a project copied there, as a person would
    before = _digest(project / DB_NAME)
    _fill(small_tmpfs)
    with Store.open(project) as s:
        assert s.read_only and s.annotation_count() == 1
    with pytest.raises(StoreError, match=r"project\.sightline: cannot be opened for writing: the disk is full"):
        Store.open(project, read_only=False)
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"images": [], "categories": [{"id": 5, "name": "new"}]}))
    assert entry.main(["import", "--project", str(project), "--format", "coco", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the disk is full; nothing was changed" in err[0] and "not a readable" not in err[0]
    assert entry.main(["export", "--project", str(project), "--format", "coco", str(tmp_path / "o.json")]) == 0
    assert json.loads((tmp_path / "o.json").read_text())["annotations"][0]["bbox"] == [1, 1, 3, 3]
    (small_tmpfs / "filler").unlink()
    with Store.open(project) as s:
        assert not s.read_only and s.integrity_check() == "ok" and s.annotation_count() == 1
    assert _digest(project / DB_NAME) == before
