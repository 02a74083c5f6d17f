"""Switching images reshapes the previous image's shape items for the next one: what is painted
must be exactly the new image's shapes (none of the old ones left, none missing), and a shape that
was selected, hidden or dragged on the old image leaves no trace on the new one."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from annotations.model import Annotation

from canvas_helpers import grab, vp
from gui.canvas.items import ShapeItem


def _shape_items(canvas) -> list[ShapeItem]:
    canvas.finish_items()  # a switch makes them after its first frame
    return [it for it in canvas.scene.items() if type(it) is ShapeItem]


def _red(px, canvas, x, y) -> bool:
    p = vp(canvas, x, y)
    r, g, b = px[p.y(), p.x()].astype(int)
    return r > g + 40 and r > b + 40


def test_switching_reuses_items_and_paints_only_the_new_shapes(qtbot, project, make_canvas):
    store, ids, (cat, _) = project
    # image 0: six boxes on the left half; image 1: two polygons on the right half
    old = [store.add_annotation(Annotation(None, ids[0], cat, bbox=(5, 5 + 18 * k, 30, 12))) for k in range(6)]
    tri = [[120.0, 10.0, 150.0, 10.0, 135.0, 40.0]]
    sq = [[110.0, 70.0, 150.0, 70.0, 150.0, 110.0, 110.0, 110.0]]
    new = [store.add_annotation(Annotation(None, ids[1], cat, kind="polygon", polygons=p)) for p in (tri, sq)]
    canvas = make_canvas(store, ids[0])
    before = {id(it) for it in _shape_items(canvas)}
    assert len(before) == 6
    canvas.select_annotations([old[0]])  # live (paints itself), then dragged: both must not carry over
    canvas.offset_items([old[0]], 7, 3)
    canvas.set_item_visible(old[1], False)
    canvas.show_image(ids[1])
    qtbot.waitUntil(lambda: canvas.image_ready, timeout=5000)
    canvas.set_zoom(4.0)
    canvas.view.centerOn(80, 60)
    items = _shape_items(canvas)
    assert len(items) == 2 and {id(it) for it in items} <= before  # reshaped, the other four left the scene
    assert sorted(canvas._items) == new and all(not it.live and it.pos().isNull() for it in items)
    assert canvas.annotations() == store.annotations(image_id=ids[1])
    # an item paints itself (with the category's 2-pixel pen) only while selected; otherwise it
    # holds the 1-pixel pen, so Qt takes its bounds from the outline's points without stroking it
    canvas.select_annotations([new[0]])
    assert canvas._items[new[0]].pen().widthF() == 2 and canvas._items[new[1]].pen().widthF() == 0
    canvas.select_annotations([])
    assert canvas._items[new[0]].pen().widthF() == 0
    qtbot.wait(20)
    px = grab(canvas)
    assert _red(px, canvas, 135, 20) and _red(px, canvas, 130, 90)  # both new shapes filled in red
    assert not _red(px, canvas, 20, 11) and not _red(px, canvas, 20, 47)  # nothing of the old boxes
    assert not _red(px, canvas, 140, 50)  # between the new shapes: the image shows
    # hit-testing follows the new geometry
    assert canvas.hit(QPointF(130, 90)).ann_id == new[1] and canvas.hit(QPointF(20, 11)) is None

    # and back: four new items are made, the two reshaped again
    canvas.show_image(ids[0])
    assert len(_shape_items(canvas)) == 6 and sorted(canvas._items) == old
    assert all(it.isVisible() for it in canvas._items.values())


def test_a_hidden_category_stays_hidden_on_reused_items(qtbot, project, make_canvas):
    store, ids, (cat, dog) = project
    store.add_annotation(Annotation(None, ids[0], cat, bbox=(10, 10, 40, 40)))
    shown = store.add_annotation(Annotation(None, ids[1], cat, bbox=(10, 10, 40, 40)))
    hidden = store.add_annotation(Annotation(None, ids[1], dog, bbox=(90, 60, 40, 40)))
    canvas = make_canvas(store, ids[0])
    canvas.set_hidden({dog}, set())
    canvas.show_image(ids[1])
    assert canvas._items[shown].isVisible() and not canvas._items[hidden].isVisible()
    assert canvas.hit(QPointF(100, 70)) is None
    px_shown = grab(canvas)
    canvas.set_hidden(set(), set())
    qtbot.wait(20)
    p = vp(canvas, 110, 80)
    assert not np.array_equal(px_shown[p.y(), p.x()], grab(canvas)[p.y(), p.x()])  # now drawn


def test_one_outline_is_the_same_path_as_the_batch_builds():
    from PySide6.QtGui import QPainterPath

    from gui.canvas.painting import outline_path, outline_paths
    shapes = [Annotation(1, 1, 1, bbox=(3.5, 4.0, 20.0, 10.0)),
              Annotation(2, 1, 1, kind="polygon", polygons=[[0.0, 0.0, 10.0, 0.0, 5.0, 8.5]]),
              Annotation(3, 1, 1, kind="polygon", polygons=[[0.0, 0.0, 40.0, 0.0, 40.0, 40.0, 0.0, 40.0],
                                                            [50.0, 50.0, 60.0, 50.0, 55.0, 60.0, 50.0, 50.0]],
                         holes=[[10.0, 10.0, 20.0, 10.0, 15.0, 20.0]]),
              Annotation(5, 1, 1, kind="polygon", polygons=[[7.0, 7.0]], bbox=(7.0, 7.0, 0.0, 0.0))]
    batch = outline_paths(shapes)

    def elements(path):  # a line to the point it starts from draws nothing (QPainterPath.lineTo drops it)
        out = []
        for e in (path.elementAt(k) for k in range(path.elementCount())):
            if not (out and e.type == QPainterPath.ElementType.LineToElement and (e.x, e.y) == out[-1][1:]):
                out.append((e.type, e.x, e.y))
        return out
    for ann, path in zip(shapes, batch):
        one = outline_path(ann)
        assert elements(one) == elements(path) and one.fillRule() == path.fillRule(), ann.id
