"""The model passes of a ranking from the window: the run's model on the mirror images (flip) and
its image features for a diverse batch, loaded from the run's checkpoint inside the ranking job."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

import main
from annotations.demo import generate_demo
from annotations.model import LABEL
from annotations.scores import load_embeddings
from annotations.store import Store


@pytest.fixture
def checkpoint_project(tmp_path):
    """A demo project whose val images are unlabelled, a random-weight compact checkpoint, and a
    prediction run of it on those images."""
    import torch

    from engine.registry import BACKGROUND, build_model
    from engine.weights import save_checkpoint
    path = tmp_path / "demo"
    generate_demo(path, n_images=16, seed=2).close()
    with Store.open(path, create=False) as store:
        val = store.image_ids("val")
        store.delete_annotations([a.id for a in store.annotations(status=LABEL, image_ids=val)])
        names = [c.name for c in store.categories()]
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("fcos_compact_fpn", num_classes=len(names) + 1),
                           "fcos_compact_fpn", [BACKGROUND, *names])
    assert main.main(["predict", "--model", "fcos_compact_fpn", "--weights", str(ckpt), "--device", "cpu",
                      "--score", "0.001", "--project", str(path), "--split", "val"]) == 0
    return path, len(val)


def test_flip_and_diverse_run_the_model_in_the_job(qtbot, make_window, checkpoint_project):
    path, n_val = checkpoint_project
    win = make_window(path)
    view = win.feature("label_next")
    win.show_panel("label_next")
    panel = view.rank
    panel.strategy_combo.setCurrentIndex(panel.strategy_combo.findData("disagreement"))
    assert panel.run2_combo.isEnabled() and panel.run2_combo.currentData() == "flip"
    panel.diverse_spin.setValue(2)
    with qtbot.waitSignal(panel.ranked, timeout=240000) as blocker:
        qtbot.mouseClick(panel.rank_button, Qt.LeftButton)
    ranking = blocker.args[0].ranking
    assert ranking.run2_id is not None and ranking.run2_id != ranking.run_id
    assert win.store.run(ranking.run2_id).params["flip_of"] == ranking.run_id
    assert len(ranking.images) == min(2, n_val) and all("penalty" in s.extra for s in ranking.images)
    assert len(load_embeddings(win.store, ranking.run_id)) == n_val
    assert panel.run2_combo.findData(ranking.run2_id) >= 0  # the mirror-image run is offered now
    assert "stored as run" in panel.status.text()
