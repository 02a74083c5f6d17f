"""The Model dock in the real window, driven with real clicks; the engine is the slow fake unless said."""
import pytest
from bridge_fakes import FakeEngine, SlowFakePredictor
from PySide6.QtCore import Qt

from annotations.model import LABEL, PREDICTION


@pytest.fixture
def window_with(qtbot, qtlog):
    from gui.main_window import MainWindow
    windows = []

    def make(store, engine=None):
        win = MainWindow()
        win.resize(1280, 800)  # the size these tests' coordinates assume
        qtbot.addWidget(win)
        if engine is not None:
            win.services.get("engine").use_hooks(engine.hooks())
        win.open_project(store)
        win.show()
        qtbot.waitExposed(win)
        panel = win.feature("model")
        win.show_panel("model")  # the engine is asked for its models once the dock is seen
        qtbot.waitUntil(lambda: bool(panel.models), timeout=60000)
        windows.append(win)
        return win, panel
    yield make
    for win in windows:
        win.close()
        assert not win.services.get("engine").running
    assert not [r for r in qtlog.records if "QThread" in r.message]


def click(qtbot, button):
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.LeftButton)


def select_model(panel, name):
    index = panel.model_combo.findData(name, Qt.UserRole)
    assert index >= 0
    panel.model_combo.setCurrentIndex(index)


def load(qtbot, panel, name="fake_detector", weights="random"):
    select_model(panel, name)
    panel.weights_combo.setCurrentIndex(panel.weights_combo.findData(weights))
    with qtbot.waitSignal(panel.bridge.model_loaded, timeout=60000):
        click(qtbot, panel.load_button)


def test_models_are_grouped_by_task_and_cuda_choices_follow_the_machine(qtbot, window_with, grey_store):
    win, panel = window_with(grey_store, FakeEngine(SlowFakePredictor(0), cuda=False))
    items = panel.model_combo.model()
    rows = [(items.item(i).text().strip(), items.item(i).isEnabled()) for i in range(items.rowCount())]
    assert rows[0] == ("Detection", False) and ("Semantic segmentation", False) in rows
    assert ("fake_detector", True) in rows and panel.model_name == "fake_detector"
    assert not panel.device_combo.model().item(2).isEnabled()  # cuda
    assert not panel.precision_combo.model().item(1).isEnabled()  # fp16
    assert "No CUDA device" in panel.model_help.text()
    # Only the buttons that can work are enabled before a model is loaded.
    assert not panel.predict_image_button.isEnabled() and not panel.predict_all_button.isEnabled()
    panel.bridge.use_hooks(FakeEngine(SlowFakePredictor(0), cuda=True).hooks())
    with qtbot.waitSignal(panel.bridge.capabilities, timeout=5000):
        panel.bridge.describe_engine()
    assert panel.device_combo.model().item(2).isEnabled() and panel.precision_combo.model().item(1).isEnabled()


def test_a_model_without_published_weights_offers_checkpoint_and_random_only(qtbot, window_with, grey_store):
    win, panel = window_with(grey_store, FakeEngine(SlowFakePredictor(0)))
    default = panel.weights_combo.model().item(panel.weights_combo.findData("default"))
    select_model(panel, "fake_detector")
    panel.weights_combo.setCurrentIndex(panel.weights_combo.findData("default"))
    assert default.isEnabled()
    select_model(panel, "fake_compact")  # no file dialog opens: the choice moves to a checkpoint to browse for
    assert not default.isEnabled() and "no published weights" in default.toolTip()
    assert panel.weights_combo.currentData() == "checkpoint" and panel.checkpoint_edit.isVisibleTo(panel)
    assert panel.weights_source() is None
    click(qtbot, panel.load_button)
    assert "Choose a checkpoint file first" in panel.status_label.text() and not panel.bridge.model_info
    select_model(panel, "fake_detector")
    assert default.isEnabled()


def test_load_failure_is_shown_with_the_choices(qtbot, window_with, grey_store):
    win, panel = window_with(grey_store, FakeEngine(SlowFakePredictor(0)))
    select_model(panel, "broken")
    panel.weights_combo.setCurrentIndex(panel.weights_combo.findData("default"))
    with qtbot.waitSignal(panel.bridge.model_failed, timeout=5000):
        click(qtbot, panel.load_button)
    text = panel.status_label.text()
    assert "Could not load broken" in text and "broken.pth" in text and "random weights" in text
    assert "d04040" in panel.status_label.styleSheet()
    assert not panel.predict_all_button.isEnabled()


def test_load_then_predict_this_image_all_and_unlabelled(qtbot, window_with, grey_store):
    win, panel = window_with(grey_store, FakeEngine(SlowFakePredictor(0)))
    load(qtbot, panel)
    text = panel.status_label.text()
    assert "cpu · fp32" in text and text.count("cpu") == 1 and text.count("fp32") == 1  # said once
    ids = grey_store.image_ids()
    win.show_image(ids[4])
    qtbot.waitUntil(lambda: win.session.image_id == ids[4], timeout=5000)
    with qtbot.waitSignal(panel.bridge.result, timeout=5000):
        click(qtbot, panel.predict_image_button)
    preds = grey_store.annotations(status=PREDICTION)
    assert [p.image_id for p in preds] == [ids[4]] and grey_store.category(preds[0].category_id).name == "bright"
    assert f"1 predictions stored in run {preds[0].run_id} for image {ids[4]}" in panel.result_label.text()

    grey_store.accept_predictions([preds[0].id])  # image 5 now has a label
    with qtbot.waitSignal(panel.bridge.result, timeout=5000):
        click(qtbot, panel.predict_unlabelled_button)
    unlabelled = grey_store.annotations(status=PREDICTION)
    assert sorted(a.image_id for a in unlabelled) == sorted(set(ids) - {ids[4]})
    assert "Predicted 5 of 5 images" in panel.result_label.text()
    assert panel.progress_bar.value() == 5 and panel.predict_all_button.isEnabled()


def start_slow_batch(qtbot, window_with, store, seconds_per_image):
    """A loaded fake model predicting every image, one image per engine batch."""
    win, panel = window_with(store, FakeEngine(SlowFakePredictor(seconds_per_image)))
    panel.bridge.batch_size = 1
    load(qtbot, panel)
    click(qtbot, panel.predict_all_button)
    return win, panel


def test_predict_all_shows_progress_and_cancels(qtbot, window_with, grey_store):
    win, panel = start_slow_batch(qtbot, window_with, grey_store, 0.25)
    assert not panel.predict_all_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.progress_bar.value() >= 1, timeout=5000)
    assert panel.progress_bar.maximum() == 6
    with qtbot.waitSignal(panel.bridge.result, timeout=5000) as done:
        click(qtbot, panel.cancel_button)
    result = done.args[1]
    assert result.cancelled and "Cancelled after" in panel.result_label.text()
    assert len(grey_store.annotations(status=PREDICTION, run_id=result.run_id)) == result.stored < 6
    assert panel.predict_all_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_threshold_follows_the_model_and_reaches_the_predictor(qtbot, window_with, grey_store):
    engine = FakeEngine(SlowFakePredictor(0))
    win, panel = window_with(grey_store, engine)
    load(qtbot, panel)
    assert engine.predictor.score_threshold == pytest.approx(0.5)
    panel.threshold_spin.setValue(0.8)
    qtbot.waitUntil(lambda: engine.predictor.score_threshold == pytest.approx(0.8), timeout=5000)


def test_auto_predict_keeps_only_the_image_left_on_screen(qtbot, window_with, grey_store):
    fake = SlowFakePredictor(0.2)
    win, panel = window_with(grey_store, FakeEngine(fake))
    load(qtbot, panel)
    panel.auto_check.setChecked(True)
    ids = grey_store.image_ids()
    for image_id in ids[:4]:  # the user flips through four images quickly
        win.show_image(image_id)
    qtbot.waitUntil(lambda: len(grey_store.annotations(status=PREDICTION)) >= 1, timeout=5000)
    qtbot.wait(600)
    assert [a.image_id for a in grey_store.annotations(status=PREDICTION)] == [ids[3]]
    assert len(fake.calls) < 4 and panel.bridge.stale_dropped >= 2


def test_accept_all_above_threshold_through_the_canvas(qtbot, window_with, grey_store):
    win, panel = window_with(grey_store, FakeEngine(SlowFakePredictor(0)))
    if win.canvas is None:
        pytest.skip("the canvas is not available in this checkout")
    load(qtbot, panel)
    image_id = grey_store.image_ids()[0]
    win.show_image(image_id)
    qtbot.waitUntil(lambda: win.session.image_id == image_id, timeout=5000)
    with qtbot.waitSignal(panel.bridge.result, timeout=5000):
        click(qtbot, panel.predict_image_button)
    qtbot.waitUntil(lambda: len(win.canvas._predictions()) == 1, timeout=5000)
    panel.threshold_spin.setValue(0.95)  # the fake scores 0.9: nothing to accept
    click(qtbot, panel.accept_button)
    assert grey_store.annotations(status=LABEL) == []
    panel.threshold_spin.setValue(0.5)
    click(qtbot, panel.accept_button)
    qtbot.waitUntil(lambda: len(grey_store.annotations(status=LABEL)) == 1, timeout=5000)
    assert grey_store.annotations(status=PREDICTION) == []


def test_real_tiny_model_from_the_panel(qtbot, window_with, grey_store):
    pytest.importorskip("engine.predictor")
    import torch
    torch.manual_seed(0)
    win, panel = window_with(grey_store)  # the real engine
    assert "fasterrcnn_mobilenet_v3_large_320_fpn" in panel.models and "deeplabv3_resnet50" in panel.models
    assert panel.device_combo.model().item(2).isEnabled() == torch.cuda.is_available()
    load(qtbot, panel, "fasterrcnn_mobilenet_v3_large_320_fpn", "random")
    assert "random weights" in panel.status_label.text() and "cpu" in panel.status_label.text()
    panel.threshold_spin.setValue(0.0)
    image_id = grey_store.image_ids()[1]
    win.show_image(image_id)
    qtbot.waitUntil(lambda: win.session.image_id == image_id, timeout=5000)
    with qtbot.waitSignal(panel.bridge.result, timeout=60000) as done:
        click(qtbot, panel.predict_image_button)
    result = done.args[1]
    from engine.prediction_store import pending_classes
    stored = grey_store.annotations(status=PREDICTION, image_id=image_id)
    kept_out = pending_classes(grey_store, result.run_id)  # COCO classes: kept in the run, not added
    assert len(stored) + sum(kept_out.values()) == len(result.prediction.labels) > 0
    assert [c.name for c in grey_store.categories()] == ["dark", "bright"]
    assert all(a.source == "fasterrcnn_mobilenet_v3_large_320_fpn" for a in stored)


def test_closing_the_project_during_a_batch(qtbot, window_with, grey_store):
    win, panel = start_slow_batch(qtbot, window_with, grey_store, 0.2)
    qtbot.waitUntil(lambda: panel.progress_bar.value() >= 1, timeout=5000)
    with qtbot.waitSignal(panel.bridge.result, timeout=5000) as done:
        win.close_project()
    assert done.args[1].cancelled and panel.bridge.shared.store is None
    assert not panel.predict_all_button.isEnabled() and panel.bridge.running


def test_failures_show_where_they_belong(qtbot, window_with, grey_store):
    import numpy as np
    fake = SlowFakePredictor(0, fail_levels={30, 77})
    win, panel = window_with(grey_store, FakeEngine(fake))
    load(qtbot, panel)
    win.show_image(grey_store.image_ids()[0])  # level 30: the fake fails on it
    qtbot.waitUntil(lambda: win.session.image_id == grey_store.image_ids()[0], timeout=5000)
    with qtbot.waitSignal(panel.bridge.failed, timeout=5000):
        click(qtbot, panel.predict_image_button)
    assert "Predicting image 1 failed" in panel.result_label.text()
    assert "simulated CUDA out of memory" in panel.result_label.text()
    panel.result_label.clear()
    with qtbot.waitSignal(panel.bridge.failed, timeout=5000):
        panel.bridge.predict_frame(np.full((8, 8, 3), 77, np.uint8))  # a live frame failing
    assert panel.result_label.text() == ""


def test_classes_the_project_lacks_wait_in_the_run_until_added(qtbot, window_with, grey_store):
    bright = grey_store.category_by_name("bright").id
    grey_store.delete_category(bright)  # the project knows "dark" only
    win, panel = window_with(grey_store, FakeEngine(SlowFakePredictor(0)))
    load(qtbot, panel)
    with qtbot.waitSignal(panel.bridge.result, timeout=10000):
        click(qtbot, panel.predict_all_button)
    names = [c.name for c in grey_store.categories()]
    assert names == ["dark"], "predictions must not add categories without consent"
    assert "not in the project: bright" in panel.result_label.text()
    stored = grey_store.annotations(status=PREDICTION)
    assert all(grey_store.category(a.category_id).name == "dark" for a in stored)
    click(qtbot, panel.add_classes_button)
    assert grey_store.category_by_name("bright") is not None
    brights = [a for a in grey_store.annotations(status=PREDICTION)
               if a.category_id == grey_store.category_by_name("bright").id]
    assert brights and not panel.add_classes_button.isVisible()
