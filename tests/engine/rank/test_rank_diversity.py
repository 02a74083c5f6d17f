"""A diverse batch keeps one of a group of near-copies, in synthetic and in a model's own features."""
from __future__ import annotations

import numpy as np
import pytest

from engine.rank import RankError, rank_project
from engine.rank.diversity import diverse_order, nearest_neighbours, normalise


def test_near_copies_give_way_to_other_scenes():
    rng = np.random.default_rng(0)
    scene = rng.normal(size=32)
    copies = [scene + rng.normal(scale=0.01, size=32) for _ in range(5)]
    others = [rng.normal(size=32) for _ in range(4)]
    scores = [0.95, 0.94, 0.93, 0.92, 0.91, 0.6, 0.55, 0.5, 0.45]
    choice = diverse_order(scores, np.stack(copies + others), 4, k=8)
    assert sorted(choice.order) == [0, 5, 6, 7]  # one copy (the best), then the other scenes by score
    assert choice.order[0] == 0 and choice.penalties[0] == 0.0
    # Once the other scenes are used up, the copies come back, with their penalty shown.
    all_of_them = diverse_order(scores, np.stack(copies + others), 9, k=8)
    assert sorted(all_of_them.order) == list(range(9))
    assert min(p for i, p in zip(all_of_them.order, all_of_them.penalties) if i in (1, 2, 3, 4)) > 0.9


def test_neighbours_are_the_most_similar_other_rows():
    x = normalise(np.array([[1.0, 0], [0.9, 0.1], [0, 1.0], [-1.0, 0.0]]))
    idx, sim = nearest_neighbours(x, 2)
    assert idx[0, 0] == 1 and idx[2].tolist()[0] != 2 and sim.shape == (4, 2)
    assert np.all(sim[:, 0] >= sim[:, 1])


def test_bad_batch_sizes_are_refused():
    with pytest.raises(RankError):
        diverse_order([1.0], np.zeros((1, 3)), 0)
    with pytest.raises(RankError):
        diverse_order([1.0, 2.0], np.zeros((1, 3)), 1)


def test_a_diverse_ranking_in_the_run_models_feature_space(tmp_path, demo_project):
    """Ten unlabelled images: one demo scene and three near-copies of it (pixel noise) have the most
    uncertain predictions, six other scenes less. With --diverse 4 one of the four same-scene images
    is chosen and three other scenes. The embeddings are a real (random-weight) compact model's."""
    import shutil

    import torch

    from annotations.imageio import read_rgb, write_rgb
    from annotations.model import ImageRecord
    from annotations.scores import load_embeddings
    from annotations.store import Store
    from engine.predictor import Predictor
    from engine.rank.embeddings import embed_store_images
    from engine.weights import load_model

    from .helpers import categories, pred, run

    store = Store.open(tmp_path / "p")
    try:
        (tmp_path / "p" / "images").mkdir()
        rng = np.random.default_rng(0)
        base = read_rgb(demo_project / "images" / "shapes_0000.jpg")
        names = []
        for k in range(3):
            noisy = np.clip(base.astype(int) + rng.integers(-4, 5, base.shape), 0, 255).astype(np.uint8)
            write_rgb(tmp_path / "p" / "images" / f"copy{k}.jpg", noisy)
            names.append(f"copy{k}.jpg")
        for n in range(6):
            shutil.copy(demo_project / "images" / f"shapes_{n + 1:04d}.jpg", tmp_path / "p" / "images")
            names.append(f"shapes_{n + 1:04d}.jpg")
        shutil.copy(demo_project / "images" / "shapes_0000.jpg", tmp_path / "p" / "images")
        names.insert(0, "shapes_0000.jpg")
        ids = [store.add_image(ImageRecord(None, f"images/{n}", base.shape[1], base.shape[0])) for n in names]
        c = categories(store, ("a",))
        r = run(store)
        for k, i in enumerate(ids):
            pred(store, i, c["a"], (10, 10, 40, 40), 0.5 if k < 4 else 0.3 + 0.01 * k, r)  # LC 0.5 / ~0.3
        torch.manual_seed(0)
        predictor = Predictor(load_model("fcos_compact_fpn", "random", "cpu"), score_threshold=0.5, batch_size=4)
        embed_store_images(store, predictor, ids, r)
        assert set(load_embeddings(store, r)) == set(ids)
        plain = rank_project(store, "uncertainty", r)
        assert sorted(s.image_id for s in plain.images[:4]) == sorted(ids[:4])
        diverse = rank_project(store, "uncertainty", r, diverse=4)
        picked = [s.image_id for s in diverse.images]
        assert len(picked) == 4 and len(set(picked) & set(ids[:4])) == 1 and picked[0] == ids[0]
        assert all("penalty" in s.extra for s in diverse.images)
        # Without stored embeddings and nothing to compute them, a diverse ranking says so.
        r2 = run(store)
        pred(store, ids[0], c["a"], (10, 10, 40, 40), 0.5, r2)
        with pytest.raises(RankError, match="embeddings"):
            rank_project(store, "uncertainty", r2, diverse=2)
    finally:
        store.close()
