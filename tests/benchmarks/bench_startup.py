"""Process start to the window's first paint (Qt offscreen), with the demo project open, against a
bare QMainWindow started the same way in the same run: what the app adds to Qt's own start-up.

    .venv/bin/python tests/benchmarks/bench_startup.py [--runs 5] [--no-bytecode-cache]

The children keep compiled bytecode in a cache of this run's own (PYTHONPYCACHEPREFIX), written by the
first, warming start: an ordinary start (./run, or the installed app, whose modules pip compiled) reads
bytecode, and a PYTHONDONTWRITEBYTECODE=1 in the caller's environment would otherwise make every start
compile every module of the app again (about 0.5 s here). --no-bytecode-cache measures that case.

Prints each run, the medians, the ratio app/bare, and whether torch was imported (it must not be:
models load on the engine thread when first used).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QObject, QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication([])
mode, project = sys.argv[2], sys.argv[3]
if mode == "app":
    from gui.main_window import MainWindow
    win = MainWindow()
    win.open_path(project)
else:
    win = QMainWindow(); win.setCentralWidget(QLabel("bare")); win.resize(1280, 800)
class FirstPaint(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Paint and obj is win:
            def report():
                usable = mode != "app" or (win.session.image_id is not None)
                print(f"{time.time() - t0:.4f} {'torch' in sys.modules} {usable}", flush=True)
                app.quit()
            QTimer.singleShot(0, report)
            win.removeEventFilter(self)
        return False
f = FirstPaint(); win.installEventFilter(f)
win.show()
app.exec()
"""


def one(mode: str, project: str, env: dict) -> tuple[float, bool, bool]:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, str(t0), mode, project], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0 or not out.stdout.strip():
        raise SystemExit(f"{mode} run failed:\n{out.stderr}")
    s, torch_loaded, usable = out.stdout.split()
    return float(s), torch_loaded == "True", usable == "True"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-bytecode-cache", action="store_true", help="compile every module on every start")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from annotations.demo import generate_demo
    tmp = Path(tempfile.mkdtemp())
    project = tmp / "demo"
    generate_demo(project, n_images=40).close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"),
               SIGHTLINE_LOG_DIR=str(tmp / "logs"))
    if args.no_bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the app's modules compiled; site-packages' bytecode read
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "bytecode")
    one("app", str(project), env)  # warm the OS file cache, as a second start would
    app_t, bare_t = [], []
    for i in range(args.runs):
        b = one("bare", str(project), env)
        a = one("app", str(project), env)
        bare_t.append(b[0])
        app_t.append(a[0])
        print(f"run {i + 1}: bare Qt window {b[0]:.3f} s, app with the demo project {a[0]:.3f} s "
              f"(torch imported: {a[1]}, image shown: {a[2]})")
    am, bm = statistics.median(app_t), statistics.median(bare_t)
    cache = "none (every module compiled)" if args.no_bytecode_cache else "cached"
    print(f"median: app {am:.3f} s, bare {bm:.3f} s, ratio app/bare {am / bm:.2f}; bytecode {cache}; "
          "goal: app <= 1.5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
