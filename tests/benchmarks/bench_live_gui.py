"""GUI responsiveness while the engine runs flat out on live video.

    .venv/bin/python tests/benchmarks/bench_live_gui.py [--model NAME] [--device cpu|cuda] [--fp16]
                                                       [--seconds 15] [--size 320x240] [--fps 30]

Writes an MJPG .avi, loads the model (random weights: nothing is downloaded), measures a bare
`model(images)` call per frame as the reference, then plays the video in the real LiveView through the
EngineBridge with a 10 ms QTimer on the GUI thread. Prints:
- the longest gap between two timer ticks (goal: under 50 ms) and its 99th percentile;
- end-to-end latency (capture timestamp to the paint that shows the frame with its overlay), and its
  parts: waiting for the worker, inference inside the worker, the rest (blend, hand-over, paint);
- latency minus one bare inference (goal: under 20 ms), and the ratio latency / bare inference.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def write_video(path: Path, seconds: float, fps: float, size: tuple[int, int]) -> int:
    """Moving coloured shapes over a gradient, so detectors see structure."""
    import cv2
    import numpy as np
    w, h = size
    n = int(seconds * fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // w), (yy * 255 // h), np.full_like(xx, 90)], -1).astype(np.uint8)
    for i in range(n):
        img = base.copy()
        cx, cy = int(w / 2 + w / 3 * np.sin(i / 15)), int(h / 2 + h / 3 * np.cos(i / 21))
        cv2.circle(img, (cx, cy), h // 6, (20, 200, 240), -1)
        cv2.rectangle(img, (w - cx - 30, h - cy - 20), (w - cx + 30, h - cy + 20), (240, 40, 40), -1)
        writer.write(img)
    writer.release()
    return n


class BareModel:
    """The same model, called as `model([frame])` and nothing else: the reference."""

    def __init__(self, model_name: str, device: str, fp16: bool):
        from engine.weights import load_model
        self.loaded = load_model(model_name, "random", device, fp16=fp16)
        self.fp16 = fp16

    def seconds_per_frame(self, frames) -> float:
        """Measured on a plain thread, as the engine worker runs (torch's CPU thread pools behave
        differently on the main thread of a busy machine)."""
        import threading
        out: list[float] = []
        t = threading.Thread(target=lambda: out.append(self._seconds_per_frame(frames)))
        t.start()
        t.join()
        return out[0]

    def _seconds_per_frame(self, frames) -> float:
        import torch
        from engine.device import autocast
        dev = self.loaded.device
        times = []
        with torch.inference_mode(), autocast(dev, self.fp16):
            for i, frame in enumerate([frames[0], frames[0], *frames]):
                x = torch.from_numpy(frame).to(dev).permute(2, 0, 1).float().div(255)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                out = self.loaded.model([x])
                _ = [{k: v.cpu() for k, v in o.items()} for o in out] if isinstance(out, list) else out
                if i >= 2:  # two warm-up calls
                    times.append(time.perf_counter() - t0)
        return statistics.median(times)


def read_frames(path: Path, n: int):
    import cv2
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_320_fpn")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--seconds", type=float, default=15.0, help="how long the live view runs")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=float, default=30.0, help="frame rate of the test video (played in real time)")
    ap.add_argument("--repeats", type=int, default=10, help="frames for the bare reference (before and after)")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.bridge import EngineBridge, FrameResult
    from gui.live_view import LiveView

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="bench_live_"))
    n_frames = write_video(tmp / "live.avi", args.seconds + 5, args.fps, size)
    frames = read_frames(tmp / "live.avi", args.repeats)
    reference = BareModel(args.model, args.device, args.fp16)
    bare_before = reference.seconds_per_frame(frames)

    bridge = EngineBridge()
    loaded = []
    bridge.model_loaded.connect(loaded.append)
    bridge.model_failed.connect(lambda m: (print(m, file=sys.stderr), app.exit(2)))
    bridge.load_model(args.model, "random", args.device, args.fp16)
    while not loaded:
        app.processEvents()
        time.sleep(0.01)
        if not bridge.running:
            return 2
    info = loaded[0]
    view = LiveView(bridge, realtime=True)
    view.resize(800, 640)
    view.show()

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    results: list[FrameResult] = []
    paints: list[tuple[float, FrameResult]] = []  # (paint time, result shown)
    bridge.result.connect(lambda rid, r: results.append(r) if isinstance(r, FrameResult) else None)
    view.view.painted.connect(lambda latency: paints.append((time.perf_counter(), results[-1])) if results else None)

    timer.start()
    t_start = time.perf_counter()
    view.start(str(tmp / "live.avi"))
    t_end = time.perf_counter() + args.seconds
    QTimer.singleShot(int(args.seconds * 1000), app.quit)
    app.exec()
    timer.stop()
    frames_read = view.source.frames_read if view.source else n_frames
    capture_fps = frames_read / (time.perf_counter() - t_start)
    view.shutdown()
    bridge.shutdown()
    assert time.perf_counter() >= t_end - 0.5
    bare_after = reference.seconds_per_frame(frames)
    bare = (bare_before + bare_after) / 2  # measured before and after: load on a shared machine drifts

    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    warm = [(t, r) for t, r in paints[2:]]  # skip the first paints (model warm-up)
    latency = [t - r.frame.captured_at for t, r in warm]
    wait = [r.started_at - r.frame.captured_at for _, r in warm]
    infer = [r.seconds for _, r in warm]
    rest = [t - r.started_at - r.seconds for t, r in warm]
    ms = 1000.0
    print(f"model {args.model} ({info['source']}) on {info.get('device_name', info['device'])}, "
          f"{info['precision']}; video {size[0]}x{size[1]} at {args.fps:g} fps, {args.seconds:g} s")
    print(f"bare model([frame]) on the video's frames (reference): {bare * ms:.1f} ms "
          f"(median; {bare_before * ms:.1f} before, {bare_after * ms:.1f} after the live run)")
    print(f"capture {capture_fps:.1f} fps, {frames_read} frames read; inference {len(results) / args.seconds:.1f} fps "
          f"({len(results)} frames predicted, {bridge.frames_dropped} dropped while the worker was busy)")
    print(f"GUI timer at 10 ms: {len(ticks)} ticks, longest gap {max(gaps) * ms:.1f} ms (goal < 50), "
          f"p99 {percentile(gaps, 0.99) * ms:.1f} ms, median {statistics.median(gaps) * ms:.1f} ms")
    if not latency:
        print("no predicted frame was painted")
        return 1
    print(f"end-to-end latency (capture -> painted overlay): mean {statistics.mean(latency) * ms:.1f} ms, "
          f"p95 {percentile(latency, 0.95) * ms:.1f} ms over {len(latency)} frames")
    print(f"  parts, mean: waiting for the worker {statistics.mean(wait) * ms:.1f} ms, inference in the worker "
          f"{statistics.mean(infer) * ms:.1f} ms, blend + hand-over + paint {statistics.mean(rest) * ms:.1f} ms")
    over = [lt - bare for lt in latency]
    print(f"latency - one bare inference: mean {statistics.mean(over) * ms:.1f} ms, "
          f"p95 {percentile(over, 0.95) * ms:.1f} ms (goal < 20)")
    own = [lt - r.seconds for lt, (_, r) in zip(latency, warm)]
    print(f"latency - that frame's own inference: mean {statistics.mean(own) * ms:.1f} ms, "
          f"p95 {percentile(own, 0.95) * ms:.1f} ms (goal < 20; half of it is waiting for the next free "
          f"worker at {args.fps:g} fps capture)")
    print(f"ratio latency / bare inference: {statistics.mean(latency) / bare:.2f}; "
          f"ratio inference in the worker / bare: {statistics.mean(infer) / bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
