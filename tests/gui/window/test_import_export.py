"""File menu import and export: run as jobs, report in a message, and bad input changes nothing."""
from __future__ import annotations

import json

from PySide6.QtWidgets import QMessageBox

from annotations.formats.coco import store_to_coco_dict


def _messages(win) -> list[str]:
    return [b.text() for b in win.findChildren(QMessageBox) if b.isVisible()]


def test_export_then_import_coco_through_jobs(qtbot, make_window, demo_project, tmp_path):
    win = make_window(demo_project)
    out = tmp_path / "labels.json"
    win.file_menu.export_labels("coco", out)
    qtbot.waitUntil(lambda: not win._jobs, timeout=20000)
    qtbot.waitUntil(lambda: any("Exported" in m for m in _messages(win)), timeout=3000)
    written = json.loads(out.read_text())
    expected = store_to_coco_dict(win.store)
    assert len(written["annotations"]) == len(expected["annotations"]) == win.store.annotation_count()
    assert [c["name"] for c in written["categories"]] == [c.name for c in win.store.categories()]

    # Empty the project's labels, then import them back: the panels follow the store.
    n = win.store.annotation_count()
    win.store.delete_annotations([a.id for a in win.store.annotations()])
    qtbot.waitUntil(lambda: win.annotation_list.ids() == [], timeout=3000)
    qtbot.waitUntil(lambda: "40 unlabelled" in win.file_list.counts.text(), timeout=3000)
    win.file_menu.import_labels("coco", out)
    qtbot.waitUntil(lambda: not win._jobs, timeout=20000)
    assert win.store.annotation_count() == n
    qtbot.waitUntil(lambda: "0 unlabelled" in win.file_list.counts.text(), timeout=3000)
    iid = win.canvas.current_image_id
    qtbot.waitUntil(lambda: len(win.annotation_list.ids()) == len(win.store.annotations(image_id=iid)) > 0,
                    timeout=3000)
    assert any(f"Imported {n} annotations" in m for m in _messages(win))


def test_a_bad_file_gives_a_message_naming_it_and_changes_nothing(qtbot, make_window, demo_project, tmp_path):
    win = make_window(demo_project)
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 5}], "categories": []}')
    n, cats = win.store.annotation_count(None), len(win.store.categories())
    win.file_menu.import_labels("coco", bad)
    qtbot.waitUntil(lambda: not win._jobs, timeout=20000)
    qtbot.waitUntil(lambda: any("broken.json" in m for m in _messages(win)), timeout=3000)
    assert win.store.annotation_count(None) == n and len(win.store.categories()) == cats


def test_the_import_and_export_menus_list_every_registered_format(qtbot, make_window, demo_project):
    from annotations.formats import registry
    win = make_window(demo_project)
    fm = win.file_menu
    for _ in range(2):  # filled once, when first shown
        fm.import_menu.aboutToShow.emit()
        fm.export_menu.aboutToShow.emit()
    titles = lambda menu: [a.text() for a in menu.actions() if not a.isSeparator()]  # noqa: E731
    assert titles(fm.import_menu) == [t + "\u2026" for f in registry() if f.imports
                                      for t in (f.title, f.folder_title) if t]
    assert "COCO data set (folder)\u2026" in titles(fm.import_menu)
    assert titles(fm.export_menu) == [f"{f.title}\u2026" for f in registry()] + ["Include predictions in exports"]


def test_an_import_report_with_many_warnings_fits_the_screen_and_keeps_every_line(qtbot, make_window, demo_project,
                                                                                 tmp_path):
    """COCO's file names with no image beside them: 20 warnings (and a count of the rest), each long
    enough to wrap; the box showed them all and reached below a 1280x800 screen, its OK button off it."""
    win = make_window(demo_project)
    images = [{"id": i, "file_name": f"COCO_val2014_{i:012d}.jpg", "width": 64, "height": 48} for i in range(1, 31)]
    src = tmp_path / "far_away" / "instances_with_a_long_name_val2014.json"
    src.parent.mkdir()
    src.write_text(json.dumps({"images": images, "categories": [{"id": 1, "name": "thing"}], "annotations": []}))
    win.file_menu.import_labels("coco", src)
    qtbot.waitUntil(lambda: not win._jobs, timeout=20000)
    qtbot.waitUntil(lambda: any("Imported" in m for m in _messages(win)), timeout=3000)
    box = next(b for b in win.findChildren(QMessageBox) if b.isVisible() and "Imported" in b.text())
    whole = box.detailedText()
    assert whole.count("not found") >= 20 and "more images not found" in whole  # every line of the report
    assert "Show Details" in box.text() and box.text().count("\n") < 10
    assert box.sizeHint().height() < 800 - 100  # room to spare on a 1280x800 screen
    ok = box.button(QMessageBox.Ok)
    assert box.rect().contains(ok.geometry())


def test_a_coco_data_set_folder_imports_from_the_menu(qtbot, make_window, demo_project, tmp_path, monkeypatch):
    """File > Import > COCO data set (folder) asks for a folder and imports every split of it: here
    Roboflow's train/ and valid/, each with its _annotations.coco.json beside its images. The menu
    had only the one-file entry, so a data set's splits came in one file at a time."""
    from pathlib import Path

    import numpy as np
    from PySide6.QtWidgets import QFileDialog

    from annotations.imageio import write_rgb
    root = tmp_path / "roboflow"
    for split, name in (("train", "a.jpg"), ("valid", "b.jpg")):
        (root / split).mkdir(parents=True)
        write_rgb(root / split / name, np.full((24, 32, 3), 120, np.uint8))
        (root / split / "_annotations.coco.json").write_text(json.dumps({
            "images": [{"id": 0, "file_name": name, "width": 32, "height": 24}],
            "categories": [{"id": 0, "name": "cells", "supercategory": "none"},
                           {"id": 1, "name": "Platelets", "supercategory": "cells"}],
            "annotations": [{"id": 0, "image_id": 0, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25,
                             "iscrowd": 0, "segmentation": []}]}))
    win = make_window(demo_project)
    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: asked.append(a[1]) or str(root))
    fm = win.file_menu
    fm.import_menu.aboutToShow.emit()
    next(a for a in fm.import_menu.actions() if a.text().startswith("COCO data set")).trigger()
    qtbot.waitUntil(lambda: not win._jobs, timeout=20000)
    assert asked == ["Import COCO data set (folder)"]
    splits = {Path(r.file_name).name: r.split for r in win.store.images()}
    assert splits.get("a.jpg") == "train" and splits.get("b.jpg") == "val"
