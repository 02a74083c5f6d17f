"""The "Label next" dock in the real window: rank a run's stored predictions, press Next and land on
the top image; sort the file list by the scores; review flagged labels with the keys (accept the
model's version, keep, delete) and undo them with Ctrl+Z."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from annotations.imageio import write_rgb
from annotations.model import BOX, LABEL, PREDICTION, Annotation, Category, ImageRecord, ModelRun
from annotations.review_marks import load_marks
from annotations.scores import find_set, object_scores, save_embeddings
from annotations.store import Store
from engine.rank import why

from window_helpers import press

B = (10.0, 10.0, 40.0, 40.0)


@pytest.fixture
def rank_project(tmp_path):
    """Four labelled images with one label error each, three unlabelled ones with predictions.

    Mistakenness (FiftyOne's formulas, engine/rank/strategies/mistakenness.py), best first:
      l3  a confident a-prediction (0.97) where nothing is labelled: missing, (1 + 0.97) / 2 = 0.985
      l1  label a, predicted b at 0.8 on the same box: wrong_class, (1 + 0.8) / 2 = 0.9
      l4  label a, predicted a at 0.9 shifted by 10 px (IoU 0.6): loose_box, (0.9 * 0.6 + 1) / 2 = 0.77
      l2  label b that no prediction supports: spurious, 0.5
    Least confidence of the unlabelled images: u1 (0.55) > u3 (0.7) > u2 (0.95).
    """
    root = tmp_path / "rankproj"
    store = Store.open(root)
    a, b = store.add_categories([Category(None, "a"), Category(None, "b")])
    ids = {}
    for n, name in enumerate(("l1", "l2", "l3", "l4", "u1", "u2", "u3")):
        write_rgb(root / f"{name}.png", np.full((80, 100, 3), 30 * n, np.uint8))
        ids[name] = store.add_image(ImageRecord(None, f"{name}.png", 100, 80, "train"))
    run = store.add_run(ModelRun(None, "hand", "", "predict", {}))

    def label(im, cat, box):
        return store.add_annotation(Annotation(None, ids[im], cat, BOX, box, status=LABEL))

    def pred(im, cat, box, score):
        return store.add_annotation(Annotation(None, ids[im], cat, BOX, box, score=score, status=PREDICTION,
                                               source="hand", run_id=run))
    p = {"wrong_label": label("l1", a, B), "wrong_pred": pred("l1", b, B, 0.8),
         "spurious": label("l2", b, (5.0, 5.0, 20.0, 20.0)),
         "l2_ok": label("l2", a, (60.0, 20.0, 30.0, 30.0)), "l2_pred": pred("l2", a, (60.0, 20.0, 30.0, 30.0), 0.9),
         "l3_ok": label("l3", a, (10.0, 10.0, 30.0, 30.0)), "l3_pred": pred("l3", a, (10.0, 10.0, 30.0, 30.0), 0.9),
         "missing_pred": pred("l3", a, (60.0, 40.0, 30.0, 30.0), 0.97),
         "loose_label": label("l4", a, B), "loose_pred": pred("l4", a, (20.0, 10.0, 40.0, 40.0), 0.9)}
    for im, score in (("u1", 0.55), ("u2", 0.95), ("u3", 0.7)):
        pred(im, a, B, score)
    store.close()
    return {"path": root, "ids": ids, "run": run, "a": a, "b": b, **p}


def open_dock(qtbot, make_window, project):
    win = make_window(project["path"])
    view = win.feature("label_next")
    action = next(a for a in win.menu("&Model").findChildren(QAction) if a.text().startswith("Rank images and review"))
    action.trigger()
    qtbot.waitUntil(lambda: view.isVisible(), timeout=3000)
    assert view.rank.run_combo.currentData() == project["run"]
    return win, view


def rank(qtbot, view, strategy: str):
    panel = view.rank
    panel.strategy_combo.setCurrentIndex(panel.strategy_combo.findData(strategy))
    with qtbot.waitSignal(panel.ranked, timeout=20000) as blocker:
        qtbot.mouseClick(panel.rank_button, Qt.LeftButton)
    return blocker.args[0]


def focus_canvas(qtbot, win):
    win.canvas.setFocus()
    qtbot.waitUntil(lambda: win.canvas.hasFocus() or win.canvas.isAncestorOf(win.focusWidget()), timeout=2000)


def test_rank_next_and_sort_the_file_list(qtbot, make_window, rank_project):
    p = rank_project
    win, view = open_dock(qtbot, make_window, p)
    result = rank(qtbot, view, "uncertainty")
    ids = p["ids"]
    assert [s.image_id for s in result.ranking.images] == [ids["u1"], ids["u3"], ids["u2"]]
    rows = [view.rank.list.topLevelItem(i) for i in range(view.rank.list.topLevelItemCount())]
    assert [r.text(1) for r in rows] == ["u1.png", "u3.png", "u2.png"]
    assert rows[0].text(2) == f"{result.ranking.images[0].score:.3f}" and "uncertain" in rows[0].text(3)

    focus_canvas(qtbot, win)
    press(qtbot, win, Qt.Key_N, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids["u1"], timeout=5000)
    assert win.session.image_id == ids["u1"]
    press(qtbot, win, Qt.Key_N, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: win.session.image_id == ids["u3"], timeout=5000)
    # The Why column is cut in a narrow dock; the line under the list holds the whole reason, wrapped to fit.
    detail = view.rank.detail
    assert detail.text() == f"2. u3.png: {why(result.ranking.images[1])}" and detail.isVisible()
    assert detail.height() >= detail.heightForWidth(detail.width()) and detail.width() <= view.rank.list.width()

    # The file list sorts by the stored scores, best first, unscored (labelled) images after them.
    fl = win.file_list
    qtbot.waitUntil(lambda: fl.sort_box.count() == 2, timeout=3000)  # file order + the stored ranking
    assert fl.sort_by("uncertainty", p["run"])
    assert fl.model.visible_ids()[:3] == [ids["u1"], ids["u3"], ids["u2"]]
    assert set(fl.model.visible_ids()[3:]) == {ids[n] for n in ("l1", "l2", "l3", "l4")}
    assert not fl.view.isColumnHidden(4) and fl.view.isColumnHidden(3)  # the score replaces the split
    assert fl.model.index(0, 4).data() == f"{result.ranking.images[0].score:.2f}"
    assert fl.sort_by(None) and fl.view.isColumnHidden(4) and not fl.view.isColumnHidden(3)
    assert fl.model.visible_ids() == sorted(ids.values())


def test_the_image_next_opens_is_read_ahead(qtbot, make_window, rank_project, monkeypatch):
    import gui.canvas.image_switch as image_switch
    p = rank_project
    win, view = open_dock(qtbot, make_window, p)
    rank(qtbot, view, "uncertainty")
    ids, prefetch = p["ids"], win.canvas._prefetch
    focus_canvas(qtbot, win)
    press(qtbot, win, Qt.Key_N, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids["u1"], timeout=5000)
    assert ids["u3"] not in (win.file_list.neighbour(1), win.file_list.neighbour(-1))  # only the ranking names it
    qtbot.waitUntil(lambda: ids["u3"] in prefetch._entries, timeout=5000)
    read_now = []
    real_read = image_switch.read_shapes
    monkeypatch.setattr(image_switch, "read_shapes", lambda store, i: (read_now.append(i), real_read(store, i))[1])
    press(qtbot, win, Qt.Key_N, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids["u3"], timeout=5000)
    assert read_now == []
    assert sorted(win.canvas.annotations(), key=lambda a: a.id) == win.store.annotations(image_id=ids["u3"])


def test_the_object_a_verdict_moves_on_to_is_read_ahead(qtbot, make_window, rank_project):
    p = rank_project
    win, view = open_dock(qtbot, make_window, p)
    rank(qtbot, view, "mistakenness")
    review, prefetch = view.review, win.canvas._prefetch
    review.select_row(0)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == review.items[0].obj.image_id, timeout=5000)
    following = review.items[review.next_pending(0)].obj.image_id
    assert following != review.items[0].obj.image_id
    qtbot.waitUntil(lambda: following in prefetch._entries, timeout=5000)


def _states(review):
    return [it.state for it in review.items]


def _row_texts(review):
    return [review.list.topLevelItem(i).text(3) for i in range(review.list.topLevelItemCount())]


def test_review_accept_keep_delete_undo_and_reopen(qtbot, make_window, rank_project):
    p = rank_project
    ids = p["ids"]
    win, view = open_dock(qtbot, make_window, p)
    store = win.store
    rank(qtbot, view, "mistakenness")
    review = view.review
    assert view.tabs.currentWidget() is review
    assert [(it.obj.kind, it.obj.annotation_id) for it in review.items] == [
        ("missing", None), ("wrong_class", p["wrong_label"]), ("loose_box", p["loose_label"]),
        ("spurious", p["spurious"])]
    focus_canvas(qtbot, win)

    # Next (Shift+N) opens the top-ranked image: l3, with the confident prediction nobody labelled.
    press(qtbot, win, Qt.Key_N, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: win.canvas.current_image_id == ids["l3"], timeout=5000)
    # The first review key with nothing chosen opens the first flagged object, its prediction highlighted.
    press(qtbot, win, Qt.Key_M)
    qtbot.waitUntil(lambda: win.session.selection == [p["missing_pred"]], timeout=5000)
    labels_before = {a.id for a in store.annotations(image_id=ids["l3"], status=LABEL)}

    # Accept the model's missing label: a new label with the prediction's class and box.
    press(qtbot, win, Qt.Key_M)
    added = [a for a in store.annotations(image_id=ids["l3"], status=LABEL) if a.id not in labels_before]
    assert len(added) == 1 and added[0].bbox == (60.0, 40.0, 30.0, 30.0) and added[0].category_id == p["a"]
    # ... and the next one is shown: the wrong class, label and prediction highlighted; accept it too.
    qtbot.waitUntil(lambda: win.session.image_id == ids["l1"], timeout=5000)
    assert sorted(win.session.selection) == sorted([p["wrong_label"], p["wrong_pred"]])
    press(qtbot, win, Qt.Key_M)
    assert store.annotation(p["wrong_label"]).category_id == p["b"]  # the store holds the model's class
    assert _states(review)[:2] == ["accepted", "accepted"] and _row_texts(review)[:2] == ["accepted", "accepted"]
    marks = load_marks(store, p["run"])
    assert {k: m.state for k, m in marks.items()} == {("missing", None, p["missing_pred"]): "accepted",
                                                       ("wrong_class", p["wrong_label"], p["wrong_pred"]): "accepted"}

    # Ctrl+Z restores the label's class and makes its row "to review" again, in the list and the store.
    focus_canvas(qtbot, win)
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)
    assert store.annotation(p["wrong_label"]).category_id == p["a"]
    assert _states(review)[:2] == ["accepted", "to review"] and _row_texts(review)[1] == "to review"
    assert set(load_marks(store, p["run"])) == {("missing", None, p["missing_pred"])}
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)
    assert store.annotation(added[0].id) is None
    assert _states(review)[:2] == ["to review", "to review"] and load_marks(store, p["run"]) == {}
    # Redo writes the model's class and the mark again.
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert store.annotation(p["wrong_label"]).category_id == p["b"] and _states(review)[:2] == ["accepted"] * 2

    # Keep the loose box: nothing changes but the mark; the next (spurious) one is shown.
    review.select_row(2)
    qtbot.waitUntil(lambda: win.session.image_id == ids["l4"], timeout=5000)
    focus_canvas(qtbot, win)
    press(qtbot, win, Qt.Key_K)
    assert store.annotation(p["loose_label"]).bbox == B and review.items[2].state == "kept"
    qtbot.waitUntil(lambda: win.session.image_id == ids["l2"], timeout=5000)
    assert win.session.selection == [p["spurious"]]

    # Delete the spurious label: its score row goes with it (foreign key), its mark stays.
    spurious = store.annotation(p["spurious"])
    set_id = find_set(store, "mistakenness", p["run"]).id
    flagged = lambda: [o.annotation_id for o in object_scores(store, set_id, ids["l2"])]  # noqa: E731
    assert p["spurious"] in flagged()
    press(qtbot, win, Qt.Key_X)
    assert store.annotation(p["spurious"]) is None and review.items[3].state == "deleted"
    assert p["spurious"] not in flagged() and "reviewed" in review.status.text()
    # Undo brings the label back with its id, its score row, and the row to review.
    focus_canvas(qtbot, win)
    press(qtbot, win, Qt.Key_Z, Qt.ControlModifier)
    assert store.annotation(p["spurious"]) == spurious and p["spurious"] in flagged()
    assert review.items[3].state == "to review" and ("spurious", p["spurious"], None) not in load_marks(store, p["run"])
    win.session.undo_stack.redo()
    assert store.annotation(p["spurious"]) is None and review.items[3].state == "deleted"
    win.close()

    # Reopened, the project shows what was reviewed: the deleted label's object too, from its mark.
    win2 = make_window(p["path"])
    view2 = win2.feature("label_next")
    view2.review.show_run(p["run"])
    assert [(it.obj.kind, it.obj.annotation_id, it.state) for it in view2.review.items] == [
        ("missing", None, "accepted"), ("wrong_class", p["wrong_label"], "accepted"),
        ("loose_box", p["loose_label"], "kept"), ("spurious", p["spurious"], "deleted")]
    assert _row_texts(view2.review) == ["accepted", "accepted", "kept", "deleted"]
    assert view2.review.status.text() == "Every flagged label has been reviewed (4)."
    assert not view2.review.accept_button.isEnabled()
    # Ranking the run again keeps the marks (they belong to the run's objects, not to one ranking).
    rank(qtbot, view2, "mistakenness")
    assert [it.state for it in view2.review.items if it.obj.kind == "loose_box"] == ["kept"]


def test_accept_a_loose_box_moves_the_label_onto_the_prediction(qtbot, make_window, rank_project):
    p = rank_project
    win, view = open_dock(qtbot, make_window, p)
    rank(qtbot, view, "mistakenness")
    review = view.review
    review.select_row(2)
    assert review.items[2].obj.kind == "loose_box"
    qtbot.mouseClick(review.accept_button, Qt.LeftButton)
    assert win.store.annotation(p["loose_label"]).bbox == (20.0, 10.0, 40.0, 40.0)
    assert review.current_row() == 3  # the next one to review
    win.session.undo_stack.undo()
    assert win.store.annotation(p["loose_label"]).bbox == B


def test_cancel_drops_the_ranking(qtbot, make_window, rank_project):
    win, view = open_dock(qtbot, make_window, rank_project)
    panel = view.rank
    seen = []
    panel.ranked.connect(seen.append)
    job = panel.start_ranking()
    assert not panel.rank_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    assert job.wait(10)
    qtbot.wait(50)
    assert not seen and panel.status.text() == "Ranking cancelled."
    assert panel.rank_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_a_diverse_batch_skips_the_near_duplicate(qtbot, make_window, rank_project):
    """With the run's image features stored, no model is needed: u3 is a near-copy of u1 in feature
    space, so a batch of 2 is u1 (the most uncertain) then u2, not u3."""
    p = rank_project
    ids = p["ids"]
    store = Store.open(p["path"], create=False)
    save_embeddings(store, p["run"], {ids["u1"]: np.array([1.0, 0.0]), ids["u3"]: np.array([1.0, 0.01]),
                                      ids["u2"]: np.array([-1.0, 0.0])})
    store.close()
    win, view = open_dock(qtbot, make_window, p)
    view.rank.diverse_spin.setValue(2)
    result = rank(qtbot, view, "uncertainty")
    assert [s.image_id for s in result.ranking.images] == [ids["u1"], ids["u2"]]
    assert view.rank.list.topLevelItemCount() == 2 and "diverse batch of 2" in view.rank.status.text()


def test_find_wrong_labels_from_the_review_tab_ranks_and_lists_them(qtbot, make_window, rank_project):
    """The review tab starts its own ranking: Find wrong labels ranks the run with mistakenness (the
    ranking tab shows its progress), then the review tab lists the four flagged labels, best first."""
    win, view = open_dock(qtbot, make_window, rank_project)
    view.rank.strategy_combo.setCurrentIndex(view.rank.strategy_combo.findData("uncertainty"))
    view.tabs.setCurrentWidget(view.review)
    assert not view.review.items and "press Find wrong labels" in view.review.status.text()
    assert view.review.find_button.isEnabled()
    with qtbot.waitSignal(view.rank.ranked, timeout=20000) as blocker:
        qtbot.mouseClick(view.review.find_button, Qt.LeftButton)
        assert view.tabs.currentWidget() is view.rank
    assert blocker.args[0].ranking.strategy == "mistakenness"
    assert view.tabs.currentWidget() is view.review
    kinds = [it.obj.kind for it in view.review.items]
    assert kinds == ["missing", "wrong_class", "loose_box", "spurious"]
    assert find_set(win.store, "mistakenness", rank_project["run"]) is not None


def test_the_status_says_what_to_do_next_for_the_open_project(qtbot, make_window, tmp_path):
    """A project without predictions is told how to make some (it said "Open a project with
    predictions" with that project open, as the Evaluation dock did)."""
    with Store.open(tmp_path / "no_runs") as bare:
        write_rgb(bare.root / "a.png", np.zeros((8, 8, 3), np.uint8))
        bare.add_image(ImageRecord(None, "a.png", 8, 8))
    win = make_window(tmp_path / "no_runs")
    view = win.feature("label_next")
    next(a for a in win.menu("&Model").findChildren(QAction) if a.text().startswith("Rank images and review")).trigger()
    qtbot.waitUntil(lambda: view.isVisible(), timeout=3000)
    text = view.rank.status.text()
    assert "no predictions yet" in text and "Predict" in text and "then rank them" in text
    view.rank.set_store(None)
    assert view.rank.status.text() == "Open a project with predictions, choose a run and press Rank."
