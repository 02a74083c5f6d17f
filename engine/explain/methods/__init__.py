"""The explanation methods: a registry. Each module of this package registers its methods with
`base.register`; adding a method is adding one module (it is found and imported here)."""
from __future__ import annotations

from annotations.plugins import package_modules

from .base import METHODS, Context, Method, get_method, method_names, register

package_modules(__name__, __path__)  # each registers its methods as it is imported; _name: shared helpers

__all__ = ["METHODS", "Context", "Method", "get_method", "method_names", "register"]
