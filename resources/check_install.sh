#!/usr/bin/env bash
# `pip install .` into a fresh virtual environment, then the console script from another folder.
# The fresh environment sees .venv's packages through a .pth file, so pip finds every dependency
# already installed (checked against requirements/runtime.txt) and installs only the app itself.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python -m venv "$tmp/venv"
site_src=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site_dst=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site_src" > "$site_dst/sightline-deps.pth"
mkdir "$tmp/src"  # build from a copy: the checkout stays free of build/ and *.egg-info
tar --exclude=./.venv --exclude=./.git --exclude='__pycache__' -cf - . | tar -xf - -C "$tmp/src"
"$tmp/venv/bin/python" -m pip install --quiet "$tmp/src"
cd "$tmp"
"$tmp/venv/bin/sightline" --help > "$tmp/help.txt"
grep -q "train" "$tmp/help.txt"
"$tmp/venv/bin/sightline" demo "$tmp/demo" --images 4 > /dev/null
"$tmp/venv/bin/sightline" train --help > /dev/null
OMP_NUM_THREADS=1 "$tmp/venv/bin/sightline" train --project demo --model fcos_compact_fpn --out "$tmp/run" \
  --val-split "" --image-size 64 --batch-size 2 --max-iterations 2 --workers 0 > "$tmp/train.jsonl"
grep -q '"event": "done"' "$tmp/train.jsonl" && test -f "$tmp/run/last.pt"
# The window's training child, started as the Training dock starts it (gui.training.process), from the
# installed packages: it must reach `main train` without a checkout.
QT_QPA_PLATFORM=offscreen "$tmp/venv/bin/python" - <<'EOF_CHILD'
from PySide6.QtCore import QCoreApplication, QTimer
from gui.training.process import CODE_ROOT, TrainingProcess
app = QCoreApplication([])
proc, lines, ended = TrainingProcess(), [], []
proc.log.connect(lines.append)
proc.ended.connect(lambda code, status: (ended.append((code, status)), app.quit()))
QTimer.singleShot(120_000, app.quit)
proc.start(["--help"])
app.exec()
assert ended == [(0, "finished")], (ended, lines[-20:])
assert any("--resume" in line for line in lines), lines[-20:]
assert "site-packages" in str(CODE_ROOT), CODE_ROOT
import gui.theme
missing = [n for n in ("style.qss", "style-dark.qss") if not (gui.theme._RESOURCES / n).is_file()]
assert not missing, f"style sheets not installed: {missing}"  # the window would look unstyled, silently
EOF_CHILD
where=$("$tmp/venv/bin/python" -c 'import gui, main; print(gui.__file__, main.__file__)')
case "$where" in "$src"*) echo "the installed app was not used: $where" >&2; exit 1 ;; esac
echo "pip install . in a fresh venv: sightline --help, demo, train (--help and two iterations) and the GUI's training child work from $tmp"
