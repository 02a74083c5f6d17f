"""What the Explain feature runs on the engine thread (EngineBridge.run_task): plain functions of the
loaded model that call engine.explain and return plain results (arrays, numbers, names).

Each `*_task(...)` returns fn(loaded, token, progress) for run_task. engine/ is imported inside the
functions, on the engine thread, so importing the window never imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annotations.imageio import read_rgb

SLOW_METHODS = ("occlusion", "ablationcam", "drise")  # their predicted cost is shown before they start
SANITY_BOUND = 0.5  # rank correlation with randomised weights under this: the map depends on the weights
LIVE_METHOD = "eigencam"  # class-agnostic, one forward pass: what the live view can afford per frame
THUMB_WIDTH = 320


@dataclass(frozen=True)
class TargetSpec:
    """What to explain, as the window knows it: a prediction or label (box + class name), a class, or
    the model's top detection (kind "top")."""
    kind: str  # "prediction" | "label" | "class" | "top"
    box_xywh: tuple[float, float, float, float] | None = None
    class_name: str | None = None
    annotation_id: int | None = None
    image_id: int | None = None

    def text(self) -> str:
        what = {"prediction": "prediction", "label": "label", "class": "class", "top": "top detection"}[self.kind]
        ident = f" #{self.annotation_id}" if self.annotation_id is not None else ""
        cls = f" {self.class_name}" if self.class_name else ""
        return f"{what}{ident}{cls}"


@dataclass(frozen=True)
class ExplainRequest:
    image_path: str
    target: TargetSpec
    method: str
    layer: str | None = None
    params: dict = field(default_factory=dict)
    sanity: bool = True
    sanity_stages: int = 2
    auc_steps: int = 16


@dataclass
class ExplainOutcome:
    request: ExplainRequest
    heatmap: np.ndarray  # H x W float32 in [0, 1], image pixels
    layer: str | None
    target: dict  # engine Target.describe()
    deletion_auc: float | None
    insertion_auc: float | None
    probability: float | None
    seconds: float
    sanity: float | None = None  # rank correlation with every layer re-initialised
    thumbnail: np.ndarray | None = None  # the map over the image, small (RGB uint8), for the dock

    @property
    def meaningful(self) -> bool | None:
        return None if self.sanity is None else self.sanity < SANITY_BOUND


@dataclass(frozen=True)
class MethodInfo:
    name: str
    title: str
    uses_layer: bool
    needs_target: bool


@dataclass
class ModelOutline:
    """What the dock shows of the loaded model: its layers (name, type), default layer, kind, methods."""
    name: str
    kind: str
    layers: list[tuple[str, str]]
    default_layer: str
    categories: list[str]
    methods: list[MethodInfo]


@dataclass
class FeatureOutcome:
    layer: str
    grid: np.ndarray  # float32 in [0, 1]
    channels: list[int]
    tile_means: list[float]
    tile_size: tuple[int, int]  # h, w of one tile
    columns: int
    stats: dict  # engine LayerStats.to_dict()


def explainable(loaded):
    from engine.explain import Explainable
    return Explainable.from_loaded(loaded)


def outline_task():
    def run(loaded, token, progress):
        from engine.explain import METHODS
        model = explainable(loaded)
        layers = [(n, type(m).__name__) for n, m in model.model.named_modules() if n]
        methods = [MethodInfo(m.name, m.title or m.name, m.uses_layer, m.needs_target) for m in METHODS.values()]
        return ModelOutline(model.name, model.kind, layers, model.default_layer(), list(model.categories), methods)
    return run


def engine_target(model, image: np.ndarray, spec: TargetSpec):
    """The engine's target for `spec` on this model (ExplainError with the reason when there is none)."""
    from engine import explain as ex
    known = spec.class_name if spec.class_name in model.categories else None
    if model.kind == ex.SEMANTIC:
        target = ex.semantic_target(model, image, known)
        return ex.box_region(target, spec.box_xywh, image.shape) if spec.box_xywh is not None else target
    if model.kind != ex.DETECTOR:
        if known is None:
            raise ex.ExplainError(f"choose one of the model's classes (not {spec.class_name!r})")
        return ex.ClassTarget(model.label_index(known), known)
    if spec.kind in ("top", "class") or spec.box_xywh is None:
        if spec.kind == "class" and known is None:
            model.label_index(spec.class_name or "")  # raises: the classes the model knows
        return ex.top_detection_target(model, image, 0, known)
    if known is not None:
        make = ex.detection if spec.kind == "prediction" else ex.label_box
        return make(spec.box_xywh, model.label_index(known), known)
    if spec.kind == "label":  # a project class the model does not know: its best guess for the box
        return ex.best_class_for_box(model, image, spec.box_xywh)
    model.label_index(spec.class_name or "")  # raises with the classes it knows
    raise AssertionError("unreachable")


def _split(progress, start: int, span: int, scale: int = 1000):
    """progress(done, total) of one phase, reported as part [start, start + span) of 0..scale."""
    def report(done, total):
        progress(start + int(span * done / max(1, total)), scale)
    return report


def explain_task(req: ExplainRequest):
    def run(loaded, token, progress):
        from engine.explain import explain, sanity_check
        model = explainable(loaded)
        image = read_rgb(req.image_path)
        target = engine_target(model, image, req.target)
        first = 1000 if not req.sanity else 700
        result = explain(model, image, target, req.method, req.layer or None, req.params, auc_steps=req.auc_steps,
                         progress=_split(progress, 0, first), cancel=token)
        sanity = None
        if req.sanity:
            steps = sanity_check(model, image, target, req.method, result.layer, req.params,
                                 reference=result.input_map, stages=req.sanity_stages,
                                 progress=_split(progress, first, 1000 - first), cancel=token)
            sanity = steps[-1].rank_correlation
        progress(1000, 1000)
        return ExplainOutcome(req, result.heatmap, result.layer, result.target, result.deletion_auc,
                              result.insertion_auc, result.probability, result.seconds, sanity,
                              thumbnail(image, result.heatmap, result.target.get("box_xywh")))
    return run


def thumbnail(image: np.ndarray, heat: np.ndarray, box_xywh=None, width: int = THUMB_WIDTH) -> np.ndarray:
    import cv2
    from engine.explain import overlay
    out = overlay(image, heat, 0.5, box_xywh)
    h, w = out.shape[:2]
    if w > width:
        out = cv2.resize(out, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out)


def estimate_task(req: ExplainRequest):
    """(single-image forward passes, predicted seconds) of all that Explain will run for the request:
    the method, its AUC curves and, when asked, the sanity check; then the seconds without that check."""
    def run(loaded, token, progress):
        from engine.explain import estimate
        model = explainable(loaded)
        image = read_rgb(req.image_path)
        est = estimate(model, image, engine_target(model, image, req.target), req.method, req.layer or None,
                       req.params, cancel=token)
        passes, seconds = est.with_checks(req.auc_steps, req.sanity_stages if req.sanity else 0)
        return passes, seconds, est.with_checks(req.auc_steps, 0)[1]
    return run


def feature_task(image_path: str, layer: str, top_k: int):
    def run(loaded, token, progress):
        from engine.explain import feature_maps
        model = explainable(loaded)
        grid = feature_maps(model, read_rgb(image_path), layer, top_k=top_k)
        token.check()
        s = grid.stats
        cols = int(np.ceil(np.sqrt(len(grid.channels))))
        return FeatureOutcome(layer, grid.grid, grid.channels, grid.tile_means, (s.height, s.width), cols,
                              s.to_dict())
    return run


def filter_task(layer: str, channel: int, steps: int, size: int):
    def run(loaded, token, progress):
        from engine.explain import visualise_filter
        return visualise_filter(explainable(loaded), layer, channel, size=(size, size), steps=steps,
                                progress=progress, cancel=token)
    return run


class LiveOverlay:
    """EigenCAM over each live frame, on the engine thread (EngineBridge.set_frame_overlay): the frame
    request that predicts the frame also explains it, so the newest-frame-wins rule holds for both."""

    def __init__(self, layer: str | None = None, alpha: float = 0.45):
        self.layer, self.alpha = layer, alpha
        self._model = None  # (loaded, Explainable): rebuilt when another model is loaded

    def __call__(self, loaded, image: np.ndarray, display: np.ndarray) -> np.ndarray:
        from engine.explain import explain, overlay
        if self._model is None or self._model[0] is not loaded:
            self._model = (loaded, explainable(loaded))
        heat = explain(self._model[1], image, None, LIVE_METHOD, self.layer, faithfulness=False).heatmap
        return overlay(display, heat, self.alpha)
