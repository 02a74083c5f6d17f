"""A slow fake engine for the bridge tests: same entry points as engine/, no torch, timings chosen by
the test. Its predictions are the real engine.predictor.ImagePrediction once that exists."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from gui.engine_worker import EngineHooks

try:  # the engine's own result type, when engine/predictor.py has landed
    from engine.predictor import ImagePrediction as _RealPrediction
except Exception:  # noqa: BLE001
    _RealPrediction = None


@dataclass
class FakeImagePrediction:
    boxes: np.ndarray
    scores: np.ndarray
    labels: list
    masks: list | None = None
    semantic: np.ndarray | None = None
    class_names: list = field(default_factory=list)


def make_prediction(boxes, scores, labels, masks=None):
    cls = _RealPrediction or FakeImagePrediction
    return cls(boxes=np.asarray(boxes, np.float32).reshape(-1, 4), scores=np.asarray(scores, np.float32),
               labels=list(labels), masks=masks, semantic=None,
               class_names=["__background__", "dark", "bright"])


def level_of(image: np.ndarray) -> int:
    """Tests tell their images apart by a flat grey level."""
    return int(round(float(image.mean())))


class SlowFakePredictor:
    """Sleeps `delay` seconds per call (checking cancel every 10 ms); one box per image, "bright"
    when the image is light, else "dark". `fail_levels`: image levels on which predict raises."""

    def __init__(self, delay=0.2, fail_levels=(), with_masks=False):
        self.delay = delay
        self.fail_levels = set(fail_levels)
        self.with_masks = with_masks
        self.calls: list[list[int]] = []  # levels of the images of each call
        self.started = threading.Event()  # set when a call begins
        self.score_threshold = None

    def predict(self, images, cancel=None):
        levels = [level_of(im) for im in images]
        self.calls.append(levels)
        self.started.set()
        end = time.perf_counter() + self.delay
        while time.perf_counter() < end:
            if cancel is not None and cancel.cancelled:
                return []
            time.sleep(0.01)
        out = []
        for im, lv in zip(images, levels):
            if lv in self.fail_levels:
                raise RuntimeError(f"simulated CUDA out of memory on level {lv}")
            h, w = im.shape[:2]
            masks = None
            if self.with_masks:
                from annotations.geometry import encode_mask
                m = np.zeros((h, w), np.uint8)
                m[h // 4:3 * h // 4, w // 4:3 * w // 4] = 1
                masks = [encode_mask(m)]
            out.append(make_prediction([[w / 4, h / 4, w / 2, h / 2]], [0.9],
                                       ["bright" if lv > 127 else "dark"], masks))
        return out


class FakeLoaded(SimpleNamespace):
    """Like engine.weights.LoadedModel (and weak-referenceable, to check it is freed)."""
    __slots__ = ("__weakref__",)
    precision = "fp32"
    fp16 = False

    def info(self) -> dict:
        """What LoadedModel.info() gives, for the fake."""
        return {"name": self.spec.name, "task": self.spec.task, "categories": list(self.categories),
                "device": str(self.device), "device_name": str(self.device), "precision": self.precision,
                "source": self.source, "description": f"{self.spec.name} · {self.source} · {self.device}",
                "default_score": self.spec.default_score, "mapping": None}


class FakeEngine:
    """EngineHooks over SlowFakePredictor; load_model("broken", ...) fails like missing weights."""

    def __init__(self, predictor: SlowFakePredictor, cuda=False):
        self.predictor = predictor
        self.cuda = cuda
        self.loads: list[tuple] = []

    def load_model(self, name, source, device, project_categories, fp16):
        self.loads.append((name, source, device, project_categories, fp16))
        if name == "broken":
            raise FileNotFoundError("torchvision expects broken.pth in /nowhere/hub/checkpoints; "
                                    "or pick a checkpoint file, or random weights")
        spec = SimpleNamespace(name=name, task="detection", default_score=0.5)
        return FakeLoaded(model=object(), spec=spec, categories=["__background__", "dark", "bright"],
                          device="cuda" if device == "cuda" else "cpu", source=f"fake {source}")

    def make_predictor(self, loaded, score_threshold):
        self.predictor.score_threshold = score_threshold
        return self.predictor

    def describe(self):
        return {"cuda": self.cuda, "cuda_name": "", "models": [
            {"name": "fake_detector", "task": "detection", "default_score": 0.5},
            {"name": "fake_segmenter", "task": "semantic", "default_score": 0.5},
            {"name": "broken", "task": "detection", "default_score": 0.5},
            {"name": "fake_compact", "task": "detection", "default_score": 0.4, "has_weights": False}]}

    def hooks(self) -> EngineHooks:
        return EngineHooks(self.load_model, self.make_predictor, self.describe)


def write_avi(path, n=15, size=(64, 48), fps=25.0, step=16):
    """An MJPG .avi whose frame i is a flat grey of level step*i (+8), written with cv2.VideoWriter."""
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), (8 + step * i) % 256, np.uint8))
    w.release()
    return path


class VanishingCamera:
    """A cv2.VideoCapture stand-in that delivers `n` frames and then fails, like an unplugged webcam."""

    def __init__(self, n, size=(64, 48)):
        self.n, self.size = n, size

    def isOpened(self):
        return True

    def get(self, prop):
        return 0.0

    def read(self):
        import time
        time.sleep(0.01)
        if self.n <= 0:
            return False, None
        self.n -= 1
        return True, np.full((self.size[1], self.size[0], 3), 100, np.uint8)

    def release(self):
        pass
