"""One demo run: build the world, play the scenario, collect the checks, tear everything down."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from runtime.adapters.common.redaction import SecretRegistry
from runtime.cli.status_view import feed_connected
from runtime.demo.checks import Checker, OutcomeRecorder
from runtime.demo.live_view import DemoLiveView
from runtime.demo.player import Player, PlayResult
from runtime.demo.report import DemoRun
from runtime.demo.scenario import Scenario
from runtime.demo.world import listed_symbols, start_world
from runtime.domain.symbols import SymbolMap


async def run_demo(
    scenario: Scenario, view: DemoLiveView | None = None, *, secrets: SecretRegistry | None = None
) -> DemoRun:
    """Play ``scenario`` against fresh simulators and a fresh engine; never raises for a failed check (see the
    run's ``verdict``). A scenario naming a symbol the simulators do not list raises ``ScenarioError`` first."""
    scenario.check_symbols(SymbolMap(), listed_symbols())
    started_at, started = datetime.now(UTC), time.monotonic()
    recorder = OutcomeRecorder()
    try:
        world = await start_world(scenario, observers=[recorder], secrets=secrets)
    except Exception as exc:
        error = f"the demo could not start: {type(exc).__name__}: {exc}"
        return DemoRun(scenario, PlayResult(error=error), started_at, time.monotonic() - started, {}, error)
    try:
        engine = world.engine
        if view is not None:
            venues = {follower.id: follower.venue.value for follower in scenario.followers}
            view.attach(engine.board, engine.counters, venues, lambda: feed_connected(engine.host.feed))
        player = Player(world, Checker(world, recorder), view.on_step if view is not None else None)
        result = await player.play()
        counters = engine.counters.as_dict()
    finally:
        await world.stop()
    return DemoRun(scenario, result, started_at, time.monotonic() - started, counters)
