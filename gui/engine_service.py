"""The "engine" service: the window's one EngineBridge (one engine thread for every feature)."""
from __future__ import annotations

from .bridge import EngineBridge, follow_session
from .features import Feature, FeatureContext


def install(ctx: FeatureContext) -> EngineBridge:
    bridge = EngineBridge(ctx.session)
    follow_session(bridge, ctx.session)
    ctx.host.add_shutdown_hook(bridge.shutdown)
    ctx.services.provide("engine", bridge)
    return bridge


FEATURE = Feature("engine", install, provides=("engine",))
