"""The next and previous images' shapes are read ahead on a worker thread (shapes_prefetch): a switch
to a prefetched image shows exactly what the store holds, also when the store changed that image
after the read was asked for, while it ran, or after it arrived."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPointF

from annotations.model import Annotation, ImageRecord

from canvas_helpers import grab, vp


def _red(px, canvas, x, y) -> bool:
    p = vp(canvas, x, y)
    r, g, b = px[p.y(), p.x()].astype(int)
    return r > g + 40 and r > b + 40


def _prefetch_and_wait(qtbot, canvas, image_ids):
    canvas.prefetch(image_ids)
    qtbot.waitUntil(lambda: not canvas._prefetch._pending, timeout=5000)


def test_a_prefetched_image_shows_the_store_after_later_edits(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    box = store.add_annotation(Annotation(None, ids[1], cat, bbox=(10, 10, 30, 30)))
    canvas = make_canvas(store, ids[0])
    _prefetch_and_wait(qtbot, canvas, [ids[1], ids[2]])
    assert canvas._prefetch._entries.keys() == {ids[1], ids[2]}
    # edited after the read arrived: its entry is dropped when the change is heard
    store.update_annotation(replace(store.annotation(box), bbox=(100, 70, 30, 30)))
    added = store.add_annotation(Annotation(None, ids[1], cat, kind="polygon",
                                            polygons=[[20.0, 80.0, 50.0, 80.0, 35.0, 110.0]]))
    qtbot.waitUntil(lambda: ids[1] not in canvas._prefetch._entries, timeout=5000)
    assert ids[2] in canvas._prefetch._entries  # an image the change did not touch keeps its read
    canvas.show_image(ids[1])
    assert canvas.annotations() == store.annotations(image_id=ids[1])
    assert sorted(canvas._items) == [box, added]
    qtbot.wait(20)
    px = grab(canvas)
    assert _red(px, canvas, 115, 85) and not _red(px, canvas, 25, 25)  # the box where it moved to
    assert _red(px, canvas, 35, 90)  # and the polygon added after the read


def test_an_edit_while_the_read_runs_never_shows_the_older_shapes(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    first = store.add_annotation(Annotation(None, ids[2], cat, bbox=(10, 10, 30, 30)))
    canvas = make_canvas(store, ids[0])
    for k in range(5):  # the edit lands before, during or after the worker's read: all must agree
        canvas.prefetch([ids[2]])
        store.update_annotation(replace(store.annotation(first), bbox=(10 + 10 * k, 10, 30, 30)))
        qtbot.waitUntil(lambda: not canvas._prefetch._pending, timeout=5000)
        qtbot.wait(5)
        canvas.show_image(ids[2])
        assert canvas.annotations() == store.annotations(image_id=ids[2])
        canvas.show_image(ids[0])


def test_closing_the_project_waits_for_the_read_and_forgets_it(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    store.add_annotations(Annotation(None, ids[1], cat, bbox=(k % 100, 5, 20, 20)) for k in range(500))
    canvas = make_canvas(store, ids[0])
    canvas.prefetch([ids[1]])
    canvas.set_store(None)  # joins the worker before the caller may close the store
    assert not canvas._prefetch._entries and canvas._prefetch._store is None
    canvas.set_store(store)
    canvas.show_image(ids[1])
    assert len(canvas.annotations()) == 500


def _green(px, canvas, x, y) -> bool:
    p = vp(canvas, x, y)
    r, g, b = px[p.y(), p.x()].astype(int)
    return g > r + 40 and g > b + 40


def _shapes_of_two_categories(store, image_id, cat, dog):
    store.add_annotations([Annotation(None, image_id, cat, bbox=(10, 10, 60, 50)),
                           Annotation(None, image_id, dog, bbox=(30, 25, 20, 15)),  # inside the box, above it
                           Annotation(None, image_id, dog, kind="polygon",
                                      polygons=[[100.0, 60.0, 150.0, 60.0, 125.0, 110.0]])])


def test_the_first_frame_after_a_prefetched_switch_is_the_raster_drawn_ahead(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    _shapes_of_two_categories(store, ids[1], cat, dog)
    canvas = make_canvas(store, ids[0])
    _prefetch_and_wait(qtbot, canvas, [ids[1]])
    assert canvas._prefetch._entries[ids[1]].raster is not None
    layer = canvas._shapes
    drawn = layer.sharp_frames
    canvas.show_image(ids[1])
    first = grab(canvas)  # the first frame of the new image
    assert layer.sharp_frames == drawn  # a blit of the worker's raster: nothing drawn on the GUI thread
    assert _red(first, canvas, 12, 40) and _green(first, canvas, 30, 32) and _green(first, canvas, 125, 62)
    assert not _red(first, canvas, 5, 5) and not _green(first, canvas, 90, 100)
    layer.invalidate_all()  # the layer draws the same shapes itself: the same pixels
    own = grab(canvas)
    assert layer.sharp_frames == drawn + 1
    assert (own == first).all()


def test_a_raster_drawn_ahead_is_not_shown_once_the_view_or_the_hidden_shapes_differ(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    _shapes_of_two_categories(store, ids[1], cat, dog)
    _shapes_of_two_categories(store, ids[2], cat, dog)
    canvas = make_canvas(store, ids[0])
    layer = canvas._shapes
    _prefetch_and_wait(qtbot, canvas, [ids[1], ids[2]])
    ahead = {i: canvas._prefetch._entries[i].raster for i in ids[1:]}
    canvas.set_hidden({cat}, set())  # after the read: its raster still holds the red box
    canvas.show_image(ids[1])
    px = grab(canvas)
    assert layer._raster is not ahead[ids[1]]  # drawn again for what is shown now
    assert not _red(px, canvas, 12, 40) and _green(px, canvas, 125, 62)
    canvas.set_hidden(set(), set())
    canvas.set_zoom(3.0)  # the raster of ids[2] was drawn at 400%
    canvas.show_image(ids[2])
    px = grab(canvas)
    assert layer._raster is not ahead[ids[2]] and not layer.zoom_settle.active  # sharp at once, not scaled
    assert _red(px, canvas, 12, 40) and _green(px, canvas, 125, 62)


def test_a_selection_made_before_the_first_frame_is_drawn_over_the_raster_drawn_ahead(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    _shapes_of_two_categories(store, ids[1], cat, dog)
    inner = store.annotations(image_id=ids[1])[1].id
    canvas = make_canvas(store, ids[0])
    layer = canvas._shapes
    _prefetch_and_wait(qtbot, canvas, [ids[1]])
    drawn = layer.sharp_frames
    canvas.show_image(ids[1], highlight=[inner])  # selected before the first frame: drawn by its item
    assert canvas.selected_ids() == [inner] and canvas.hit(QPointF(40, 30)).ann_id == inner  # usable at once
    first = grab(canvas)
    assert layer.sharp_frames == drawn  # the raster drawn ahead, the selected shape's area drawn over it
    assert _red(first, canvas, 10, 40) and _green(first, canvas, 125, 62)
    box = store.annotations(image_id=ids[1])[0].id
    text, rect = canvas.captions()[box]  # its caption is in the first frame too: white text on its tag
    tag = first[int(rect.top()):int(rect.bottom()), int(rect.left()):int(rect.right())]
    assert text == "cat" and (tag.min(axis=2) > 200).sum() > 10
    layer.invalidate_all()
    assert (grab(canvas) == first).all() and layer.sharp_frames == drawn + 1  # what the layer draws itself
    canvas.session.select([])
    qtbot.wait(10)
    assert _green(grab(canvas), canvas, 30, 32)  # unselected: back in the layer's raster


def test_asking_again_for_another_view_draws_the_raster_again(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    _shapes_of_two_categories(store, ids[1], cat, dog)
    canvas = make_canvas(store, ids[0])
    _prefetch_and_wait(qtbot, canvas, [ids[1]])
    held = canvas._prefetch._entries[ids[1]]
    _prefetch_and_wait(qtbot, canvas, [ids[1]])  # the same view: the entry is kept
    assert canvas._prefetch._entries[ids[1]] is held and held.spec.scale == 4.0
    canvas.set_zoom(3.0)
    _prefetch_and_wait(qtbot, canvas, [ids[1]])
    again = canvas._prefetch._entries[ids[1]]
    assert again is not held and again.spec.scale == 3.0 and again.raster is not None
    drawn = canvas._shapes.sharp_frames
    canvas.show_image(ids[1])
    assert _red(grab(canvas), canvas, 10, 40) and canvas._shapes.sharp_frames == drawn  # its raster, adopted


def test_a_switch_holds_the_worker_until_its_first_frame(qtbot, project, make_canvas, monkeypatch):
    import threading
    import time
    from gui.canvas import shapes_prefetch
    store, ids, (cat, _) = project
    store.add_annotations(Annotation(None, ids[2], cat, bbox=(float(k), 10, 5, 5)) for k in range(600))
    canvas = make_canvas(store, ids[0])
    prefetch = canvas._prefetch
    outlined = []
    real = shapes_prefetch.outline_paths_by_id
    def spy(anns):  # the worker's batches (the switch's own read on the GUI thread is not counted)
        if threading.current_thread() is not threading.main_thread():
            outlined.append(len(anns))
        return real(anns)
    monkeypatch.setattr(shapes_prefetch, "outline_paths_by_id", spy)
    canvas.show_image(ids[1])  # a switch: the worker is held until the view draws a frame
    assert not prefetch._free.is_set()
    prefetch.request([ids[2]])
    time.sleep(shapes_prefetch.HOLD_S / 3)  # no events processed: no frame is drawn meanwhile
    assert outlined == []  # the read waits at its first pause
    canvas.view.viewport().repaint()  # the first frame lets it go on
    assert prefetch._free.is_set()
    qtbot.waitUntil(lambda: ids[2] in prefetch._entries, timeout=5000)
    assert prefetch._entries[ids[2]].annotations == store.annotations(image_id=ids[2])
    chunk = shapes_prefetch.CHUNK
    assert outlined == [chunk] * (600 // chunk) + [600 % chunk]  # in chunks, a pause before each

    # With no frame drawn (a hidden canvas), the hold ends by itself after HOLD_S.
    canvas.hide()
    canvas.show_image(ids[0])
    assert not prefetch._free.is_set()
    qtbot.waitUntil(lambda: prefetch._free.is_set(), timeout=int(shapes_prefetch.HOLD_S * 1000) + 1000)
    prefetch.hold()
    canvas.set_store(None)  # closing while held: stop() lets the worker go, nothing hangs
    assert prefetch._free.is_set() and not prefetch._pending


def test_a_read_asked_first_overtakes_the_reads_asked_before_and_they_still_arrive(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    src = store.image_path(store.image(ids[0]))
    extra = []
    for k in range(3):
        (src.parent / f"more{k}.png").write_bytes(src.read_bytes())
        extra.append(store.add_image(ImageRecord(None, f"more{k}.png", 160, 120)))
    for image_id in extra:
        store.add_annotations(Annotation(None, image_id, cat, bbox=(float(k), 10, 5, 5)) for k in range(300))
    canvas = make_canvas(store, ids[0])
    prefetch = canvas._prefetch
    arrived = []
    prefetch._relay.done.connect(lambda image_id, _gen, shapes: shapes is not None and arrived.append(image_id))
    prefetch.hold()  # nothing moves until release: the first read waits at its first pause
    prefetch.request(extra[:2])
    prefetch.request([extra[2]], first=True)
    assert all(prefetch._pending[i].set_aside for i in extra[:2]) and not prefetch._pending[extra[2]].set_aside
    prefetch.release()
    # (the test's slot gets each result in an event of its own, which may come after the prefetch's)
    qtbot.waitUntil(lambda: all(i in prefetch._entries for i in extra) and len(arrived) >= len(extra), timeout=5000)
    assert arrived[0] == extra[2] and sorted(arrived) == sorted(extra)  # each read once to the end
    for i in extra:
        assert prefetch._entries[i].annotations == store.annotations(image_id=i)


def test_asking_first_for_an_image_already_queued_sets_aside_the_others(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    canvas = make_canvas(store, ids[0])
    prefetch = canvas._prefetch
    prefetch.hold()
    prefetch.request([ids[1], ids[2]])  # ids[1] runs (held at its first pause), ids[2] is queued behind it
    prefetch.request([ids[2]], first=True)
    assert prefetch._pending[ids[1]].set_aside and not prefetch._pending[ids[2]].set_aside
    prefetch.release()
    qtbot.waitUntil(lambda: {ids[1], ids[2]} <= prefetch._entries.keys(), timeout=5000)
