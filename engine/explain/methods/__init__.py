"""The explanation methods: a registry. Each module of this package registers its methods with
`base.register`; adding a method is adding one module (it is found and imported here)."""
from __future__ import annotations

import importlib
import pkgutil

from .base import METHODS, Context, Method, get_method, method_names, register

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name != "base":  # _name: shared helpers
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["METHODS", "Context", "Method", "get_method", "method_names", "register"]
