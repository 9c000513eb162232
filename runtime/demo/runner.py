"""One demo run: build the world, play the scenario, collect the checks, tear everything down."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.cli.status_view import feed_connected
from runtime.demo.alert_log import AlertLog
from runtime.demo.checks import Checker, OutcomeRecorder
from runtime.demo.hosts import LOCAL, EngineFactory, engine_factory
from runtime.demo.live_view import DemoLiveView
from runtime.demo.player import Player, PlayResult
from runtime.demo.report import DemoRun
from runtime.demo.scenario import Scenario
from runtime.demo.world import listed_symbols, start_world
from runtime.domain.symbols import SymbolMap


async def run_demo(
    scenario: Scenario,
    view: DemoLiveView | None = None,
    *,
    secrets: SecretRegistry | None = None,
    host: str | EngineFactory = LOCAL,
) -> DemoRun:
    """Play ``scenario`` against fresh simulators and a fresh engine on ``host`` (a name of
    ``runtime.demo.hosts.HOST_NAMES``, or an engine factory); never raises for a failed check (see the run's
    ``verdict``). A scenario naming a symbol the simulators do not list raises ``ScenarioError`` first, an unknown
    host name ``UnknownHostError``."""
    factory = engine_factory(host) if isinstance(host, str) else host
    host_name = host if isinstance(host, str) else "custom"
    scenario.check_symbols(SymbolMap(), listed_symbols())
    started_at, started = datetime.now(UTC), time.monotonic()
    recorder = OutcomeRecorder()
    alerts = AlertLog()  # every alert of the run, from the engine's alert feed: live view, checks, report
    if view is not None:
        alerts.listeners.append(view.on_alert)
    try:
        world = await start_world(
            scenario,
            observers=[recorder],
            secrets=secrets,
            alert_feed=alerts.attach(AlertFeed()),
            engine_factory=factory,
        )
    except Exception as exc:
        error = f"the demo could not start: {type(exc).__name__}: {exc}"
        elapsed = time.monotonic() - started
        return DemoRun(
            scenario, PlayResult(error=error), started_at, elapsed, {}, error, tuple(alerts.alerts), host_name
        )
    try:
        engine = world.engine
        if view is not None:
            venues = {follower.id: follower.venue.value for follower in scenario.followers}
            view.attach(engine.board, engine.counters, venues, lambda: feed_connected(engine.host.feed))
        listener = view.on_step if view is not None else None
        player = Player(world, Checker(world, recorder, alerts), listener, secrets=secrets)
        alerts.start_clock()
        result = await player.play()
        counters = engine.counters.as_dict()
    finally:
        await world.stop()
    elapsed = time.monotonic() - started
    return DemoRun(scenario, result, started_at, elapsed, counters, alerts=tuple(alerts.alerts), host=host_name)
