"""The feature contract: how a part of the window (model, live view, evaluation, training, ...)
declares itself, finds what it needs, and offers services to the others.

A feature is a module with one `FEATURE = Feature(name, install, requires=(...), provides=(...))`.
`install(ctx)` gets a FeatureContext: the session (the open project's state and signals), the host
(the window's small extension API, below), and the services. It adds its docks and menu entries
through the host, subscribes to the session, and registers the services it provides. Features never
reach into each other's widgets: they call services, small typed objects such as ModelService
("load this checkpoint into the model"), the engine bridge, or the label edits of the canvas.

install_features() installs the registered features in an order that satisfies `requires`; a
feature whose requirement is missing is reported and skipped, never half-installed.
Adding a feature is one new module plus one line in FEATURE_MODULES.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMenu, QMessageBox, QVBoxLayout, QWidget

from annotations.errors import SightlineError

from .session import Session

log = logging.getLogger(__name__)

FEATURE_MODULES = ("gui.engine_service", "gui.model_panel", "gui.live_view", "gui.evaluation_view",
                   "gui.training_view", "gui.label_next_view", "gui.explain_view")


class Host(Protocol):
    """What the window offers a feature (and nothing else of it)."""

    def add_panel(self, key: str, title: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.RightDockWidgetArea) -> QDockWidget: ...
    def show_panel(self, key: str, width_fraction: float | None = None) -> None: ...
    def menu(self, name: str) -> QMenu: ...
    def add_shutdown_hook(self, fn: Callable[[], None]) -> None: ...
    def show_image(self, image_id: int, highlight: list[int] | tuple = ()) -> None: ...
    def expect_images(self, image_ids: list[int]) -> None: ...  # likely opened next: read them ahead
    def run_job(self, job, title: str): ...
    def warn(self, title: str, text: str) -> QMessageBox: ...
    def inform(self, title: str, text: str) -> QMessageBox: ...


class Edits(Protocol):
    """The "edits" service: what features may ask of the canvas (the window provides it)."""

    def accept_predictions_above(self, threshold: float) -> None: ...
    def reject_predictions(self, ids: list[int]) -> None: ...
    def set_caption_threshold(self, threshold: float) -> None: ...
    def add_layer(self, item) -> None: ...  # a scene item drawn between the image and the shapes


class MissingService(SightlineError, LookupError):
    """A feature asked for a service no installed feature provides."""


class Services:
    """Named services, each provided once."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}

    def provide(self, name: str, service: Any) -> None:
        if name in self._items:
            raise ValueError(f"service {name!r} is provided twice")
        self._items[name] = service

    def get(self, name: str) -> Any:
        try:
            return self._items[name]
        except KeyError:
            raise MissingService(f"no feature provides the service {name!r}") from None

    def optional(self, name: str) -> Any | None:
        return self._items.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._items


@dataclass(frozen=True)
class FeatureContext:
    session: Session
    host: Host
    services: Services


@dataclass(frozen=True)
class Feature:
    name: str
    install: Callable[[FeatureContext], Any]
    requires: tuple[str, ...] = ()  # services that must exist before install
    provides: tuple[str, ...] = ()  # services install() registers
    optional: tuple[str, ...] = field(default=())  # used when present, installed first if offered


class LazyPanel(QWidget):
    """A dock's content built the first time it is shown (or asked for with get()): a feature whose
    widgets need torch (model lists come from the registry) costs nothing at start-up."""

    def __init__(self, build: Callable[[], QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self._build, self._widget = build, None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def get(self) -> QWidget:
        if self._widget is None:
            self._widget = self._build()
            self._layout.addWidget(self._widget)
        return self._widget

    @property
    def built(self) -> bool:
        return self._widget is not None

    def showEvent(self, event) -> None:
        self.get()
        super().showEvent(event)


def load_features(modules: tuple[str, ...] = FEATURE_MODULES) -> list[Feature]:
    return [importlib.import_module(m).FEATURE for m in modules]


def install_order(features: list[Feature]) -> list[Feature]:
    """Providers before the features that require (or optionally use) their services."""
    provider = {s: f.name for f in features for s in f.provides}
    by_name = {f.name: f for f in features}
    order: list[Feature] = []
    state: dict[str, str] = {}

    def visit(f: Feature) -> None:
        if state.get(f.name) == "done":
            return
        if state.get(f.name) == "visiting":
            raise ValueError(f"features depend on each other in a cycle through {f.name!r}")
        state[f.name] = "visiting"
        for s in (*f.requires, *f.optional):
            if s in provider and provider[s] != f.name:
                visit(by_name[provider[s]])
        state[f.name] = "done"
        order.append(f)
    for f in features:
        visit(f)
    return order


def install_features(ctx: FeatureContext, features: list[Feature] | None = None) -> dict[str, Any]:
    """Install each feature whose requirements are met; returns name -> what install() returned."""
    installed: dict[str, Any] = {}
    for f in install_order(load_features() if features is None else features):
        missing = [s for s in f.requires if s not in ctx.services]
        if missing:
            log.error("feature %s not installed: no service %s", f.name, ", ".join(missing))
            continue
        installed[f.name] = f.install(ctx)
        absent = [s for s in f.provides if s not in ctx.services]
        if absent:
            raise RuntimeError(f"feature {f.name!r} did not provide {', '.join(absent)}")
    return installed
