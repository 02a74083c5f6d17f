"""A compact detector trained briefly, in the test session, on a simplified demo project: the demo's
shapes merged into one class ("shape"), keeping the images that hold exactly one object."""
import pytest

MODEL = "fcos_compact_fpn"
TRAIN = dict(image_size=128, batch_size=4, epochs=16, lr=0.002, warmup_iters=10, amp=False, augment=False, seed=0,
             val_split="", log_every=1000)  # about 60 s of one CPU core


def simplified_demo(path, n_images: int = 320, seed: int = 3):
    """One class, one object per image (the demo's single-shape images); 1/4 of them in val."""
    from annotations.demo import generate_demo
    from annotations.model import Category
    store = generate_demo(path, n_images=n_images, seed=seed, size=(160, 120), val_fraction=0.25)
    try:
        cats = store.categories()
        for c in cats[1:]:
            store.delete_category(c.id, reassign_to=cats[0].id)
        store.update_category(Category(cats[0].id, "shape", "", cats[0].color))
        store.delete_images([i for i in store.image_ids() if len(store.annotations(image_id=i)) != 1])
    finally:
        store.close()
    return path


@pytest.fixture(scope="session")
def trained_compact(tmp_path_factory):
    """(project folder, run folder) of the compact detector trained on the simplified demo."""
    import time

    from engine.training import default_options, train
    root = tmp_path_factory.mktemp("explain_compact")
    project = simplified_demo(root / "project")
    run_dir = project / "runs" / "compact"
    opts = default_options(MODEL, "random", **TRAIN)
    cpu = time.process_time()
    result = train(project, opts, run_dir)
    assert result.status == "finished"
    return project, run_dir, time.process_time() - cpu
