import numpy as np
import pytest

from annotations.imageio import write_rgb
from annotations.model import Category, ImageRecord


@pytest.fixture
def grey_store(store):
    """A project with six 64x48 images of flat grey levels 30, 60, ..., 180 (ids in that order) and the
    fake model's categories "dark" and "bright" (predictions never add categories by themselves)."""
    store.add_categories([Category(None, "dark"), Category(None, "bright")])
    for i, level in enumerate(range(30, 181, 30)):
        name = f"images/grey_{i}.png"
        write_rgb(store.root / name, np.full((48, 64, 3), level, np.uint8))
        store.add_image(ImageRecord(None, name, 64, 48))
    return store


@pytest.fixture
def make_bridge(qtbot, store):
    """Factory for EngineBridge over a fake engine; every bridge is shut down after the test, before the
    project it writes to is closed (a worker still finishing a run must never see its store closed)."""
    from gui.bridge import EngineBridge
    made = []

    def make(engine, **kw):
        b = EngineBridge(hooks=engine.hooks(), **kw)
        made.append(b)
        return b
    yield make
    for b in made:
        b.shutdown()
        assert not b.running
