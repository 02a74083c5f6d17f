"""After Stop the run can predict and resume; the runs table lists a run from its start; the charts
say what they will show while they are empty. Drives a real `main.py train` child."""
from PySide6.QtCore import Qt

from engine.training.runs import read_run
from test_training_view import _window


def _small_run(view):
    form = view.form
    form.image_size.setValue(96)
    form.batch.setValue(2)
    form.epochs.setValue(3)
    form.val_split.setCurrentIndex(form.val_split.findData(""))
    view.log_every = 1


def test_charts_say_what_they_will_show(qtbot, demo_project, settings_dir):
    from PySide6.QtWidgets import QDockWidget
    win = _window(qtbot, demo_project)
    view = win.feature("training")
    win.show()
    win.findChild(QDockWidget, "training").show()
    charts = view.charts
    charts.setCurrentWidget(charts.validation)
    qtbot.waitUntil(lambda: charts.validation.isVisible())
    note = charts.validation.empty_note
    assert note.isVisible() and "No validation yet" in note.text() and "'val'" in note.text()
    view.form.val_split.setCurrentIndex(view.form.val_split.findData(""))
    assert "no validation split is chosen" in note.text()
    charts.validation.add_point("map", 10, 0.2)
    assert not note.isVisible()
    charts.clear()
    assert note.isVisible()
    win.close()


def test_stop_then_predict_with_the_run_and_resume_it(qtbot, demo_project, settings_dir):
    win = _window(qtbot, demo_project)
    view = win.feature("training")
    _small_run(view)
    rows = []
    view.process.event.connect(lambda ev: rows.append(ev) if ev["event"] == "iteration" else None)
    assert not view.resume_button.isEnabled() and not view.use_button.isEnabled()

    qtbot.mouseClick(view.start_button, Qt.LeftButton)
    # Listed from the start, before any checkpoint: the running run and its position.
    assert view.runs.rowCount() == 1 and view.runs.item(0, 2).text() in ("starting", "running")
    qtbot.waitUntil(lambda: len(rows) >= 2, timeout=180_000)
    assert view.runs.rowCount() == 1 and view.runs.item(0, 0).text() == view.process.run_dir.split("/")[-1]
    last = rows[-1]
    assert view.runs.item(0, 3).text() == f"epoch {last['epoch']}/3, it {last['iteration']}/{last['total_iterations']}"
    assert not view.resume_button.isEnabled()  # not while it runs

    with qtbot.waitSignal(view.process.ended, timeout=120_000):
        qtbot.mouseClick(view.stop_button, Qt.LeftButton)
        assert not view.stop_button.isEnabled()
        view.stop()  # asked twice (a double click): still one request, the run saves and ends
    run_dir = view.process.run_dir
    first = read_run(run_dir)
    assert first.status == "interrupted" and first.best_checkpoint is None  # no validation: only last.pt
    # The stopped run is selected: one click predicts with it, one resumes it.
    assert view.runs.selected_run().path == first.path
    assert view.use_button.isEnabled() and "last.pt" in view.use_button.text()
    assert view.resume_button.isEnabled()
    assert "can predict now with last.pt" in view.status.text() and "Resume" in view.status.text()
    panel = win.feature("model")
    qtbot.mouseClick(view.use_button, Qt.LeftButton)
    assert panel.checkpoint_edit.text() == str(first.last_checkpoint)
    assert panel.weights_combo.currentData() == "checkpoint"

    rows.clear()
    qtbot.mouseClick(view.resume_button, Qt.LeftButton)
    assert view.process.is_running() and not view.resume_button.isEnabled()
    qtbot.waitUntil(lambda: len(rows) >= 2, timeout=180_000)
    assert rows[0]["iteration"] > first.iteration  # it goes on, it does not start over
    with qtbot.waitSignal(view.process.ended, timeout=120_000):
        qtbot.mouseClick(view.stop_button, Qt.LeftButton)
    again = read_run(run_dir)
    assert again.status == "interrupted" and again.iteration > first.iteration
    assert view.runs.rowCount() == 1  # the same run, not a new one
    win.close()
