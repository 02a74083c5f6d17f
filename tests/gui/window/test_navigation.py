"""Moving through the images with D/A and the file list, and what the status bar says."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QApplication

from annotations.model import Annotation, ImageRecord
from annotations.store import Store

from window_helpers import image_point, press


def _selected_file_id(win) -> int | None:
    rows = win.file_list.view.selectionModel().selectedRows()
    return win.file_list.model.image_id(rows[0].row()) if rows else None


def test_d_and_a_move_the_canvas_and_the_file_list(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    ids = win.store.image_ids()
    assert win.canvas.current_image_id == ids[0]
    assert _selected_file_id(win) == ids[0]

    for expected in ids[1:4]:
        press(qtbot, win, Qt.Key_D)
        qtbot.waitUntil(lambda e=expected: win.canvas.current_image_id == e, timeout=5000)
        assert _selected_file_id(win) == expected
    press(qtbot, win, Qt.Key_A)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids[2], timeout=5000)
    assert _selected_file_id(win) == ids[2]
    rec = win.store.image(ids[2])
    assert win.labelling.image_size.text() == f"{rec.width} \u00d7 {rec.height} px"

    # At the start, A stays on the first image.
    win.show_image(ids[0])
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids[0])
    press(qtbot, win, Qt.Key_A)
    qtbot.wait(50)
    assert win.canvas.current_image_id == ids[0]


def test_clicking_a_file_shows_it(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    view = win.file_list.view
    index = win.file_list.model.index(5, 0)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.visualRect(index).center())
    target = win.file_list.model.image_id(5)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == target, timeout=5000)
    assert win.annotation_list.ids() == [a.id for a in win.store.annotations(image_id=target)]


def test_navigation_follows_the_file_filter(qtbot, make_window, demo_project):
    # Two unlabelled images added to the project: with the "Unlabelled" filter, D visits only them.
    with Store.open(demo_project) as s:
        src = s.image_path(s.images()[0])
        extra = []
        for name in ("zz_unlabelled_a.jpg", "zz_unlabelled_b.jpg"):
            (demo_project / name).write_bytes(src.read_bytes())
            rec = s.images()[0]
            extra.append(s.add_image(ImageRecord(None, name, rec.width, rec.height)))
    win = make_window(demo_project)
    box = win.file_list.state_box
    box.setCurrentIndex(box.findData("unlabelled"))
    assert win.file_list.model.visible_ids() == [win.canvas.current_image_id] + extra  # current stays pinned
    assert "2 unlabelled" in win.file_list.counts.text()
    press(qtbot, win, Qt.Key_D)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == extra[0], timeout=5000)
    press(qtbot, win, Qt.Key_D)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == extra[1], timeout=5000)
    # Labelling an unlabelled image updates the counts at once (the row stays while it is current).
    cat = win.store.categories()[0].id
    win.store.add_annotation(Annotation(None, extra[1], cat, bbox=(1, 1, 5, 5)))
    qtbot.waitUntil(lambda: "1 unlabelled" in win.file_list.counts.text(), timeout=3000)
    assert extra[1] in win.file_list.model.visible_ids()


def test_status_bar_shows_cursor_and_zoom(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    widget, pos = image_point(win.canvas, 100, 60)
    qtbot.mouseMove(widget, pos)
    qtbot.waitUntil(lambda: win.labelling.cursor_label.text() != "", timeout=3000)
    x, y = (float(v.strip().split()[1]) for v in win.labelling.cursor_label.text().split(","))
    assert abs(x - 100) <= 2 and abs(y - 60) <= 2
    press(qtbot, win, Qt.Key_0, Qt.ControlModifier)  # 1:1
    qtbot.waitUntil(lambda: win.labelling.zoom_label.text() == "100%", timeout=3000)
    assert abs(win.canvas.zoom() - 1.0) < 1e-6
    press(qtbot, win, Qt.Key_F)
    qtbot.waitUntil(lambda: win.labelling.zoom_label.text() != "100%", timeout=3000)


def test_the_next_images_shapes_are_read_ahead_and_d_shows_them_as_the_store_holds_them(qtbot, make_window,
                                                                                         demo_project):
    from dataclasses import replace
    win = make_window(demo_project)
    ids = win.store.image_ids()
    prefetch = win.canvas._prefetch
    qtbot.waitUntil(lambda: ids[1] in prefetch._entries, timeout=5000)  # asked with the pixels of D's target
    first = win.store.annotations(image_id=ids[1])[0]
    win.store.update_annotation(replace(first, bbox=(5.0, 5.0, 20.0, 20.0), polygons=None, kind="box"))
    qtbot.waitUntil(lambda: ids[1] not in prefetch._entries, timeout=5000)  # the change dropped the read
    press(qtbot, win, Qt.Key_D)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids[1], timeout=5000)
    assert win.canvas.annotations() == win.store.annotations(image_id=ids[1])
    qtbot.waitUntil(lambda: ids[2] in prefetch._entries, timeout=5000)  # and the one after it
    press(qtbot, win, Qt.Key_D)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids[2], timeout=5000)
    assert ids[2] not in prefetch._entries  # taken by the switch
    assert win.canvas.annotations() == win.store.annotations(image_id=ids[2])


def test_a_row_the_pointer_rests_on_is_read_ahead_and_its_click_opens_it_from_memory(qtbot, make_window,
                                                                                   demo_project, monkeypatch):
    import gui.canvas.image_switch as image_switch
    win = make_window(demo_project)
    view, prefetch = win.file_list.view, win.canvas._prefetch
    row = 6  # not a neighbour of the image shown (row 0): nothing has read it yet
    target = win.file_list.model.image_id(row)
    assert target not in prefetch._entries and target not in prefetch._pending
    read_now = []
    real_read = image_switch.read_shapes
    monkeypatch.setattr(image_switch, "read_shapes", lambda store, i: (read_now.append(i), real_read(store, i))[1])
    center = view.visualRect(win.file_list.model.index(row, 0)).center()

    # Passing over the row (leaving the list at once) reads nothing.
    with qtbot.assertNotEmitted(win.file_list.hovered, wait=200):
        qtbot.mouseMove(view.viewport(), center)
        QApplication.sendEvent(view.viewport(), QEvent(QEvent.Leave))
    # Resting on it announces it, and its shapes are read on the worker.
    with qtbot.waitSignal(win.file_list.hovered, timeout=2000) as hovered:
        qtbot.mouseMove(view.viewport(), center + QPoint(0, 1))
    assert hovered.args == [target]
    qtbot.waitUntil(lambda: target in prefetch._entries, timeout=5000)

    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=center)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == target, timeout=5000)
    assert read_now == []  # the switch used what was read ahead
    assert sorted(win.canvas.annotations(), key=lambda a: a.id) == win.store.annotations(image_id=target)
