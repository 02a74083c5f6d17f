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
where=$("$tmp/venv/bin/python" -c 'import gui, main; print(gui.__file__, main.__file__)')
case "$where" in "$src"*) echo "the installed app was not used: $where" >&2; exit 1 ;; esac
echo "pip install . in a fresh venv: sightline --help, demo and train --help work from $tmp"
