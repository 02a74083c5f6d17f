"""Hand-made projects for the ranking tests: images, runs, labels and predictions, no model."""
from __future__ import annotations

from annotations.model import BOX, LABEL, PREDICTION, Annotation, Category, ImageRecord, ModelRun


def categories(store, names=("a", "b", "c")) -> dict[str, int]:
    return {n: store.add_category(Category(None, n)) for n in names}


def image(store, name: str, w: int = 100, h: int = 100) -> int:
    return store.add_image(ImageRecord(None, f"images/{name}.jpg", w, h, "train"))


def run(store, model: str = "hand", **params) -> int:
    return store.add_run(ModelRun(None, model, "", "predict", params))


def pred(store, image_id: int, category_id: int, box, score: float, run_id: int) -> int:
    return store.add_annotation(Annotation(None, image_id, category_id, BOX, tuple(map(float, box)), score=score,
                                           status=PREDICTION, source="hand", run_id=run_id))


def label(store, image_id: int, category_id: int, box) -> int:
    return store.add_annotation(Annotation(None, image_id, category_id, BOX, tuple(map(float, box)), status=LABEL))
