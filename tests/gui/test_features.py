"""The feature contract (gui.features): providers are installed before the features that need their
services, a feature whose requirement nobody provides is skipped and logged (never half-installed), a
service is provided once; and the window's own features all follow it."""
from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QSettings

from gui.features import Feature, FeatureContext, MissingService, Services, install_features, install_order


def _ctx() -> FeatureContext:
    return FeatureContext(session=None, host=None, services=Services())


def test_providers_are_installed_before_the_features_that_need_them():
    seen = []

    def installer(name, provides=()):
        def install(ctx):
            seen.append((name, sorted(n for n in ("a", "b") if n in ctx.services)))
            for s in provides:
                ctx.services.provide(s, object())
            return name
        return install
    features = [Feature("uses_a_and_b", installer("uses_a_and_b"), requires=("a",), optional=("b",)),
                Feature("gives_b", installer("gives_b", ("b",)), requires=("a",), provides=("b",)),
                Feature("gives_a", installer("gives_a", ("a",)), provides=("a",))]
    assert [f.name for f in install_order(features)] == ["gives_a", "gives_b", "uses_a_and_b"]
    installed = install_features(_ctx(), features)
    assert list(installed) == ["gives_a", "gives_b", "uses_a_and_b"]
    assert seen == [("gives_a", []), ("gives_b", ["a"]), ("uses_a_and_b", ["a", "b"])]


def test_a_feature_without_its_requirement_is_skipped_and_logged(caplog):
    ran = []
    features = [Feature("lonely", lambda ctx: ran.append("lonely"), requires=("nobody_offers_this",)),
                Feature("fine", lambda ctx: ran.append("fine"))]
    with caplog.at_level(logging.ERROR, logger="gui.features"):
        installed = install_features(_ctx(), features)
    assert ran == ["fine"] and list(installed) == ["fine"]
    assert "feature lonely not installed: no service nobody_offers_this" in caplog.text


def test_a_feature_that_does_not_provide_what_it_declares_fails_loudly():
    with pytest.raises(RuntimeError, match="'liar' did not provide model"):
        install_features(_ctx(), [Feature("liar", lambda ctx: None, provides=("model",))])


def test_features_that_need_each_other_in_a_cycle_are_refused():
    features = [Feature("x", lambda ctx: None, requires=("y",), provides=("x",)),
                Feature("y", lambda ctx: None, requires=("x",), provides=("y",))]
    with pytest.raises(ValueError, match="cycle"):
        install_order(features)


def test_a_service_is_provided_once_and_a_missing_one_is_a_readable_error():
    services = Services()
    services.provide("model", 1)
    with pytest.raises(ValueError, match="provided twice"):
        services.provide("model", 2)
    with pytest.raises(MissingService, match="no feature provides the service 'explain'"):
        services.get("explain")
    assert services.optional("explain") is None and services.get("model") == 1


def test_the_windows_features_are_all_installed_with_the_services_they_declare(qtbot):
    from gui.features import load_features
    from gui.main_window import MainWindow
    win = MainWindow()
    qtbot.addWidget(win)
    declared = load_features()
    assert set(win.features) == {f.name for f in declared}
    for f in declared:
        for s in (*f.provides, *f.requires):
            assert s in win.services, (f.name, s)
    win.close()


def test_gui_tests_never_touch_the_users_settings(tmp_path):
    """The autouse fixture of tests/gui/conftest.py: QSettings() is an INI file under this test's tmp_path."""
    settings = QSettings()
    assert settings.format() == QSettings.IniFormat
    assert settings.fileName().startswith(str(tmp_path)), settings.fileName()
