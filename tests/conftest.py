"""Test configuration: Qt offscreen, no downloads, small thread counts on the 2-core machines."""
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TORCH_HOME", str(Path(__file__).parent / ".torch-home-unused"))  # nothing is downloaded
os.environ.setdefault("SIGHTLINE_LOG_DIR", tempfile.mkdtemp(prefix="sightline-test-logs-"))  # not the user's log
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def demo_project_template(tmp_path_factory):
    """A small demo project generated once per session; copy it before changing it."""
    from annotations.demo import generate_demo
    path = tmp_path_factory.mktemp("demo_template") / "demo"
    generate_demo(path, n_images=40, seed=1).close()
    return path


@pytest.fixture
def demo_project(demo_project_template, tmp_path):
    """A fresh, writable copy of the small demo project (path)."""
    import shutil
    dst = tmp_path / "demo"
    shutil.copytree(demo_project_template, dst)
    return dst


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Random weights drawn the same in every test, whatever ran before it: a model with random
    weights gives a test the same boxes in a full run and on CI. (Torch is not imported here for the
    tests that never use it; a test that relies on a draw seeds it itself.)"""
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


@pytest.fixture
def store(tmp_path):
    from annotations.store import Store
    s = Store.open(tmp_path / "project")
    yield s
    s.close()


# The end of the run. After the last test, the interpreter's teardown destroys whatever Qt objects
# 1,000 tests left for the garbage collector, in an order neither Qt nor PySide defines; on CI this
# once ended a green run with a segmentation fault ("shared QObject was deleted directly") after the
# summary was printed. So once every report is written, the work still queued on Qt's thread pools
# is waited for and the process ends with pytest's own exit status, without that teardown.
_SESSION = []


def pytest_sessionstart(session):
    _SESSION.append(session)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if "PySide6.QtCore" not in sys.modules or not _SESSION:
        return
    import logging
    from PySide6.QtCore import QThreadPool
    QThreadPool.globalInstance().waitForDone(10_000)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(_SESSION[-1].exitstatus))
