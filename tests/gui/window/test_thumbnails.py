"""The film strip: thumbnails appear (pixels), are made off the GUI thread, come from the disk cache
the second time (no decode), follow a changed file, show a placeholder for a broken one, and a click
opens the image, which is then the highlighted one."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PySide6.QtGui import QImage

from gui.panels import thumbnails


@pytest.fixture
def cache_dir(thumbnail_cache_dir):
    return thumbnail_cache_dir


def _show_strip(win, qtbot):
    dock = win._docks["film_strip"]
    assert dock.toggleViewAction() in win.menu("&View").actions()
    dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: win.film_strip.isVisible(), timeout=5000)
    return win.film_strip


def _first_ids(win, n):
    return win.file_list.model.visible_ids()[:n]


def _grab(widget) -> np.ndarray:
    img = widget.viewport().grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return arr[:, :w * 3].reshape(h, w, 3).astype(int)


def test_thumbnails_appear_off_the_gui_thread_and_come_from_disk_next_time(make_window, demo_project, qtbot,
                                                                           cache_dir, monkeypatch):
    threads = []
    real = thumbnails.make_thumbnail

    def recording(source, target):
        threads.append(threading.current_thread())
        return real(source, target)
    monkeypatch.setattr(thumbnails, "make_thumbnail", recording)
    win = make_window(demo_project)
    assert win.film_strip.thumbs.decoded == 0, "thumbnails were made while the strip was hidden"
    strip = _show_strip(win, qtbot)
    ids = _first_ids(win, 3)
    qtbot.waitUntil(lambda: all(strip.thumbs.has_thumbnail(i) for i in ids), timeout=20000)
    assert strip.thumbs.decoded >= 3 and strip.thumbs.from_disk == 0
    assert threads and all(t is not threading.main_thread() for t in threads)
    files = list(cache_dir.rglob("*.png"))
    assert len(files) >= 3
    qtbot.wait(50)
    # The first thumbnail's cell shows the demo image, not the flat placeholder.
    rect = strip.visualRect(strip.thumbs.index(win.file_list.model.row_of(ids[0]), 0))
    cell = _grab(strip)[rect.top():rect.top() + thumbnails.THUMB // 2, rect.left() + 8:rect.right() - 8]
    assert cell.std() > 10, "the thumbnail cell is flat"
    assert not (np.abs(cell - np.array([60, 60, 64])).sum(axis=2) < 6).all()

    # Again, as when the project is reopened: from the disk, the image files are not decoded.
    def no_decode(*_a):
        raise AssertionError("decoded although cached")
    monkeypatch.setattr(thumbnails, "make_thumbnail", no_decode)
    strip.thumbs.set_project(win.store.root)
    decoded = strip.thumbs.decoded
    strip.viewport().update()
    qtbot.waitUntil(lambda: all(strip.thumbs.has_thumbnail(i) for i in ids), timeout=20000)
    assert strip.thumbs.decoded == decoded and strip.thumbs.from_disk >= 3


def test_a_changed_file_gets_a_new_thumbnail_and_a_broken_one_a_placeholder(make_window, demo_project, qtbot,
                                                                            cache_dir):
    win = make_window(demo_project)
    strip = _show_strip(win, qtbot)
    first, second = _first_ids(win, 2)
    qtbot.waitUntil(lambda: strip.thumbs.has_thumbnail(first) and strip.thumbs.has_thumbnail(second),
                    timeout=20000)
    # A new version of the first file: a new thumbnail, and the old one is removed from the disk.
    src = win.store.image_path(win.store.image(first))
    (old,) = cache_dir.rglob(f"{first}-*.png")
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    strip.thumbs.set_project(win.store.root)
    strip.viewport().update()
    qtbot.waitUntil(lambda: strip.thumbs.has_thumbnail(first), timeout=20000)
    (new,) = cache_dir.rglob(f"{first}-*.png")
    assert new != old and not old.exists() and strip.thumbs.decoded >= 3
    path = win.store.image_path(win.store.image(second))
    path.write_bytes(b"not an image at all")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    strip.thumbs.set_project(win.store.root)
    strip.viewport().update()
    qtbot.waitUntil(lambda: strip.thumbs.has_thumbnail(first) and second in strip.thumbs._broken, timeout=20000)
    idx = strip.thumbs.index(win.file_list.model.row_of(second), 0)
    assert strip.thumbs.data(idx, thumbnails.Qt.DecorationRole).cacheKey() == strip.thumbs._broken_pm.cacheKey()
    assert path.name in strip.thumbs.data(idx, thumbnails.Qt.ToolTipRole)


def test_click_opens_the_image_and_it_is_highlighted(make_window, demo_project, qtbot):
    from PySide6.QtCore import Qt
    win = make_window(demo_project)
    strip = _show_strip(win, qtbot)
    current = win.session.image_id
    assert [i.row() for i in strip.selectedIndexes()] == [win.file_list.model.row_of(current)]
    target = _first_ids(win, 3)[2]
    assert target != current
    rect = strip.visualRect(strip.thumbs.index(win.file_list.model.row_of(target), 0))
    qtbot.mouseClick(strip.viewport(), Qt.LeftButton, pos=rect.center())
    assert win.session.image_id == target
    qtbot.waitUntil(lambda: win.canvas.current_image_id == target, timeout=5000)
    assert [i.row() for i in strip.selectedIndexes()] == [win.file_list.model.row_of(target)]
    win.next_image(1)  # navigation elsewhere moves the highlight too
    assert [i.row() for i in strip.selectedIndexes()] == [win.file_list.model.row_of(win.session.image_id)]


def test_the_disk_cache_is_pruned_least_recently_opened_first(tmp_path):
    root = tmp_path / "thumbs"
    folders = []
    for k in range(4):  # four projects' caches of 100 kB each, opened at t = 1000, 2000, 3000, 4000
        d = root / f"project{k}"
        d.mkdir(parents=True)
        for j in range(4):
            (d / f"{j}-1-1.png").write_bytes(b"x" * 25_000)
        os.utime(d, (1000 * (k + 1), 1000 * (k + 1)))
        folders.append(d)
    (root / "stray.txt").write_text("not a project folder")
    # the oldest project is the one opened now: it stays, and the next oldest go until 250 kB remain
    removed = thumbnails.prune_cache(folders[0], max_bytes=250_000)
    assert removed == [folders[1], folders[2]]
    assert folders[0].is_dir() and folders[3].is_dir() and (root / "stray.txt").exists()
    assert len(list(folders[0].iterdir())) == 4
    # under the limit: nothing goes
    assert thumbnails.prune_cache(folders[3], max_bytes=250_000) == []
    assert folders[0].is_dir() and folders[3].is_dir()
    # a cache folder that does not exist yet is no error
    assert thumbnails.prune_cache(tmp_path / "none" / "p", max_bytes=0) == []


def test_a_thumbnail_the_pointer_rests_on_is_read_ahead(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    strip = _show_strip(win, qtbot)
    row = 5
    target = strip.thumbs.image_id(row)
    assert target not in win.canvas._prefetch._entries
    with qtbot.waitSignal(strip.hovered, timeout=2000) as hovered:
        qtbot.mouseMove(strip.viewport(), strip.visualRect(strip.thumbs.index(row, 0)).center())
    assert hovered.args == [target]
    qtbot.waitUntil(lambda: target in win.canvas._prefetch._entries, timeout=5000)
