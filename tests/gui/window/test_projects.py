"""Opening projects: the store keeps every edit across close and reopen; bad paths and corrupt
projects give a message and the window goes on; image folders and the demo open through jobs;
layout and recent projects are kept in QSettings."""
from __future__ import annotations

import shutil

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from annotations.store import DB_NAME, Store
from gui.main_window import MainWindow

from window_helpers import canvas_view, drag, press


def _messages(win) -> list[str]:
    return [b.text() for b in win.findChildren(QMessageBox) if b.isVisible()]


def test_the_store_holds_the_edits_after_close_and_reopen(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_D)
    iid = win.store.image_ids()[1]
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid, timeout=3000)
    before = {a.id for a in win.store.annotations(image_id=iid)}
    press(qtbot, win, Qt.Key_2)
    cat2 = win.categories.current_category()
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_R)
    drag(qtbot, win.canvas, (30, 30), (90, 80))
    qtbot.waitUntil(lambda: len(win.store.annotations(image_id=iid)) == len(before) + 1, timeout=3000)
    (new,) = [a for a in win.store.annotations(image_id=iid) if a.id not in before]
    relabel_to = win.store.categories()[0].id
    win.labelling.relabel([new.id], relabel_to)
    win.close()
    assert win.store is None

    win2 = make_window(demo_project)
    assert win2.canvas.current_image_id == iid  # the last image shown comes back
    again = win2.store.annotation(new.id)
    assert again is not None and again.category_id == relabel_to != cat2
    assert abs(again.bbox[0] - 30) <= 2 and abs(again.bbox[2] - 60) <= 2
    assert new.id in win2.annotation_list.ids()
    assert win2.store.integrity_check() == "ok"


def test_missing_and_corrupt_projects_give_a_message_and_the_window_goes_on(qtbot, make_window, demo_project,
                                                                             tmp_path):
    win = make_window(demo_project)
    current = win.store
    win.open_path(tmp_path / "does-not-exist")
    qtbot.waitUntil(lambda: any("neither a project" in m for m in _messages(win)), timeout=3000)
    assert win.store is current  # nothing changed

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    win.open_path(corrupt)
    qtbot.waitUntil(lambda: any("not a readable project database" in m for m in _messages(win)), timeout=3000)
    assert win.store is current and win.canvas.current_image_id is not None
    for box in win.findChildren(QMessageBox):
        box.close()
    # Still works: D moves on.
    first = win.canvas.current_image_id
    win.canvas.setFocus()
    press(qtbot, win, Qt.Key_D)
    qtbot.waitUntil(lambda: win.canvas.current_image_id != first, timeout=3000)


def test_opening_an_image_folder_creates_a_project_in_a_job(qtbot, make_window, demo_project, tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    with Store.open(demo_project) as s:
        paths = [s.image_path(r) for r in s.images()[:3]]
    for i, p in enumerate(paths):
        shutil.copy(p, (folder / "sub" if i == 2 else folder) / f"photo_{i}.jpg")
    (folder / "broken.png").write_bytes(b"not an image")
    win = make_window(folder)
    assert win.store.image_count() == 3
    assert sorted(r.file_name for r in win.store.images()) == ["photo_0.jpg", "photo_1.jpg", "sub/photo_2.jpg"]
    qtbot.waitUntil(lambda: any("broken.png" in m for m in _messages(win)), timeout=3000)
    assert "3 images" in win.file_list.counts.text()
    assert QSettings().value("recent_projects")[0] == folder.resolve().as_posix()


def test_demo_project_is_generated_in_a_job_then_shown(qtbot, settings_dir, tmp_path):
    win = MainWindow()
    win.resize(1280, 800)  # the size these tests' coordinates assume
    qtbot.addWidget(win)
    win.show()
    path = tmp_path / "fresh-demo"
    with qtbot.waitSignal(win.session.project_opened, timeout=60000):
        win.open_demo_project(path)
        assert win._jobs  # the generation runs as a job, not on this thread
    qtbot.waitUntil(lambda: win.canvas.current_image_id == win.store.image_ids()[0], timeout=10000)
    assert win.store.image_count() > 0 and win.file_list.model.rowCount() == win.store.image_count()
    win.close()
    assert win.store is None


def test_layout_is_kept(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    win.category_dock.hide()
    win.close()
    assert QSettings().value("window/state") is not None
    win2 = make_window(demo_project)
    assert not win2.category_dock.isVisible() and win2.file_dock.isVisible()
