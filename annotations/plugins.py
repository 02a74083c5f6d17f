"""Registries made of one package each (formats, models, explanation methods, ranking strategies):
adding an entry is adding a module, found by listing the package."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Iterable


def package_modules(package: str, path: Iterable[str]) -> list[ModuleType]:
    """Every module of `package` (its `__name__` and `__path__`), imported, by name; modules whose
    name starts with "_" are shared helpers, not entries."""
    names = sorted(info.name for info in pkgutil.iter_modules(list(path)) if not info.name.startswith("_"))
    return [importlib.import_module(f"{package}.{name}") for name in names]
