"""What the canvas shows: pixels where shapes are, big tiled images, failures, zoom and pan,
predictions, prefetch, and refreshes when the store changes elsewhere."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from annotations.imageio import write_rgb
from annotations.model import Annotation, ImageRecord
from canvas_helpers import click, drag, grab, vp
from conftest import IMAGE_H, IMAGE_W


def test_a_drawn_box_appears_at_the_right_place(qtbot, project, make_canvas):
    store, ids, (cat, _) = project  # cat is pure red; image 0 is grey 80
    canvas = make_canvas(store, ids[0])
    canvas.set_tool("rectangle")
    drag(qtbot, canvas, (20, 30), (70, 55))
    canvas.select_annotations([])  # no handles over the outline
    px = grab(canvas)
    left, top = vp(canvas, 20, 30).x(), vp(canvas, 20, 30).y()
    right, bottom = vp(canvas, 70, 55).x(), vp(canvas, 70, 55).y()
    mid_y, mid_x = (top + bottom) // 2, (left + right) // 2

    def red(p):
        return p[0] > 200 and p[1] < 60 and p[2] < 60
    assert any(red(px[mid_y, x]) for x in (left - 1, left, left + 1)), "left edge"
    assert any(red(px[mid_y, x]) for x in (right - 1, right, right + 1)), "right edge"
    assert any(red(px[y, mid_x]) for y in (top - 1, top, top + 1)), "top edge"
    assert any(red(px[y, mid_x]) for y in (bottom - 1, bottom, bottom + 1)), "bottom edge"
    inside = px[mid_y, mid_x].astype(int)
    assert inside[0] > inside[1] + 30 and inside[1] == inside[2]  # translucent red over grey
    for x, y in ((left - 8, mid_y), (right + 8, mid_y), (mid_x, top - 8), (mid_x, bottom + 8)):
        assert tuple(px[y, x]) == (80, 80, 80)


def test_pixels_are_exact_at_high_zoom(qtbot, tmp_path, make_canvas):
    from annotations.store import Store
    store = Store.open(tmp_path / "p")
    img = np.zeros((40, 40, 3), np.uint8)
    img[10, 10] = 255
    write_rgb(tmp_path / "p" / "dot.png", img)
    image_id = store.add_image(ImageRecord(None, "dot.png", 40, 40))
    canvas = make_canvas(store, image_id)
    canvas.set_zoom(8.0)
    canvas.view.centerOn(10.5, 10.5)
    px = grab(canvas)
    x0, y0 = vp(canvas, 10, 10).x(), vp(canvas, 10, 10).y()
    block = px[y0 - 2:y0 + 10, x0 - 2:x0 + 10, 0]
    expected = np.zeros((12, 12), np.uint8)
    expected[2:10, 2:10] = 255
    assert np.array_equal(block, expected)
    store.close()


def test_an_undecodable_image_shows_a_message_and_the_canvas_goes_on(qtbot, project, make_canvas):
    store, ids, _ = project
    (store.root / "broken.png").write_bytes(b"this is not a png")
    bad = store.add_image(ImageRecord(None, "broken.png", 64, 48))
    canvas = make_canvas(store, ids[0])
    with qtbot.waitSignal(canvas.image_failed, timeout=5000) as sig:
        canvas.show_image(bad)
    assert sig.args[0] == bad
    assert "broken.png" in canvas.notice_text()
    assert not canvas.image_ready
    with qtbot.waitSignal(canvas.image_loaded, timeout=5000):
        canvas.show_image(ids[1])
    assert canvas.notice_text() == "" and canvas.image_ready
    canvas.set_tool("rectangle")
    canvas.set_zoom(4.0)
    canvas.view.centerOn(IMAGE_W / 2, IMAGE_H / 2)
    drag(qtbot, canvas, (10, 10), (30, 30))
    assert len(store.annotations(image_id=ids[1])) == 1


def test_an_image_wider_than_32767_pixels_opens_through_tiles(qtbot, tmp_path, make_canvas):
    from annotations.store import Store
    store = Store.open(tmp_path / "p")
    w, h = 33000, 40
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 2] = 200  # blue
    img[:, 32800:] = (220, 30, 30)  # red beyond Qt's one-image limit
    write_rgb(tmp_path / "p" / "wide.png", img)
    image_id = store.add_image(ImageRecord(None, "wide.png", w, h))
    canvas = make_canvas(store, image_id)
    decoded = canvas._cache.get(image_id)
    assert len(decoded.levels[0].tiles) > 1
    assert all(t.width <= 4096 and t.height <= 4096 for lv in decoded.levels for t in lv.tiles)
    canvas.zoom_1to1()
    canvas.view.centerOn(32900, 20)
    px = grab(canvas)
    c = vp(canvas, 32900, 20)
    assert tuple(px[c.y(), c.x()]) == (220, 30, 30)
    canvas.view.centerOn(32700, 20)
    px = grab(canvas)
    c = vp(canvas, 32700, 20)
    assert tuple(px[c.y(), c.x()]) == (0, 0, 200)
    store.close()


def _wheel(canvas, pos: QPoint, delta: int) -> None:
    ev = QWheelEvent(QPointF(pos), QPointF(canvas.view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, delta),
                     Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(canvas.view.viewport(), ev)


def test_wheel_zooms_to_the_cursor_within_limits_and_middle_drag_pans(qtbot, project, make_canvas):
    store, ids, _ = project
    canvas = make_canvas(store, ids[0])
    at = vp(canvas, 30, 25)
    before = canvas.zoom()
    _wheel(canvas, at, 120)
    assert canvas.zoom() > before * 1.1
    p = canvas.view.mapToScene(at)
    assert (p.x(), p.y()) == pytest.approx((30, 25), abs=0.5)
    for _ in range(60):
        _wheel(canvas, at, 120)
    assert canvas.zoom() == pytest.approx(32.0)
    for _ in range(120):
        _wheel(canvas, at, -120)
    assert canvas.zoom() == pytest.approx(0.01)
    canvas.set_zoom(4.0)
    canvas.view.centerOn(80, 60)
    a = canvas.view.mapToScene(QPoint(300, 300))
    port = canvas.view.viewport()
    start = vp(canvas, 80, 60)  # viewport points fixed up front: the view moves under them
    qtbot.mousePress(port, Qt.MiddleButton, Qt.NoModifier, start)
    for k in (1, 2, 3, 4):
        qtbot.mouseMove(port, start + QPoint(-80 * k // 4, -40 * k // 4))
    qtbot.mouseRelease(port, Qt.MiddleButton, Qt.NoModifier, start + QPoint(-80, -40))
    b = canvas.view.mapToScene(QPoint(300, 300))
    assert (b.x() - a.x(), b.y() - a.y()) == pytest.approx((20, 10), abs=0.5)
    assert store.annotations() == []  # panning draws nothing


def test_predictions_are_dashed_with_score_and_accepted_or_rejected(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    pred = [store.add_annotation(Annotation(None, ids[0], cat, bbox=(10 + 30 * i, 10, 20, 20), score=s,
                                            status="prediction", source="fasterrcnn"))
            for i, s in enumerate((0.9, 0.6, 0.3, 0.2))]
    canvas = make_canvas(store, ids[0])
    item = canvas._items[pred[0]]
    assert item.pen().style() == Qt.DashLine
    assert canvas.captions()[pred[0]][0] == "cat 0.90"
    canvas.accept_predictions([pred[0]])
    assert store.annotation(pred[0]).status == "label" and store.annotation(pred[0]).score == 0.9
    assert canvas._items[pred[0]].pen().style() == Qt.SolidLine
    canvas.reject_predictions([pred[3]])
    assert store.annotation(pred[3]) is None
    canvas.accept_predictions_above(0.5)
    assert [store.annotation(i).status for i in pred[:3]] == ["label", "label", "prediction"]
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert store.annotation(pred[3]).status == "prediction" and store.annotation(pred[1]).status == "prediction"
    canvas.undo_stack.undo()
    assert store.annotation(pred[0]).status == "prediction"


def test_prefetched_images_show_at_once(qtbot, project, make_canvas):
    store, ids, _ = project
    canvas = make_canvas(store, ids[0])
    canvas.prefetch([ids[1], ids[2]])
    qtbot.waitUntil(lambda: canvas._cache.get(ids[1]) is not None and canvas._cache.get(ids[2]) is not None,
                    timeout=5000)
    canvas.show_image(ids[2])
    assert canvas.image_ready and canvas.current_image_id == ids[2]


def test_changes_made_elsewhere_refresh_the_canvas_and_own_echoes_rebuild_nothing(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    box = store.add_annotation(Annotation(None, ids[0], cat, bbox=(10, 10, 20, 20)))
    canvas = make_canvas(store, ids[0])  # its session delivers committed changes on the GUI thread

    def engine_stores_predictions():  # as the engine bridge does, from its own thread
        store.add_annotations([Annotation(None, ids[0], cat, bbox=(60, 60, 10, 10), score=0.7, status="prediction"),
                               Annotation(None, ids[1], cat, bbox=(60, 60, 10, 10), score=0.7, status="prediction")])
    t = threading.Thread(target=engine_stores_predictions)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(canvas.annotations()) == 2, timeout=3000)
    assert canvas.annotations() == store.annotations(image_id=ids[0])
    store.update_annotation(Annotation(box, ids[0], dog, bbox=(10, 10, 20, 20)))  # a relabel from a panel
    qtbot.waitUntil(lambda: canvas._items[box].ann.category_id == dog, timeout=3000)

    rebuilt = []
    real_upsert = canvas._upsert
    canvas._upsert = lambda ann: rebuilt.append(real_upsert(ann)) or rebuilt[-1]
    item = canvas._items[box]
    click(qtbot, canvas, 20, 20)
    from PySide6.QtTest import QTest
    QTest.keyClick(canvas.view, Qt.Key_Right)  # an own edit: applied at once ...
    assert rebuilt == [True]
    qtbot.wait(50)  # ... and its echo from the store is compared and changes nothing
    assert rebuilt[0] is True and not any(rebuilt[1:]) and canvas._items[box] is item
    store.delete_annotations([box])
    qtbot.waitUntil(lambda: box not in canvas._items, timeout=3000)


def test_hidden_and_locked_shapes_cannot_be_picked(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    a = store.add_annotation(Annotation(None, ids[0], cat, bbox=(10, 10, 20, 20)))
    b = store.add_annotation(Annotation(None, ids[0], dog, bbox=(50, 10, 20, 20)))
    canvas = make_canvas(store, ids[0])
    canvas.set_hidden({cat}, set())
    assert not canvas._items[a].isVisible() and canvas._items[b].isVisible()
    click(qtbot, canvas, 20, 20)
    assert canvas.selected_ids() == []
    canvas.set_hidden(set(), set())
    canvas.set_locked({b})
    drag(qtbot, canvas, (60, 20), (80, 40))
    assert store.annotation(b).bbox == (50, 10, 20, 20) and canvas.selected_ids() == []


def test_zoomed_out_outlines_are_drawn_where_the_shape_is(qtbot, tmp_path, make_canvas):
    """Below 50% the layer draws simplified outlines: still within a pixel of the true ones."""
    import math
    from annotations.model import Category
    from annotations.store import Store
    store = Store.open(tmp_path / "p")
    write_rgb(tmp_path / "p" / "big.png", np.full((1500, 2000, 3), 90, np.uint8))
    image_id = store.add_image(ImageRecord(None, "big.png", 2000, 1500))
    cat = store.add_category(Category(None, "thing", color="#ff0000"))
    ring = [v for k in range(120) for v in (1000 + 400 * math.cos(k * math.pi / 60), 750 + 400 * math.sin(k * math.pi / 60))]
    store.add_annotation(Annotation(None, image_id, cat, kind="polygon", polygons=[ring]))
    canvas = make_canvas(store, image_id)
    canvas.fit()
    assert canvas.zoom() < 0.5
    px = grab(canvas)
    for angle in (0, 90, 200, 300):
        x = 1000 + 400 * math.cos(math.radians(angle))
        y = 750 + 400 * math.sin(math.radians(angle))
        c = vp(canvas, x, y)
        near = px[c.y() - 1:c.y() + 2, c.x() - 1:c.x() + 2].reshape(-1, 3)
        assert any(p[0] > 200 and p[1] < 60 for p in near), f"outline at {angle} degrees"
    centre = px[vp(canvas, 1000, 750).y(), vp(canvas, 1000, 750).x()].astype(int)
    assert centre[0] > centre[1] + 20  # filled
    far = px[vp(canvas, 1000, 100).y(), vp(canvas, 1000, 100).x()]
    assert tuple(far) == (90, 90, 90)
    store.close()


def test_decoding_is_off_the_gui_thread_with_shapes_usable_at_once(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    a = store.add_annotation(Annotation(None, ids[1], cat, bbox=(10, 10, 20, 20)))
    canvas = make_canvas(store, ids[0])
    canvas.show_image(ids[1])
    assert not canvas.image_ready  # placeholder: the pixels arrive from a worker thread
    assert [x.id for x in canvas.annotations()] == [a]
    canvas.select_annotations([a])
    canvas.nudge(1, 0)  # the canvas is usable before the pixels are there
    assert store.annotation(a).bbox == (11, 10, 20, 20)
    with qtbot.waitSignal(canvas.image_loaded, timeout=5000) as sig:
        pass
    assert sig.args == [ids[1]] and canvas.image_ready


def test_the_decoded_image_cache_stays_small(qtbot, project, make_canvas):
    store, ids, _ = project
    extra = []
    for i in range(10):
        write_rgb(store.root / f"more{i}.png", np.full((IMAGE_H, IMAGE_W, 3), i, np.uint8))
        extra.append(store.add_image(ImageRecord(None, f"more{i}.png", IMAGE_W, IMAGE_H)))
    canvas = make_canvas(store, ids[0])
    for image_id in extra:
        canvas.show_image(image_id)
        qtbot.waitUntil(lambda: canvas.image_ready, timeout=5000)
    cached = [i for i in [*ids, *extra] if canvas._cache.get(i) is not None]
    assert len(cached) <= canvas._cache.capacity
    assert extra[-1] in cached and ids[0] not in cached  # least recently used went first


def test_show_image_with_highlight_selects_and_reveals(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    a = store.add_annotation(Annotation(None, ids[0], cat, bbox=(140, 100, 10, 10)))
    canvas = make_canvas(store, ids[0])
    canvas.set_zoom(16.0)
    canvas.view.centerOn(10, 10)
    canvas.show_image(ids[0], highlight=[a])
    assert canvas.selected_ids() == [a]
    shown = canvas.view.mapToScene(canvas.view.viewport().rect()).boundingRect()
    assert shown.contains(QPointF(145, 105))


def test_a_decode_from_a_closed_project_never_shows_in_the_next(qtbot, project, make_canvas, tmp_path):
    from annotations.store import Store
    store, ids, _ = project
    canvas = make_canvas(store)
    canvas.prefetch([ids[0]])  # decode under way for project A's image 1 ...
    other = Store.open(tmp_path / "other")
    write_rgb(other.root / "red.png", np.full((IMAGE_H, IMAGE_W, 3), (255, 0, 0), np.uint8))
    rid = other.add_image(ImageRecord(None, "red.png", IMAGE_W, IMAGE_H))
    assert rid == ids[0]  # ... and project B's image has the same id
    canvas.set_store(other)
    canvas.show_image(rid)
    qtbot.waitUntil(lambda: canvas.image_ready, timeout=5000)
    qtbot.wait(100)
    canvas.set_zoom(4.0)
    canvas.view.centerOn(IMAGE_W / 2, IMAGE_H / 2)
    c = vp(canvas, 50, 50)
    assert tuple(grab(canvas)[c.y(), c.x()]) == (255, 0, 0)
    canvas.set_store(None)
    other.close()


def test_shapes_added_or_moved_elsewhere_are_repainted(qtbot, project, make_canvas):
    store, ids, (cat, _) = project  # cat is red over grey 80
    canvas = make_canvas(store, ids[0])
    grab(canvas)  # the layer cache is built now; later changes must invalidate it
    a = store.add_annotation(Annotation(None, ids[0], cat, bbox=(20, 20, 30, 30)))
    qtbot.waitUntil(lambda: a in canvas._items, timeout=3000)  # the session delivers the change
    c = vp(canvas, 35, 35)
    assert grab(canvas)[c.y(), c.x()][0] > 100
    store.update_annotation(Annotation(a, ids[0], cat, bbox=(100, 60, 30, 30)))
    qtbot.waitUntil(lambda: canvas._items[a].ann.bbox[0] == 100, timeout=3000)
    px = grab(canvas)
    assert tuple(px[c.y(), c.x()]) == (80, 80, 80)
    c2 = vp(canvas, 115, 75)
    assert px[c2.y(), c2.x()][0] > 100
