"""Labelling as labelme and CVAT users expect: number keys relabel the selection, a double-click or
Enter opens the label dialog with completion, the image refits when the canvas is resized in fit
mode, a bottom dock leaves the canvas most of the window."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gui.label_dialog import LabelDialog

from pixels import drawn_whole
from window_helpers import canvas_view, image_point, image_with_shapes, press


def test_number_keys_relabel_the_selection_and_pick_the_new_category_without_one(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win)
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid, timeout=3000)
    cats = win.store.categories()
    ann = win.store.annotations(image_id=iid)[0]
    target = next(i for i, c in enumerate(cats) if c.id != ann.category_id)
    win.canvas.select_annotations([ann.id])
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, getattr(Qt, f"Key_{target + 1}"))
    qtbot.waitUntil(lambda: win.store.annotation(ann.id).category_id == cats[target].id, timeout=3000)
    qtbot.waitUntil(lambda: win.annotation_list.relabel_box.currentData() == cats[target].id, timeout=3000)
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)  # one undoable step
    qtbot.waitUntil(lambda: win.store.annotation(ann.id).category_id == ann.category_id, timeout=3000)
    # With nothing selected the key picks the category of new shapes and changes no shape.
    press(qtbot, win, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not win.session.selection, timeout=3000)
    press(qtbot, win, getattr(Qt, f"Key_{target + 1}"))
    assert win.session.current_category == cats[target].id
    assert win.store.annotation(ann.id).category_id == ann.category_id


def test_double_click_opens_the_label_dialog_and_a_typed_name_relabels(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win)
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid and win.canvas.image_ready, timeout=3000)
    press(qtbot, win, Qt.Key_V)
    hit = None
    for ann in win.store.annotations(image_id=iid):
        x, y, w, h = ann.bbox
        widget, pos = image_point(win.canvas, x + w / 2, y + h / 2)
        hit = win.canvas.hit(win.canvas.view.mapToScene(pos))
        if hit is not None:
            break
    assert hit is not None
    qtbot.mouseDClick(widget, Qt.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: any(isinstance(w, LabelDialog) and w.isVisible() for w in QApplication.topLevelWidgets()),
                    timeout=3000)
    dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, LabelDialog) and w.isVisible())
    current = win.store.category(win.store.annotation(hit.ann_id).category_id).name
    assert dlg.edit.text() == current
    other = next(c for c in win.store.categories() if c.name != current)
    dlg.edit.setText(other.name.upper())  # matched without regard to case
    assert dlg.hint.text() == ""
    qtbot.keyClick(dlg.edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: win.store.annotation(hit.ann_id).category_id == other.id, timeout=3000)
    assert len(win.store.categories()) == 4  # no category was added


def test_enter_opens_the_dialog_and_a_new_name_becomes_a_category(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    iid = image_with_shapes(win)
    win.show_image(iid)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == iid, timeout=3000)
    ann = win.store.annotations(image_id=iid)[0]
    win.canvas.select_annotations([ann.id])
    canvas_view(win.canvas).setFocus()
    press(qtbot, win, Qt.Key_Return)
    qtbot.waitUntil(lambda: any(isinstance(w, LabelDialog) and w.isVisible() for w in QApplication.topLevelWidgets()),
                    timeout=3000)
    dlg = next(w for w in QApplication.topLevelWidgets() if isinstance(w, LabelDialog) and w.isVisible())
    dlg.edit.setText("hexagon")
    assert "new category" in dlg.hint.text()
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: win.store.category_by_name("hexagon") is not None, timeout=3000)
    assert win.store.annotation(ann.id).category_id == win.store.category_by_name("hexagon").id


def test_the_image_refits_when_the_canvas_resizes_in_fit_mode_and_a_bottom_dock_leaves_room(
        qtbot, make_window, demo_project):
    win = make_window(demo_project)
    canvas = win.canvas
    assert canvas.fit_mode
    before = canvas.zoom()
    win.show_panel("training")
    dock = win._docks["training"]
    qtbot.waitUntil(lambda: dock.isVisible(), timeout=3000)
    qtbot.wait(100)
    assert canvas.height() >= 0.45 * win.height(), (canvas.height(), win.height())
    img = canvas.image
    shown = canvas.view.mapFromScene(0, 0), canvas.view.mapFromScene(img.width, img.height)
    vp = canvas.view.viewport().rect()
    assert shown[1].y() - shown[0].y() <= vp.height() + 1 and shown[1].x() - shown[0].x() <= vp.width() + 1
    fitted = min(vp.width() / img.width, vp.height() / img.height)
    assert abs(canvas.zoom() - fitted) < 1e-3, (canvas.zoom(), fitted, before)  # refitted to the new size
    # Zoomed by the user, the view stays where it is on a resize.
    canvas.set_zoom(3.0)
    assert not canvas.fit_mode
    dock.hide()
    qtbot.wait(50)
    assert abs(canvas.zoom() - 3.0) < 1e-6


def test_opening_the_evaluation_dock_leaves_the_canvas_room(qtbot, make_window, demo_project):
    win = make_window(demo_project)
    act = next(a for a in win.menu("&Model").actions() if a.text().startswith("Evaluate"))
    act.trigger()
    dock = win._docks["evaluation"]
    qtbot.waitUntil(lambda: dock.isVisible(), timeout=3000)
    qtbot.wait(100)
    assert win.canvas.height() >= 0.6 * win.height(), (win.canvas.height(), win.height())
    assert win.canvas.fit_mode  # and the image refitted to it


def test_a_bottom_dock_opened_beside_another_takes_the_whole_width(qtbot, make_window, demo_project):
    """Explain opened while Training is open becomes a tab beside it (side by side, each got half the
    width and Explain's layer list was cut); opened under the film strip, it takes a row of its own."""
    win = make_window(demo_project)
    docks = win._docks
    win.show_panel("training")
    qtbot.waitUntil(lambda: docks["training"].isVisible(), timeout=3000)
    win.show_panel("explain")
    qtbot.waitUntil(lambda: docks["explain"].isVisible(), timeout=3000)
    qtbot.wait(100)
    assert docks["training"] in win.tabifiedDockWidgets(docks["explain"])
    assert docks["explain"].width() >= 0.9 * win.width() and not docks["explain"].visibleRegion().isEmpty()
    docks["explain"].hide()
    docks["training"].hide()
    docks["film_strip"].toggleViewAction().trigger()
    qtbot.waitUntil(lambda: docks["film_strip"].isVisible(), timeout=3000)
    win.show_panel("live_view")
    qtbot.waitUntil(lambda: docks["live_view"].isVisible(), timeout=3000)
    qtbot.wait(100)
    strip, live = docks["film_strip"].geometry(), docks["live_view"].geometry()
    assert live.width() >= 0.9 * win.width() and strip.width() >= 0.9 * win.width()
    assert not strip.intersects(live) and docks["film_strip"].isVisible()
    # The same from the View menu's toggles: Training beside Live view, the strip shown last.
    docks["film_strip"].toggleViewAction().trigger()
    qtbot.waitUntil(lambda: not docks["film_strip"].isVisible(), timeout=3000)
    docks["training"].toggleViewAction().trigger()
    qtbot.waitUntil(lambda: docks["training"].isVisible(), timeout=3000)
    assert docks["live_view"] in win.tabifiedDockWidgets(docks["training"])
    docks["film_strip"].toggleViewAction().trigger()
    qtbot.waitUntil(lambda: docks["film_strip"].isVisible(), timeout=3000)
    qtbot.wait(100)
    assert docks["film_strip"] not in win.tabifiedDockWidgets(docks["training"])
    strip, training = docks["film_strip"].geometry(), docks["training"].geometry()
    assert training.width() >= 0.9 * win.width() and strip.width() >= 0.9 * win.width()
    assert not strip.intersects(training) and not docks["training"].visibleRegion().isEmpty()
    assert win.canvas.height() >= 0.45 * win.height()  # the bottom docks together leave the canvas its share


def test_bottom_docks_the_view_menu_shows_are_sized_as_show_panel_sizes_them(qtbot, make_window, demo_project):
    """Shown from the View menu, Training got a strip of about 90 px and Explain, tabbed beside it, the same."""
    win = make_window(demo_project)
    docks = win._docks
    for key in ("training", "explain"):
        docks[key].toggleViewAction().trigger()
        qtbot.waitUntil(lambda: docks[key].isVisible(), timeout=3000)
        qtbot.wait(100)
        assert docks[key].height() >= 0.35 * win.height() and win.canvas.height() >= 0.45 * win.height()
    assert docks["training"] in win.tabifiedDockWidgets(docks["explain"])


def _bottom_docks_shown(qtbot, make_window, demo_project, height: int, keys: tuple[str, ...]):
    win = make_window(demo_project)
    win.resize(1240, height)
    qtbot.wait(100)
    for key in keys:
        win.show_panel(key)
        qtbot.waitUntil(lambda: win._docks[key].isVisible(), timeout=3000)
        qtbot.wait(100)
    return win


@pytest.mark.parametrize("height", [640, 700])
def test_a_bottom_dock_gets_the_few_pixels_its_form_needs_rather_than_a_scroll_bar(qtbot, make_window, demo_project,
                                                                                   height):
    """Explain, a tab beside Live view, lost the tab bar's height and scrolled its form at 1280x800 in a
    real window; it now takes what its form needs, the bottom docks staying within half the window."""
    from PySide6.QtWidgets import QPushButton

    from gui import dock_placement
    win = _bottom_docks_shown(qtbot, make_window, demo_project, height, ("live_view", "explain"))
    docks = win._docks
    assert docks["live_view"] in win.tabifiedDockWidgets(docks["explain"])
    scroll = docks["explain"].widget()
    assert scroll.viewport().height() >= scroll.widget().minimumSizeHint().height()
    assert not scroll.verticalScrollBar().isVisible()
    panel = scroll.widget()
    lowest = max((b for b in panel.findChildren(QPushButton) if b.isVisible()),  # the form's last row
                 key=lambda b: b.mapTo(panel, b.rect().bottomLeft()).y())
    assert drawn_whole(win, lowest)
    assert win.height() - docks["explain"].geometry().top() <= dock_placement.BOTTOM_MOST * win.height() + 40
    assert win.canvas.height() >= 0.38 * win.height()


def test_the_film_strip_keeps_its_whole_height_below_two_tabbed_bottom_docks(qtbot, make_window, demo_project):
    """At 1280x800 the strip was squeezed a few pixels under Live view and Explain and scrolled its
    thumbnails up and down; its height is now fixed, the rows above give way."""
    win = _bottom_docks_shown(qtbot, make_window, demo_project, 700, ("live_view", "explain", "film_strip"))
    scroll = win._docks["film_strip"].widget()
    assert scroll.viewport().height() >= win.film_strip.height()
    assert not scroll.verticalScrollBar().isVisible()
    assert drawn_whole(win, win.film_strip)
    assert win.canvas.height() >= 0.38 * win.height()
