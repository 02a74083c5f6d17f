"""The Explain feature in the real window: the evaluation view's error browser explains the object of
a row (why this FP: its prediction; why this FN: its label), and the live view's EigenCAM toggle
overlays the map on the frames it predicts."""
from __future__ import annotations

import cv2
import numpy as np
from conftest import IMAGE_H, IMAGE_W, LABEL_BOX, MODEL, PRED_BOX, build_project, scene_image
from PySide6.QtCore import Qt


def make_project(root):
    store, image_id, pred_id, label_id = build_project(root)
    store.close()
    return image_id, pred_id, label_id


def test_the_error_browser_explains_the_fp_prediction_and_the_fn_label(qtbot, tmp_path, settings_dir):
    from gui.main_window import MainWindow
    image_id, pred_id, label_id = make_project(tmp_path / "project")
    win = MainWindow()
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.session.project_opened, timeout=10000):
        win.open_path(tmp_path / "project")
    bridge = win.services.get("engine")
    explain = win.features["explain"]
    with qtbot.waitSignal(bridge.model_loaded, timeout=120000):
        bridge.load_model(MODEL, "random", "cpu", score_threshold=0.0)
    qtbot.waitUntil(lambda: explain.outline is not None, timeout=30000)
    assert explain.select_method("saliency")
    explain.sanity_check.setChecked(False)
    explain.auc_steps = 4

    evaluation = win.features["evaluation"]
    win.show_panel("evaluation")
    with qtbot.waitSignal(evaluation.evaluated, timeout=60000):
        evaluation.start_evaluation()
    action = next(a for a in evaluation.errors_view.actions() if a.objectName() == "explain_object")
    assert evaluation.errors_view.contextMenuPolicy() == Qt.ActionsContextMenu

    for kind, expected, target_kind in (("FP", pred_id, "prediction"), ("FN", label_id, "label")):
        evaluation.error_kind.setCurrentIndex(evaluation.error_kind.findData(kind))
        assert evaluation.errors_model.rowCount() == 1, kind
        evaluation.errors_view.selectRow(0)
        with qtbot.waitSignal(explain.explained, timeout=120000) as got:
            action.trigger()
        o = got.args[1]
        assert o.request.target.annotation_id == expected and o.request.target.kind == target_kind
        assert o.target["source"] == target_kind  # the engine's target: this very box
        box = LABEL_BOX if kind == "FN" else PRED_BOX
        assert np.allclose(o.target["box_xywh"], box, atol=1e-3)
        assert win.session.image_id == image_id and win.session.selection == [expected]
        assert explain.layer.has_map and explain.layer.image_id == image_id
        assert explain.isVisible()  # the dock was brought forward
    win.close()


def write_clip(path, n=12, size=(IMAGE_W, IMAGE_H)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    assert w.isOpened()
    for _ in range(n):
        w.write(np.ascontiguousarray(scene_image()[..., ::-1]))
    w.release()
    return path


def test_live_eigencam_overlays_the_predicted_frames(qtbot, engine_bridge, tmp_path):
    from gui.live_view import LiveView
    from gui.overlay import blend_masks
    view = LiveView(engine_bridge, realtime=True)
    qtbot.addWidget(view)
    view.resize(520, 320)
    view.show()
    view.predict_check.setChecked(True)
    shown = []
    engine_bridge.result.connect(lambda rid, r: shown.append(r) if hasattr(r, "display") else None)
    view.eigencam_check.setChecked(True)
    assert engine_bridge.shared.frame_overlay is not None
    view.start(str(write_clip(tmp_path / "clip.avi", n=100)))  # 4 s at 25 fps
    qtbot.waitUntil(lambda: view.results_shown >= 2, timeout=60000)
    r = shown[-1]
    plain = blend_masks(r.frame.image, r.prediction)
    assert np.abs(r.display.astype(int) - plain.astype(int)).mean() > 20  # the map over the whole frame
    blue = r.display[..., 2].astype(int) - r.display[..., 0].astype(int)
    assert blue.max() > 40  # jet's blue where the model does not look
    painted = view.view.frame
    assert np.abs(painted.astype(int) - scene_image().astype(int)).mean() > 20  # the view shows it
    view.stop()
    assert engine_bridge.wait_idle(60)
    assert view.frames_received > view.results_shown  # newest frame wins: dropped, not queued

    view.eigencam_check.setChecked(False)
    assert engine_bridge.shared.frame_overlay is None
    view.shutdown()
