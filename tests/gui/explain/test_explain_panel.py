"""The Explain dock on a real canvas and a real model: the map of the selected prediction is painted
under the shapes, follows the opacity slider, and comes with its AUCs and sanity check; two methods
side by side; a slow method's cost first, and Cancel leaves nothing half-shown; a bad layer is one
message; the feature-map grid and the filter view."""
from __future__ import annotations

import numpy as np
from conftest import IMAGE_H, IMAGE_W, LABEL_BOX, PRED_BOX, grab_rgb
from PySide6.QtCore import QPointF, Qt

from gui.canvas.heatmap_layer import jet
from gui.explain.layer_views import FLAT


def viewport_xy(canvas, x: float, y: float) -> tuple[int, int]:
    p = canvas.view.mapFromScene(QPointF(x, y))
    return p.x(), p.y()


def free_points(heat: np.ndarray) -> list[tuple[int, int]]:
    """Image pixels away from both boxes (their fill, outline, handles and captions) where the map is
    locally flat, so the painted colour can be compared with one value of the map."""
    pts = []
    for y in range(2, IMAGE_H - 2, 3):
        for x in range(2, IMAGE_W - 2, 3):
            if any(bx - 6 <= x <= bx + bw + 6 and by - 22 <= y <= by + bh + 6
                   for bx, by, bw, bh in (PRED_BOX, LABEL_BOX)):
                continue
            patch = heat[y - 1:y + 2, x - 1:x + 2]
            if patch.max() - patch.min() < 0.04:
                pts.append((x, y))
    return pts


def colours_at(rgb, canvas, pts):
    out = []
    for x, y in pts:
        vx, vy = viewport_xy(canvas, x + 0.5, y + 0.5)
        out.append(rgb[vy, vx].astype(int))
    return np.array(out)


def explain_and_wait(qtbot, panel, slot=0, timeout=120000):
    with qtbot.waitSignal(panel.explained, timeout=timeout) as got:
        qtbot.mouseClick(panel.explain_buttons[slot], Qt.LeftButton)
    return got.args[1]


def select_prediction(qtbot, canvas, pred_id):
    x, y, w, h = PRED_BOX
    vx, vy = viewport_xy(canvas, x + w / 2, y + h / 2)
    from PySide6.QtCore import QPoint
    qtbot.mouseClick(canvas.view.viewport(), Qt.LeftButton, pos=QPoint(vx, vy))
    qtbot.waitUntil(lambda: canvas.session.selection == [pred_id], timeout=3000)


def test_explaining_the_selected_prediction_paints_the_map_under_the_shapes(qtbot, explain_dock, project):
    panel, canvas, layer = explain_dock
    store, image_id, pred_id, _ = project
    select_prediction(qtbot, canvas, pred_id)
    assert panel.select_method("gradcam") and panel.tree.layer() == "head.classification_head.conv"
    before = grab_rgb(canvas.view.viewport())

    o = explain_and_wait(qtbot, panel)
    assert o.request.target.annotation_id == pred_id and o.request.target.kind == "prediction"
    assert o.heatmap.shape == (IMAGE_H, IMAGE_W) and o.heatmap.max() == 1.0
    assert layer.has_map and layer.image_id == image_id
    qtbot.wait(50)
    after = grab_rgb(canvas.view.viewport())

    pts = free_points(o.heatmap)
    assert len(pts) > 100
    heat = np.array([o.heatmap[y, x] for x, y in pts])
    colour = jet(heat[None])[0].astype(int)
    base = colours_at(before, canvas, pts)
    shown = colours_at(after, canvas, pts)
    expected = 0.5 * base + 0.5 * colour  # the slider starts at 50%
    assert np.abs(shown - expected).max() <= 12, np.abs(shown - expected).max()
    assert np.abs(shown - base).max() > 40  # the map is visible

    # The selected prediction's outline (a white line over a dark halo) is drawn over the map, unchanged.
    x, y, w, h = PRED_BOX
    vx0, vy = viewport_xy(canvas, x + w * 0.3, y)
    vx1, _ = viewport_xy(canvas, x + w * 0.45, y)
    strip_before, strip_after = before[vy - 4:vy + 5, vx0:vx1], after[vy - 4:vy + 5, vx0:vx1]
    white = np.all(strip_before >= 235, axis=-1)
    assert white.sum() >= (vx1 - vx0)  # at least one line of white pixels
    assert np.all(strip_after[white] >= 235)
    assert canvas.hit(QPointF(x + w / 2, y + h / 2)).ann_id == pred_id  # still selectable under the map

    panel.opacity_slider.setValue(100)
    qtbot.wait(50)
    full = colours_at(grab_rgb(canvas.view.viewport()), canvas, pts)
    assert np.abs(full - colour).max() <= 12
    panel.opacity_slider.setValue(0)
    qtbot.wait(50)
    assert np.abs(colours_at(grab_rgb(canvas.view.viewport()), canvas, pts) - base).max() <= 3

    card = panel.cards[0]
    assert "gradcam" in card.header.text() and "Deletion AUC" in card.auc_label.text()
    assert f"{o.deletion_auc:.3f}" in card.auc_label.text() and f"{o.insertion_auc:.3f}" in card.auc_label.text()
    assert o.sanity is not None and f"{o.sanity:.2f}" in card.sanity_label.text()
    assert not card.picture.pixmap().isNull()

    # A second method beside the first.
    assert panel.select_method("saliency")
    o2 = explain_and_wait(qtbot, panel, slot=1)
    assert o2.request.method == "saliency" and o2.layer is None
    assert "saliency" in panel.cards[1].header.text() and "gradcam" in panel.cards[0].header.text()
    assert f"{o2.deletion_auc:.3f}" in panel.cards[1].auc_label.text()
    assert "Sanity check: rank correlation" in panel.cards[1].sanity_label.text()
    assert not np.array_equal(o2.heatmap, o.heatmap)

    # Back to map A on the canvas; another image hides it.
    qtbot.mouseClick(panel.cards[0].show_button, Qt.LeftButton)
    assert layer.has_map
    canvas.session.set_image(None)
    assert not layer.has_map


def test_a_slow_method_shows_its_cost_first_and_cancel_leaves_nothing(qtbot, explain_dock, project):
    panel, canvas, layer = explain_dock
    _, _, pred_id, _ = project
    canvas.session.select([pred_id])
    assert panel.select_method("occlusion")
    panel.quick_start_s = 0  # however quick this machine runs it
    runner = panel.runner
    with qtbot.waitSignal(runner.ended, timeout=60000):
        qtbot.mouseClick(panel.explain_buttons[0], Qt.LeftButton)
    assert panel.explain_buttons[0].text().startswith("Start (about ")
    assert "Occlusion sensitivity with its AUC curves and the sanity check: " in panel.status.text()  # all Start runs
    assert "forward passes" in panel.status.text() and "Press Start" in panel.status.text()
    assert panel.cards[0].outcome is None and not layer.has_map  # nothing has run yet
    panel.resize(1100, 300)  # a dock under the canvas of a 1280x800 window: the column scrolls, nothing cut off
    qtbot.wait(50)
    panel._controls.ensureWidgetVisible(panel.status)
    qtbot.wait(50)
    status = panel.status
    assert status.height() >= status.heightForWidth(status.width())
    assert status.visibleRegion().boundingRect().height() == status.height()
    panel.resize(1100, 340)

    progressed = []
    runner.progress.connect(lambda d, t: progressed.append(d))
    qtbot.mouseClick(panel.explain_buttons[0], Qt.LeftButton)
    assert panel.cancel_button.isEnabled() and panel.progress_bar.isVisible()
    qtbot.waitUntil(lambda: len(progressed) >= 2, timeout=60000)
    with qtbot.waitSignal(panel.bridge.task_cancelled, timeout=30000):
        qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    qtbot.wait(100)
    assert panel.status.text() == "Cancelled." and not panel.progress_bar.isVisible()
    assert panel.cards[0].outcome is None and not layer.has_map
    assert not panel.cancel_button.isEnabled()


def test_a_layer_without_maps_gives_one_clear_message(qtbot, explain_dock, project):
    panel, canvas, layer = explain_dock
    _, _, pred_id, _ = project
    canvas.session.select([pred_id])
    assert panel.select_method("gradcam") and panel.tree.select_layer("transform")
    with qtbot.waitSignal(panel.runner.ended, timeout=60000) as ended:
        qtbot.mouseClick(panel.explain_buttons[0], Qt.LeftButton)
    message, failed = ended.args
    assert failed and "'transform'" in message and "\n" not in message, message
    assert panel.status.text() == message
    assert panel.cards[0].outcome is None and not layer.has_map


def test_no_selection_says_what_to_do_and_a_tall_dock_stacks_the_columns(qtbot, explain_dock):
    panel, canvas, _ = explain_dock
    canvas.session.select([])
    assert panel.explain(0) is None
    assert "Select a prediction or a label" in panel.status.text()
    assert panel.columns.orientation() == Qt.Horizontal  # under the canvas: wide
    panel.resize(420, 900)  # the dock moved beside the canvas
    qtbot.waitUntil(lambda: panel.columns.orientation() == Qt.Vertical, timeout=2000)
    panel.resize(1100, 340)
    qtbot.waitUntil(lambda: panel.columns.orientation() == Qt.Horizontal, timeout=2000)


def test_feature_grid_shows_k_tiles_with_the_layer_statistics(qtbot, explain_dock):
    panel, _, _ = explain_dock
    panel.tabs.setCurrentWidget(panel.feature_view)
    first_conv = next(name for name, kind in panel.outline.layers if kind == "Conv2d")
    assert panel.tree.select_layer(first_conv)
    view = panel.feature_view
    view.k_spin.setValue(6)
    with qtbot.waitSignal(panel.runner.ended, timeout=60000):
        qtbot.mouseClick(view.show_button, Qt.LeftButton)
    o = view.outcome
    assert o is not None and len(o.channels) == 6 and len(set(o.channels)) == 6
    th, tw = o.tile_size
    assert o.columns == 3 and o.grid.shape == (2 * th + 2, 3 * tw + 4)  # 2 rows x 3 tiles, 2-px gaps
    means = o.tile_means
    assert means == sorted(means, reverse=True)
    tiles = [o.grid[r * (th + 2):r * (th + 2) + th, c * (tw + 2):c * (tw + 2) + tw]
             for r in range(2) for c in range(3)]
    assert all(t.max() == 1.0 for t in tiles)  # six tiles, each normalised alone
    text = view.stats_label.text()
    assert f"{o.stats['channels']} channels of {th} x {tw}" in text and "sparsity" in text
    assert not view.picture.pixmap().isNull()

    panel.tabs.setCurrentWidget(panel.filter_view)
    fv = panel.filter_view
    fv.steps_spin.setValue(3)
    fv.size_spin.setValue(48)
    fv.channel_spin.setValue(2)
    with qtbot.waitSignal(panel.runner.ended, timeout=60000):
        qtbot.mouseClick(fv.run_button, Qt.LeftButton)
    assert fv.image is not None and fv.image.shape == (48, 48, 3) and fv.image.std() > FLAT
    assert f"What most activates channel 2 of {first_conv}" in fv.note.text() and not fv.picture.pixmap().isNull()


def test_a_slow_method_estimated_as_quick_starts_at_once(qtbot, explain_dock, project):
    panel, canvas, layer = explain_dock
    _, _, pred_id, _ = project
    canvas.session.select([pred_id])
    assert panel.select_method("occlusion")
    panel.quick_start_s = 1e9  # every estimate is "quick"
    with qtbot.waitSignal(panel.explained, timeout=120000):
        qtbot.mouseClick(panel.explain_buttons[0], Qt.LeftButton)  # one press: estimated, then run
    assert panel.cards[0].outcome is not None and layer.has_map
    assert panel.explain_buttons[0].text() == "Explain into A"
