"""Strategies are a registry: one module each, found by listing the package."""
from __future__ import annotations

import sys

import pytest

from engine.rank import RankError, get_strategy, strategy_names
from engine.rank import strategies


def test_the_five_strategies_in_their_order():
    assert strategy_names() == ["uncertainty", "margin", "entropy", "disagreement", "mistakenness"]
    assert get_strategy("disagreement").needs_run2 and get_strategy("mistakenness").candidates == "labelled"
    with pytest.raises(RankError, match="known: uncertainty"):
        get_strategy("nope")


def test_a_new_module_is_a_new_strategy(tmp_path, monkeypatch):
    (tmp_path / "constant.py").write_text(
        "from engine.rank.base import UNLABELLED, Strategy, image_score\n"
        "STRATEGY = Strategy('constant', 'every image 1', UNLABELLED,\n"
        "                    lambda data, opts: [image_score(im.id, [], 'max') for im in data.images])\n")
    monkeypatch.setattr(strategies, "__path__", [*strategies.__path__, str(tmp_path)])
    monkeypatch.setattr(strategies, "_registry", None)
    try:
        assert strategy_names()[-1] == "constant" and get_strategy("constant").description == "every image 1"
    finally:
        sys.modules.pop("engine.rank.strategies.constant", None)
        strategies._registry = None
