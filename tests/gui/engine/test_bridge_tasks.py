"""EngineBridge.run_task: work with the loaded model on the engine thread (the Explain feature's
path), with its own cancel token, progress, readable failures, and no model -> a message."""
import threading

from bridge_fakes import FakeEngine, SlowFakePredictor

from annotations.errors import Cancelled


def _loaded(qtbot, make_bridge):
    bridge = make_bridge(FakeEngine(SlowFakePredictor(0)))
    with qtbot.waitSignal(bridge.model_loaded, timeout=5000):
        bridge.load_model("fake_detector", "random", "cpu")
    return bridge


def test_a_task_runs_on_the_engine_thread_with_the_loaded_model(qtbot, make_bridge):
    bridge = _loaded(qtbot, make_bridge)
    seen = {}

    def fn(loaded, token, progress):
        seen["thread"] = threading.current_thread() is not threading.main_thread()
        progress(1, 2)
        return loaded.categories

    progress = []
    bridge.task_progress.connect(lambda rid, done, total: progress.append((rid, done, total)))
    with qtbot.waitSignal(bridge.task_done, timeout=5000) as done:
        rid = bridge.run_task(fn)
    assert done.args == [rid, ["__background__", "dark", "bright"]] and seen["thread"]
    assert progress == [(rid, 1, 2)]


def test_cancel_task_stops_it_and_failures_are_messages(qtbot, make_bridge):
    bridge = _loaded(qtbot, make_bridge)
    started = threading.Event()

    def slow(loaded, token, progress):
        started.set()
        while True:
            token.check()
            threading.Event().wait(0.01)

    with qtbot.waitSignal(bridge.task_cancelled, timeout=5000) as cancelled:
        rid = bridge.run_task(slow)
        assert started.wait(5)
        bridge.cancel_task(rid)
    assert cancelled.args == [rid]

    def broken(loaded, token, progress):
        raise ValueError("layer 'x' does not output image-shaped maps")
    with qtbot.waitSignal(bridge.task_failed, timeout=5000) as failed:
        rid = bridge.run_task(broken)
    assert failed.args == [rid, "layer 'x' does not output image-shaped maps"]

    def raises_cancelled(loaded, token, progress):
        raise Cancelled("explanation cancelled")
    with qtbot.waitSignal(bridge.task_cancelled, timeout=5000):
        bridge.run_task(raises_cancelled)


def test_a_task_without_a_model_says_so(qtbot, make_bridge):
    bridge = make_bridge(FakeEngine(SlowFakePredictor(0)))
    with qtbot.waitSignal(bridge.task_failed, timeout=5000) as failed:
        bridge.run_task(lambda loaded, token, progress: 1)
    assert "No model is loaded" in failed.args[1]
