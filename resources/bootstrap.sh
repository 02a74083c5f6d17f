# Sourced by ./run and ./test: make .venv match requirements.txt, then check Qt's system libraries.
# Rebuilds only when requirements.txt (or the Python) changed: a stamp keyed on their hash.
set -euo pipefail

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "Python 3.10 or newer is needed (python3 not found). On Debian/Ubuntu: sudo apt install python3 python3-venv" >&2
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "Python 3.10 or newer is needed; found $("$PY" --version)." >&2
  exit 1
fi

stamp_of() { { cat requirements.txt requirements/*.txt; "$PY" --version; } | sha256sum | cut -d' ' -f1; }
want=$(stamp_of)
have=$(cat .venv/.requirements-stamp 2>/dev/null || true)
if [ ! -x .venv/bin/python ] || [ "$want" != "$have" ]; then
  echo "Setting up .venv from requirements.txt (first time: several minutes)..." >&2
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv || { echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt install python3-venv" >&2; exit 1; }
  fi
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > .venv/.requirements-stamp
fi

# Qt's shared libraries come from the system. Name the apt packages for any that are missing.
qt_missing_libs() {  # $1: "offscreen" (tests) or "xcb" (a real screen)
  local qt=.venv/lib/python3*/site-packages/PySide6/Qt
  local files=($qt/lib/libQt6Gui.so.6 $qt/lib/libQt6Widgets.so.6)
  [ "$1" = xcb ] && files+=($qt/plugins/platforms/libqxcb.so $qt/lib/libQt6XcbQpa.so.6)
  [ "$1" = offscreen ] && files+=($qt/plugins/platforms/libqoffscreen.so)
  for f in "${files[@]}"; do [ -e "$f" ] && ldd "$f" 2>/dev/null; done | awk '/not found/ {print $1}' | sort -u
}
apt_name() {
  case "$1" in
    libxcb-cursor.so*) echo libxcb-cursor0 ;; libxcb-icccm.so*) echo libxcb-icccm4 ;;
    libxcb-keysyms.so*) echo libxcb-keysyms1 ;; libxcb-image.so*) echo libxcb-image0 ;;
    libxcb-render-util.so*) echo libxcb-render-util0 ;; libxcb-randr.so*) echo libxcb-randr0 ;;
    libxcb-shape.so*) echo libxcb-shape0 ;; libxcb-xinerama.so*) echo libxcb-xinerama0 ;;
    libxcb-xkb.so*) echo libxcb-xkb1 ;; libxcb-sync.so*) echo libxcb-sync1 ;; libxcb-xfixes.so*) echo libxcb-xfixes0 ;;
    libxcb-shm.so*) echo libxcb-shm0 ;; libxcb-render.so*) echo libxcb-render0 ;; libxcb.so*) echo libxcb1 ;;
    libxkbcommon-x11.so*) echo libxkbcommon-x11-0 ;; libxkbcommon.so*) echo libxkbcommon0 ;;
    libX11-xcb.so*) echo libx11-xcb1 ;; libX11.so*) echo libx11-6 ;; libSM.so*) echo libsm6 ;; libICE.so*) echo libice6 ;;
    libEGL.so*) echo libegl1 ;; libGL.so*) echo libgl1 ;; libOpenGL.so*) echo libopengl0 ;; libGLX.so*) echo libglx0 ;;
    libfontconfig.so*) echo libfontconfig1 ;; libfreetype.so*) echo libfreetype6 ;; libdbus-1.so*) echo libdbus-1-3 ;;
    libglib-2.0.so*|libgthread-2.0.so*) echo libglib2.0-0 ;; *) echo "(the package that provides $1)" ;;
  esac
}
check_qt_libs() {
  local missing; missing=$(qt_missing_libs "$1")
  if [ -n "$missing" ]; then
    local pkgs; pkgs=$(for l in $missing; do apt_name "$l"; done | sort -u | tr '\n' ' ')
    echo "Qt needs system libraries that are missing: $(echo $missing | tr '\n' ' ')" >&2
    echo "Install them with:  sudo apt-get install -y $pkgs" >&2
    return 1
  fi
}
