"""On the compact detector trained briefly on the simplified demo (conftest.trained_compact), the
pointing game over the validation images: the map's peak falls inside the labelled object's box for
at least 80% of the labels, with Grad-CAM (at the family's default layer) and with occlusion."""
import pytest

from annotations.store import Store
from engine.explain import Explainable
from engine.explain.pointing import pointing_game
from engine.weights import load_model


@pytest.fixture(scope="module")
def compact(trained_compact):
    project, run_dir, cpu_seconds = trained_compact
    loaded = load_model(None, str(run_dir / "last.pt"), "cpu", project_categories=["shape"])
    store = Store.open(project, create=False)
    yield Explainable.from_loaded(loaded), store, cpu_seconds
    store.close()


@pytest.mark.parametrize("method,params", [("gradcam", None), ("occlusion", {"window": 32, "stride": 16})])
def test_pointing_game_on_validation_images(compact, method, params, record_property):
    model, store, cpu_seconds = compact
    record_property("training_cpu_seconds", round(cpu_seconds, 1))
    report = pointing_game(model, store, store.image_ids("val"), method, params=params, auc_steps=8)
    d = report.to_dict()
    record_property(f"pointing_{method}", d["accuracy"])
    assert d["total"] >= 20 and set(d["per_class"]) == {"shape"}
    assert d["accuracy"] >= 0.8, (method, d["accuracy"], [im["file_name"] for im in d["images"][:5]])
    assert d["mean_deletion_auc"] < d["mean_insertion_auc"]


# Adebayo et al.: re-initialising every layer must change a map that explains the model. Bound on the
# rank correlation between the trained and the fully randomised model's maps, mean over 3 labels:
RANDOMISED_BOUND = 0.5


def test_randomised_weights_change_gradcam_and_gradients_but_guided_backprop_much_less(compact, record_property):
    import numpy as np

    from annotations.imageio import read_rgb
    from engine.explain import label_box, sanity_check
    from engine.explain.faithfulness import parameter_modules
    model, store, _ = compact
    final = {m: [] for m in ("gradcam", "saliency", "guided_backprop")}
    for image_id in store.image_ids("val")[:3]:
        rgb = read_rgb(store.image_path(store.image(image_id)))
        (ann,) = store.annotations(image_id=image_id)
        target = label_box(ann.bbox, 1, "shape")
        for method in final:
            steps = sanity_check(model, rgb, target, method, stages=4, seed=1)
            assert len(steps) == 4 and steps[-1].layers == parameter_modules(model.model)  # every layer, top first
            final[method].append(steps[-1].rank_correlation)
    mean = {m: float(np.mean(v)) for m, v in final.items()}
    for m, v in mean.items():
        record_property(f"randomised_rank_correlation_{m}", round(v, 3))
    assert mean["gradcam"] < RANDOMISED_BOUND and mean["saliency"] < RANDOMISED_BOUND, mean
    # As the paper found: guided backpropagation's map stays closer to the trained one than the plain
    # gradient's does (it mostly reconstructs the image), so it says little about the model.
    assert mean["guided_backprop"] > mean["saliency"], mean
