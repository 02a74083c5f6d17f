"""EngineBridge with a slow fake predictor: stale results, newest frame wins, cancel, errors, shutdown."""
import time

import numpy as np
from bridge_fakes import FakeEngine, SlowFakePredictor, level_of

from annotations.model import PREDICTION
from gui.bridge import BatchResult, FrameResult, ImageResult
from gui.engine_worker import SharedState  # noqa: F401 - imported to fail early if the module breaks


class Recorder:
    def __init__(self, bridge):
        self.results, self.errors, self.progress, self.loaded, self.load_errors = [], [], [], [], []
        bridge.result.connect(lambda rid, payload: self.results.append((rid, payload)))
        bridge.error.connect(self.errors.append)
        bridge.progress.connect(lambda d, t: self.progress.append((d, t)))
        bridge.model_loaded.connect(self.loaded.append)
        bridge.model_failed.connect(self.load_errors.append)


def loaded_bridge(qtbot, make_bridge, predictor, store=None, **kw):
    engine = FakeEngine(predictor)
    bridge = make_bridge(engine, **kw)
    rec = Recorder(bridge)
    bridge.set_store(store)
    with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
        bridge.load_model("fake_detector", "random", "cpu", fp16=True, score_threshold=0.4)
    return bridge, rec, engine


def test_load_reports_device_precision_and_project_categories(qtbot, make_bridge, grey_store):
    bridge, rec, engine = loaded_bridge(qtbot, make_bridge, SlowFakePredictor(0), grey_store)
    info = rec.loaded[0]
    assert info["name"] == "fake_detector" and info["device"] == "cpu"
    assert info["precision"] == "fp32" and "fp16 needs CUDA" in info["note"]  # fp16 asked for on a CPU
    assert info["score_threshold"] == 0.4 and engine.predictor.score_threshold == 0.4
    assert engine.loads == [("fake_detector", "random", "cpu", None, True)]
    assert bridge.model_info == info
    with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
        bridge.load_model("fake_detector", "default", "auto", map_to_project=True)
    assert engine.loads[-1] == ("fake_detector", "default", "auto", ["dark", "bright"], False)


def test_load_failure_is_a_readable_message(qtbot, make_bridge):
    engine = FakeEngine(SlowFakePredictor(0))
    bridge = make_bridge(engine)
    with qtbot.waitSignal(bridge.model_failed, timeout=5000) as blocker:
        bridge.load_model("broken", "default")
    message = blocker.args[0]
    assert "Could not load broken (default)" in message and "broken.pth" in message
    assert "random weights" in message and bridge.model_info == {}


def test_stale_image_results_are_dropped(qtbot, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=0.3)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store)
    a, b, c = grey_store.image_ids()[:3]
    bridge.predict_image(a)
    assert fake.started.wait(5)  # a is being predicted while the user moves on to b, then c
    bridge.predict_image(b)
    rid_c = bridge.predict_image(c)
    qtbot.waitUntil(lambda: bool(rec.results), timeout=5000)
    qtbot.wait(400)  # anything late would have arrived by now
    assert [rid for rid, _ in rec.results] == [rid_c]
    result = rec.results[0][1]
    assert isinstance(result, ImageResult) and result.image_id == c
    assert fake.calls == [[30], [90]]  # b was never computed: skipped before the forward pass
    assert bridge.stale_dropped == 2  # a finished late (dropped), b skipped
    preds = grey_store.annotations(status=PREDICTION)
    assert [p.image_id for p in preds] == [c]  # the stale result of a was not stored either
    assert preds[0].run_id == result.run_id and preds[0].source == "fake_detector"
    assert preds[0].score == np.float32(0.9) and result.stored_ids == [preds[0].id]
    assert [c.name for c in grey_store.categories()] == ["dark", "bright"]  # none added by the prediction


def test_predicting_an_image_again_replaces_its_predictions(qtbot, make_bridge, grey_store):
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, SlowFakePredictor(0), grey_store)
    image = grey_store.image_ids()[-1]  # level 180: "bright"
    for _ in range(2):
        with qtbot.waitSignal(bridge.result, timeout=5000):
            bridge.predict_image(image)
    preds = grey_store.annotations(status=PREDICTION)
    assert len(preds) == 1 and grey_store.category(preds[0].category_id).name == "bright"
    assert rec.results[0][1].run_id == rec.results[1][1].run_id  # one run for interactive predictions
    assert [r.model for r in grey_store.runs()] == ["fake_detector"]


def test_newest_frame_wins_and_frames_are_dropped_not_queued(qtbot, make_bridge):
    fake = SlowFakePredictor(delay=0.25)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake)
    frames = [np.full((32, 32, 3), 10 * (i + 1), np.uint8) for i in range(10)]
    bridge.predict_frame(frames[0])
    assert fake.started.wait(5)
    ids = [bridge.predict_frame(f) for f in frames[1:]]  # all arrive while frame 0 is being predicted
    qtbot.waitUntil(lambda: len(rec.results) == 2, timeout=5000)
    qtbot.wait(400)
    assert len(rec.results) == 2  # not ten: the eight in between were replaced
    assert bridge.frames_dropped == 8
    assert fake.calls == [[10], [100]]
    last_rid, last = rec.results[-1]
    assert last_rid == ids[-1] and isinstance(last, FrameResult) and level_of(last.frame.image) == 100
    assert last.seconds >= 0.25 and last.finished_at >= last.frame.captured_at


def test_frame_masks_are_blended_into_the_display(qtbot, make_bridge):
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, SlowFakePredictor(0, with_masks=True))
    frame = np.full((40, 40, 3), 20, np.uint8)
    with qtbot.waitSignal(bridge.result, timeout=5000) as blocker:
        bridge.predict_frame(frame)
    display = blocker.args[1].display
    assert (display[20, 20] != 20).any()  # inside the mask: tinted
    assert (display[2, 2] == 20).all()  # outside: untouched
    assert (frame == 20).all()  # the captured frame itself is not modified


def test_cancel_stops_a_batch_between_images(qtbot, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=0.2)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store, batch_size=1)
    bridge.predict_images()
    qtbot.waitUntil(lambda: any(d >= 1 for d, _ in rec.progress), timeout=5000)
    bridge.cancel()
    qtbot.waitUntil(lambda: bool(rec.results), timeout=5000)
    result = rec.results[0][1]
    assert isinstance(result, BatchResult) and result.cancelled and result.total == 6
    assert 1 <= result.images < 6 and len(fake.calls) < 6
    stored = grey_store.annotations(status=PREDICTION, run_id=result.run_id)
    assert len(stored) == result.stored == result.images  # what finished before the cancel is kept
    # Cancel only concerns requests made before it: the next batch runs to the end.
    rec.results.clear()
    bridge.predict_images(unlabelled_only=True)
    qtbot.waitUntil(lambda: bool(rec.results), timeout=10000)
    again = rec.results[0][1]
    assert not again.cancelled and again.images == 6 and again.stored == 6
    assert rec.progress[-1] == (6, 6)


def test_cancel_interrupts_a_long_forward_pass(qtbot, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=5.0)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store)
    bridge.predict_images([grey_store.image_ids()[0]])
    assert fake.started.wait(5)
    t0 = time.perf_counter()
    bridge.cancel()
    qtbot.waitUntil(lambda: bool(rec.results), timeout=3000)
    assert time.perf_counter() - t0 < 2.0 and rec.results[0][1].cancelled
    assert grey_store.annotations(status=PREDICTION) == []


def test_unlabelled_only_skips_labelled_images(qtbot, make_bridge, grey_store):
    from annotations.model import Annotation
    ids = grey_store.image_ids()
    cat = grey_store.ensure_category("thing")
    grey_store.add_annotation(Annotation(None, ids[0], cat, bbox=(1, 1, 5, 5)))
    fake = SlowFakePredictor(0)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store)
    with qtbot.waitSignal(bridge.result, timeout=5000) as blocker:
        bridge.predict_images(unlabelled_only=True)
    result = blocker.args[1]
    assert result.total == 5 and not result.cancelled
    assert sorted(a.image_id for a in grey_store.annotations(status=PREDICTION)) == ids[1:]
    assert grey_store.run(result.run_id).params["unlabelled_only"] is True


def test_worker_exception_reaches_the_gui_and_the_thread_lives_on(qtbot, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=0, fail_levels={60})
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store)
    first, second = grey_store.image_ids()[:2]
    with qtbot.waitSignal(bridge.error, timeout=5000) as blocker:
        bridge.predict_image(second)
    assert "Predicting image 2 failed" in blocker.args[0] and "simulated CUDA out of memory" in blocker.args[0]
    assert bridge.running
    with qtbot.waitSignal(bridge.result, timeout=5000):
        bridge.predict_image(first)
    with qtbot.waitSignal(bridge.error, timeout=5000) as blocker:
        bridge.predict_frame(np.full((8, 8, 3), 60, np.uint8))
    assert "Predicting frame" in blocker.args[0]


def test_requests_without_model_or_project_say_why(qtbot, make_bridge, grey_store):
    engine = FakeEngine(SlowFakePredictor(0))
    bridge = make_bridge(engine)
    bridge.set_store(grey_store)
    with qtbot.waitSignal(bridge.error, timeout=5000) as blocker:
        bridge.predict_image(grey_store.image_ids()[0])
    assert "No model is loaded" in blocker.args[0]
    bridge.set_store(None)
    with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
        bridge.load_model("fake_detector", "random")
    with qtbot.waitSignal(bridge.error, timeout=5000) as blocker:
        bridge.predict_images()
    assert "No project is open" in blocker.args[0]


def test_unreadable_image_is_named(qtbot, make_bridge, grey_store):
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, SlowFakePredictor(0), grey_store)
    first = grey_store.image(grey_store.image_ids()[0])
    (grey_store.root / first.file_name).write_bytes(b"not a png")
    with qtbot.waitSignal(bridge.result, timeout=5000) as blocker:
        bridge.predict_images()
    result = blocker.args[1]
    assert result.images == 5 and len(result.problems) == 1 and "grey_0.png" in result.problems[0]


def test_describe_engine(qtbot, make_bridge):
    bridge = make_bridge(FakeEngine(SlowFakePredictor(0), cuda=False))
    with qtbot.waitSignal(bridge.capabilities, timeout=5000) as blocker:
        bridge.describe_engine()
    assert blocker.args[0]["cuda"] is False and blocker.args[0]["models"][0]["name"] == "fake_detector"


def test_shutdown_mid_inference_is_clean(qtbot, qtlog, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=3.0)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store)
    bridge.predict_image(grey_store.image_ids()[0])
    assert fake.started.wait(5)
    t0 = time.perf_counter()
    bridge.shutdown()
    assert time.perf_counter() - t0 < 2.0  # the cancel flag ends the forward pass early
    assert not bridge.running and bridge._worker.predictor is None
    bridge.shutdown()  # twice is harmless
    assert not [m for m in qtlog.records if "QThread" in m.message]


def test_switching_models_frees_the_old_one(qtbot, make_bridge):
    import gc
    import weakref
    engine = FakeEngine(SlowFakePredictor(0))
    released = []
    hooks = engine.hooks()
    hooks.release_model = released.append
    bridge = make_bridge(engine)
    bridge.use_hooks(hooks)
    with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
        bridge.load_model("fake_detector", "random")
    first = weakref.ref(bridge._worker.loaded_model)
    with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
        bridge.load_model("fake_segmenter", "random")
    released_first = released[0]
    assert released_first is first()
    del released_first
    released.clear()
    gc.collect()
    assert first() is None  # nothing in the bridge or the worker holds the old model
    assert bridge._worker.loaded_model.spec.name == "fake_segmenter"


def test_live_stop_drops_the_pending_frame_but_not_a_batch(qtbot, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=0.15)
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store, batch_size=1)
    bridge.predict_images()
    qtbot.waitUntil(lambda: any(d >= 1 for d, _ in rec.progress), timeout=5000)
    bridge.predict_frame(np.full((8, 8, 3), 7, np.uint8))
    bridge.drop_pending_frame()
    qtbot.waitUntil(lambda: bool(rec.results), timeout=10000)
    assert not rec.results[0][1].cancelled and rec.results[0][1].images == 6
    qtbot.wait(300)
    assert len(rec.results) == 1 and [7] not in fake.calls


def test_a_batch_that_fails_midway_says_what_was_kept(qtbot, make_bridge, grey_store):
    fake = SlowFakePredictor(delay=0, fail_levels={120})  # the fourth image
    bridge, rec, _ = loaded_bridge(qtbot, make_bridge, fake, grey_store, batch_size=1)
    with qtbot.waitSignal(bridge.error, timeout=5000) as blocker:
        bridge.predict_images()
    run_id = grey_store.runs()[-1].id
    assert blocker.args[0].startswith("Predicting images failed after 3 of 6 images")
    assert f"kept in run {run_id}" in blocker.args[0] and "simulated CUDA out of memory" in blocker.args[0]
    assert len(grey_store.annotations(status=PREDICTION, run_id=run_id)) == 3 and rec.results == []


def test_an_engine_thread_failure_is_logged_with_its_traceback(qtbot, make_bridge):
    import logging

    from annotations.applog import setup_logging
    log_file = setup_logging()
    bridge = make_bridge(FakeEngine(SlowFakePredictor(0)))
    with qtbot.waitSignal(bridge.model_failed, timeout=5000):
        bridge.load_model("broken", "default")
    for h in logging.getLogger().handlers:
        h.flush()
    text = log_file.read_text(encoding="utf-8")
    at = text.rfind("engine thread: torchvision expects broken.pth")
    assert at >= 0, text[-2000:]
    assert "Traceback" in text[at:] and "FileNotFoundError" in text[at:]
