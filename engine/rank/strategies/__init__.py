"""The ranking strategies: one module each, found by listing this package.

A strategy module defines STRATEGY (engine.rank.base.Strategy); adding a strategy is adding a
module here. Names are unique; `strategy_names()` lists them in the order of ORDER, then the rest
alphabetically.
"""
from __future__ import annotations

from annotations.plugins import package_modules

from ..base import RankError, Strategy

ORDER = ("uncertainty", "margin", "entropy", "disagreement", "mistakenness")
_registry: dict[str, Strategy] | None = None


def _load() -> dict[str, Strategy]:
    global _registry
    if _registry is None:
        found: dict[str, Strategy] = {}
        for module in package_modules(__name__, __path__):
            strategy = getattr(module, "STRATEGY", None)
            if isinstance(strategy, Strategy):
                if strategy.name in found:
                    raise RuntimeError(f"two ranking strategies are named {strategy.name!r}")
                found[strategy.name] = strategy
        _registry = found
    return _registry


def strategy_names() -> list[str]:
    names = list(_load())
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def get_strategy(name: str) -> Strategy:
    strategies = _load()
    if name not in strategies:
        raise RankError(f"unknown strategy {name!r} (known: {', '.join(strategy_names())})")
    return strategies[name]
