"""The models the app can run, one module each: a module here declares MODELS, a tuple of
engine.model_spec.ModelSpec (with a `builder` for an architecture of its own; torchvision's builder of
that name otherwise), and an optional ORDER (place in lists, default 100). Adding a model is adding
its module (or, for one of torchvision's, its row in torchvision_zoo.py); engine.registry finds them."""
from __future__ import annotations

from annotations.plugins import package_modules


def declared() -> list:
    """Every ModelSpec the modules of this package declare, in their ORDER, then module name."""
    modules = package_modules(__name__, __path__)
    modules.sort(key=lambda m: (getattr(m, "ORDER", 100), m.__name__))
    return [spec for m in modules for spec in m.MODELS]
