"""The evaluation view on a project whose run has predictions and the project no labels: the job
finishes with the whole report (every COCO figure -1, each prediction a TIDE background error, no
best threshold) and the view draws it."""
import numpy as np
from PySide6.QtCore import Qt

from annotations.imageio import write_rgb
from annotations.model import PREDICTION, Annotation, Category, ImageRecord, ModelRun


def test_a_run_on_a_project_without_labels_is_evaluated(qtbot, store):
    from gui.evaluation.panel import EvaluationPanel
    from gui.main_window import MainWindow
    a, b = store.add_categories([Category(None, "a"), Category(None, "b")])
    write_rgb(store.root / "im.png", np.zeros((64, 64, 3), np.uint8))
    im = store.add_image(ImageRecord(None, "im.png", 64, 64, "val"))
    run = store.add_run(ModelRun(None, "toy-detector"))
    store.add_annotations([Annotation(None, im, cat, bbox=box, score=s, status=PREDICTION, source="toy-detector",
                                      run_id=run) for cat, box, s in ((a, (4, 4, 20, 20), 0.9),
                                                                      (b, (30, 30, 20, 20), 0.6))])
    win = MainWindow()
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.open_project(store)
    panel = win.findChild(EvaluationPanel)
    win.show()
    qtbot.waitExposed(win)
    next(x for x in win.menu("&Model").actions() if x.text().startswith("Evaluate predictions")).trigger()
    try:
        assert panel.run_combo.count() == 1 and panel.evaluate_button.isEnabled()
        with qtbot.waitSignal(panel.evaluated, timeout=30000):
            qtbot.mouseClick(panel.evaluate_button, Qt.LeftButton)
        report = panel.report
        assert list(report.coco.stats) == [-1.0] * 12
        assert report.tide.counts["background"] == 2 and report.tide.ap == 0.0
        assert report.curves[None].best_threshold is None
        assert [r["best_threshold"] for r in report.class_rows()] == [None, None]
        assert panel.threshold() == 0.5  # no best threshold: the view opens at 0.5
        assert report.matches.at(0.5).totals == (0, 2, 0)
    finally:
        panel.shutdown()
        win.close()
