"""The worker that lives on the engine thread and alone touches the loaded model.

EngineBridge (gui/bridge.py) creates it, moves it onto its QThread and calls its slots through queued
signals; this module never runs on the GUI thread except for construction. What the worker calls in
the engine is gathered in EngineHooks so tests can swap in a slow fake predictor.
"""
from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from annotations.errors import Cancelled, CancelToken, SightlineError
from annotations.imageio import read_rgb
from annotations.model import ModelRun
from annotations.store import Store

from .overlay import blend_masks

log = logging.getLogger(__name__)


@dataclass
class EngineHooks:
    """The engine entry points the worker uses (defaults import engine/ lazily, on the engine thread)."""
    load_model: Callable[..., Any]  # (name, source, device, project_categories, fp16) -> LoadedModel
    make_predictor: Callable[..., Any]  # (loaded, score_threshold) -> object with predict(images, cancel)
    describe: Callable[[], dict]  # {"cuda": bool, "cuda_name": str, "models": [{name, task, default_score}]}
    release_model: Callable[[Any], None] = lambda loaded: None


def _default_load_model(name, source, device, project_categories, fp16):
    from engine.device import fp16_usable, resolve_device
    from engine.weights import load_model
    # On "auto" without CUDA the model runs in fp32 and the loaded info says so (the panel only
    # offers fp16 when CUDA is there).
    fp16 = fp16_usable(resolve_device(device), fp16)
    return load_model(name, source=source, device=device, project_categories=project_categories, fp16=fp16)


def _default_make_predictor(loaded, score_threshold):
    from engine.predictor import Predictor
    return Predictor(loaded, score_threshold=score_threshold)


def _default_describe() -> dict:
    import torch
    from engine.registry import SPECS
    cuda = bool(torch.cuda.is_available())
    return {"cuda": cuda, "cuda_name": torch.cuda.get_device_name(0) if cuda else "",
            "models": [{"name": s.name, "task": s.task, "default_score": float(s.default_score),
                        "description": s.description, "has_weights": s.has_weights} for s in SPECS.values()]}


def _default_release_model(loaded) -> None:
    from engine.weights import release_model
    release_model(loaded)


def default_hooks() -> EngineHooks:
    return EngineHooks(_default_load_model, _default_make_predictor, _default_describe, _default_release_model)


@dataclass
class ImageResult:
    image_id: int
    prediction: Any  # engine.predictor.ImagePrediction
    run_id: int | None  # where it was stored (None: no project open)
    stored_ids: list[int]
    seconds: float


@dataclass
class FrameResult:
    frame: Any  # engine.video.Frame (index, image, captured_at)
    prediction: Any
    display: np.ndarray  # the frame with the predicted masks blended in (HxWx3 RGB)
    seconds: float  # inference time of this frame
    finished_at: float  # time.perf_counter() when the worker was done
    started_at: float = 0.0  # time.perf_counter() when the worker took the frame


@dataclass
class BatchResult:
    run_id: int | None
    images: int  # images predicted
    total: int  # images asked for
    stored: int  # predictions stored
    cancelled: bool
    problems: list[str] = field(default_factory=list)  # images that could not be read
    seconds: float = 0.0


class SharedState:
    """What the GUI thread and the engine thread both touch, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.store_lock = threading.Lock()  # held while the worker reads or writes the store
        self.store: Store | None = None
        self.cancel_generation = 0
        self._token = CancelToken()  # the current generation's: cancelled when cancel_all moves past it
        self.latest_image_request = 0
        self.pending_frame: tuple[int, Any, int] | None = None  # (request id, frame, generation)
        self.frame_wake_posted = False
        self.frames_dropped = 0  # frames replaced while waiting (never queued)
        self.class_colors: dict[str, tuple[int, int, int]] = {}  # replaced whole, never changed in place
        self.stale_dropped = 0  # image requests skipped or results dropped as stale
        # fn(loaded, frame image, display) -> display drawn over each live frame (an explanation), or None
        self.frame_overlay: Callable[[Any, np.ndarray, np.ndarray], np.ndarray] | None = None
        self.idle = threading.Event()
        self.idle.set()

    def cancelled(self, generation: int) -> bool:
        return self.cancel_generation != generation

    def cancel_all(self) -> None:
        """Cancel every request of the generations so far (call with `lock` held)."""
        self.cancel_generation += 1
        self._token.cancel()
        self._token = CancelToken()

    def token(self, generation: int) -> CancelToken:
        """The token the engine's functions poll for a request of this generation."""
        with self.lock:
            if generation == self.cancel_generation:
                return self._token
        token = CancelToken()
        token.cancel()
        return token

    def take_frame(self):
        with self.lock:
            item, self.pending_frame = self.pending_frame, None
            self.frame_wake_posted = False
            return item


class NotReady(SightlineError):
    """A request the engine thread cannot serve now: no model loaded, no project open, an image gone."""


NO_MODEL = "No model is loaded: pick one in the Model panel and press Load."


def _message(e: BaseException) -> str:
    """The readable text of a failure on the engine thread; the failure goes to the log with its trace."""
    text = str(e).strip()
    text = text if text else e.__class__.__name__
    if not isinstance(e, Cancelled):
        log.error("engine thread: %s", text, exc_info=e)
    return text


class EngineWorker(QObject):
    loaded = Signal(int, dict)
    load_failed = Signal(int, str)
    done = Signal(int, object)  # request id, ImageResult | FrameResult | BatchResult
    failed = Signal(int, str)
    skipped = Signal(int)  # a stale or cancelled request that did nothing
    progress = Signal(int, int, int)  # request id, done, total
    busy = Signal(bool)
    described = Signal(dict)
    task_done = Signal(int, object)  # request id, what the task returned
    task_failed = Signal(int, str)
    task_cancelled = Signal(int)
    task_progress = Signal(int, int, int)  # request id, done, total

    def __init__(self, shared: SharedState, hooks: EngineHooks):
        super().__init__()
        self.shared = shared
        self.hooks = hooks
        self.loaded_model = None
        self.predictor = None
        self.info: dict = {}
        self._interactive_run: int | None = None  # run that "predict this image" writes to
        self._run_store: Store | None = None

    # ---- slots (engine thread) -------------------------------------------------------------------
    @Slot()
    def describe(self) -> None:
        try:
            self.described.emit(self.hooks.describe())
        except Exception as e:  # noqa: BLE001
            self.described.emit({"cuda": False, "cuda_name": "", "models": [], "error": _message(e)})

    @Slot(int, str, str, str, bool, float, bool)
    def load(self, rid: int, name: str, source: str, device: str, fp16: bool, score: float,
             map_to_project: bool) -> None:
        self._begin()
        try:
            self.release()
            t0 = time.perf_counter()
            names = None
            if map_to_project:
                with self.shared.store_lock:
                    store = self.shared.store
                    names = [c.name for c in store.categories()] if store is not None else None
            loaded = self.hooks.load_model(name, source, device, names, fp16)
            self.loaded_model = loaded
            threshold = None if score < 0 else score
            self.predictor = self.hooks.make_predictor(loaded, threshold)
            self.info = {
                **loaded.info(), "weights": source, "seconds": time.perf_counter() - t0,
                "score_threshold": self.predictor.score_threshold,
                "note": "fp16 needs CUDA: running in fp32." if fp16 and not loaded.fp16 else "",
            }
            self.loaded.emit(rid, dict(self.info))
        except Exception as e:  # noqa: BLE001 - WeightsUnavailable and friends carry readable text
            self.release()
            self.load_failed.emit(rid, f"Could not load {name} ({source}): {_message(e)}")
        finally:
            self._end()

    @Slot(float)
    def set_score_threshold(self, score: float) -> None:
        if self.loaded_model is None:
            return
        threshold = None if score < 0 else score
        try:
            self.predictor = self.hooks.make_predictor(self.loaded_model, threshold)
            self.info["score_threshold"] = self.predictor.score_threshold
        except Exception as e:  # noqa: BLE001
            self.failed.emit(0, f"Could not change the score threshold: {_message(e)}")

    @Slot(int, int, int)
    def predict_image(self, rid: int, image_id: int, generation: int) -> None:
        if self._skipped(rid, generation, stale=True):
            return
        self._begin()
        try:
            predictor = self._require_model()
            t0 = time.perf_counter()
            with self.shared.store_lock:
                store = self._store()
                rec = store.image(image_id)
                if rec is None:
                    raise NotReady(f"Image {image_id} is not in the project.")
                rgb = read_rgb(store.image_path(rec))
            pred = predictor.predict([rgb], cancel=self.shared.token(generation))[0]
            seconds = time.perf_counter() - t0
            if self._skipped(rid, generation, stale=True):
                return
            with self.shared.store_lock:
                store = self.shared.store
                run_id, ids = None, []
                if store is not None:
                    run_id = self._interactive_run_id(store)
                    ids = self._store_predictions(store, run_id, [(image_id, pred)], replace=True)
            self.done.emit(rid, ImageResult(image_id, pred, run_id, ids, seconds))
        except Exception as e:  # noqa: BLE001
            self._failed_unless_cancelled(rid, generation, f"Predicting image {image_id} failed", e)
        finally:
            self._end()

    @Slot(int, object, bool, int, int)
    def predict_images(self, rid: int, image_ids, unlabelled_only: bool, batch_size: int, generation: int) -> None:
        if self._skipped(rid, generation):
            return
        self._begin()
        t0 = time.perf_counter()
        result, failure = None, None
        try:
            predictor = self._require_model()
            with self.shared.store_lock:
                store = self._store()
                ids = list(store.image_ids()) if image_ids is None else list(image_ids)
                if unlabelled_only:
                    counts = store.annotation_counts()
                    ids = [i for i in ids if counts.get(i, (0, 0))[0] == 0]
                run_id = store.add_run(ModelRun(None, self.info["name"], self.info["weights"], "predict",
                                                self._run_params(len(ids), unlabelled_only)))
                _track_run(store, run_id, ids)
            result = BatchResult(run_id, 0, len(ids), 0, False)
            self.progress.emit(rid, 0, len(ids))
            cancel = self.shared.token(generation)
            for start in range(0, len(ids), max(1, batch_size)):
                cancel.check()
                batch_ids, images = [], []
                with self.shared.store_lock:
                    store = self._store()
                    for image_id in ids[start:start + batch_size]:
                        rec = store.image(image_id)
                        try:
                            if rec is None:
                                raise NotReady(f"image {image_id} is no longer in the project")
                            images.append(read_rgb(store.image_path(rec)))
                            batch_ids.append(image_id)
                        except Exception as e:  # noqa: BLE001 - one unreadable file does not stop the run
                            result.problems.append(_message(e))
                preds = predictor.predict(images, cancel=cancel) if images else []
                cancel.check()
                with self.shared.store_lock:
                    result.stored += len(self._store_predictions(self._store(), run_id, list(zip(batch_ids, preds))))
                result.images += len(batch_ids)
                self.progress.emit(rid, min(start + batch_size, len(ids)), len(ids))
        except Cancelled:
            result.cancelled = True
        except Exception as e:  # noqa: BLE001
            if result is not None and self.shared.cancelled(generation):
                result.cancelled = True  # the predictor's own cancellation exception
            else:
                kept = "" if result is None else (
                    f" after {result.images} of {result.total} images (the {result.stored} predictions "
                    f"so far are kept in run {result.run_id})")
                failure = f"Predicting images failed{kept}: {_message(e)}"
        finally:
            if result is not None:  # the run's state is final before anyone hears of the outcome
                with self.shared.store_lock:
                    _finish_run(self.shared.store, result.run_id)
            self._end()
        if failure is not None:
            self.failed.emit(rid, failure)
            return
        result.seconds = time.perf_counter() - t0
        self.done.emit(rid, result)

    @Slot()
    def predict_pending_frame(self) -> None:
        item = self.shared.take_frame()
        if item is None:
            return
        rid, frame, generation = item
        if self._skipped(rid, generation):
            return
        self._begin()
        try:
            predictor = self._require_model()
            t0 = time.perf_counter()
            pred = predictor.predict([frame.image], cancel=self.shared.token(generation))[0]
            seconds = time.perf_counter() - t0
            display = blend_masks(frame.image, pred, colors=self.shared.class_colors)
            overlay = self.shared.frame_overlay
            if overlay is not None:
                display = overlay(self.loaded_model, frame.image, display)
            self.done.emit(rid, FrameResult(frame, pred, display, seconds, time.perf_counter(), t0))
        except Exception as e:  # noqa: BLE001
            self._failed_unless_cancelled(rid, generation, f"Predicting frame {getattr(frame, 'index', '?')} failed", e)
        finally:
            self._end()

    @Slot(int, object, object)
    def run_task(self, rid: int, fn, token: CancelToken) -> None:
        """fn(loaded model, token, progress(done, total)) on this thread, with the loaded model (an
        explanation, a look at its layers); its return value arrives as task_done."""
        if token.cancelled:
            self.task_cancelled.emit(rid)
            return
        self._begin()
        try:
            if self.loaded_model is None:
                raise NotReady(NO_MODEL)
            value = fn(self.loaded_model, token, lambda done, total: self.task_progress.emit(rid, done, total))
        except Exception as e:  # noqa: BLE001 - Cancelled included: the task's token says which it was
            if token.cancelled or isinstance(e, Cancelled):
                self.task_cancelled.emit(rid)
            else:
                self.task_failed.emit(rid, _message(e))
        else:
            if token.cancelled:
                self.task_cancelled.emit(rid)
            else:
                self.task_done.emit(rid, value)
        finally:
            self._end()

    @Slot()
    def release(self) -> None:
        """Drop the model so its memory (GPU memory included) returns."""
        loaded, self.loaded_model = self.loaded_model, None
        self.predictor = None
        self.info = {}
        self._interactive_run = None
        if loaded is not None:
            try:
                self.hooks.release_model(loaded)
            except Exception:  # noqa: BLE001 - freeing must never fail a shutdown
                pass
            del loaded
            gc.collect()
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()

    # ---- helpers -------------------------------------------------------------------------------
    def _begin(self) -> None:
        self.shared.idle.clear()
        self.busy.emit(True)

    def _end(self) -> None:
        self.busy.emit(False)
        self.shared.idle.set()

    def _stale(self, rid: int) -> bool:
        if rid < self.shared.latest_image_request:
            with self.shared.lock:
                self.shared.stale_dropped += 1
            return True
        return False

    def _skipped(self, rid: int, generation: int, stale: bool = False) -> bool:
        """Whether a request is dropped (and said to be): its generation was cancelled, or, for an image
        request (stale=True), a newer one came."""
        if (stale and self._stale(rid)) or self.shared.cancelled(generation):
            self.skipped.emit(rid)
            return True
        return False

    def _failed_unless_cancelled(self, rid: int, generation: int, what: str, e: BaseException) -> None:
        """A request that raised: skipped when it was cancelled meanwhile, else failed with the reason."""
        if self.shared.cancelled(generation):
            self.skipped.emit(rid)
        else:
            self.failed.emit(rid, f"{what}: {_message(e)}")

    def _require_model(self):
        if self.predictor is None:
            raise NotReady(NO_MODEL)
        return self.predictor

    def _store(self) -> Store:
        store = self.shared.store
        if store is None:
            raise NotReady("No project is open.")
        return store

    def _run_params(self, n_images: int | None = None, unlabelled_only: bool = False) -> dict:
        params = {"device": self.info.get("device"), "precision": self.info.get("precision"),
                  "score_threshold": self.info.get("score_threshold"), "source": self.info.get("source")}
        if n_images is not None:
            params.update(images=n_images, unlabelled_only=unlabelled_only)
        return params

    def _interactive_run_id(self, store: Store) -> int:
        if self._interactive_run is None or self._run_store is not store or store.run(self._interactive_run) is None:
            params = dict(self._run_params(), interactive=True)
            self._interactive_run = store.add_run(ModelRun(None, self.info["name"], self.info["weights"],
                                                           "predict", params))
            self._run_store = store
        return self._interactive_run

    def _store_predictions(self, store: Store, run_id: int, items, replace: bool = False) -> list[int]:
        """The engine's one storing policy (engine/prediction_store.py): classes the project lacks stay
        in the run until accepted; degenerate predictions are dropped."""
        from engine.prediction_store import store_predictions
        return store_predictions(store, run_id, items, self.info["name"], replace=replace).ids


def _track_run(store: Store, run_id: int, image_ids) -> None:
    """A batch run records its images, so a stop or a crash leaves it incomplete, not complete."""
    from engine.run_progress import begin_run
    begin_run(store, run_id, image_ids)


def _finish_run(store: Store | None, run_id: int) -> None:
    if store is None:
        return
    from engine.run_progress import finish_run
    try:
        finish_run(store, run_id)
    except Exception:  # noqa: BLE001 - the run then reads as incomplete, which it is
        pass
