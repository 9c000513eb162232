"""Shared helpers of the whole-engine acceptance tests: the engine (``build_engine``, as ``copytrader run`` and the
demo build it) against the three simulators over real sockets, the master trading through pybit.

The simulators are started once per test module (``sim_cluster`` in conftest.py); each test builds its own world
on them with ``engine_world``: fresh accounts, a fresh SQLite file, an engine, and the demo's ``Checker`` to settle
and compare followers with the master. Leaving the world stops the engine and resets the simulators (accounts,
faults and marks), so the next test starts clean.

Counts of orders are read from the simulators' admin API (``venue_orders``): what reached the venue, not what the
engine believes it sent.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from pybit.unified_trading import HTTP

from runtime.bootstrap import EngineTuning, build_engine
from runtime.config import AppConfig
from runtime.demo.checks import Checker, CheckResult, OutcomeRecorder
from runtime.demo.scenario import Scenario, ScenarioFollower, parse_scenario
from runtime.demo.world import DEMO_TUNING, MASTER_ACCOUNT, DemoWorld, MasterTrader, SimAdmin
from runtime.domain.events import MasterPositionChanged
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue, decimal_str
from runtime.listener.stream_health import BackoffPolicy
from runtime.listener.stream_stats import StreamStats
from runtime.ports.store import OrderLogEntry, OrderOutcome
from runtime.services.observers import EngineObserver
from runtime.sim.cluster import SimulatorCluster

D = Decimal
ENV_PREFIX = "COPYTRADER_E2E"
SETTLE_TIMEOUT_S = 10.0

# The demo's timings, with a faster reconnect (a dropped stream is back within ~0.1 s) and threads for many followers.
assert DEMO_TUNING.stream is not None
KIT_TUNING = replace(
    DEMO_TUNING,
    stream=replace(
        DEMO_TUNING.stream, backoff=BackoffPolicy(initial_s=0.02, max_s=0.1, multiplier=2.0, reset_after_s=0.5)
    ),
    blocking_threads=64,
)


async def wait_until(condition: Callable[[], bool], within_s: float = 10.0, what: str = "condition") -> float:
    """Poll ``condition`` on the loop; returns the seconds it took, fails the test on timeout."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def scenario_of(
    followers: Iterable[Mapping[str, Any]],
    *,
    marks: Mapping[str, str] | None = None,
    master_balance: str = "100000",
    master_mode: str = "one_way",
) -> Scenario:
    """The accounts of a test as a demo scenario (the steps are played by the test itself)."""
    return parse_scenario(
        {
            "marks": dict(marks or {}),
            "master": {"balance": master_balance, "position_mode": master_mode},
            "followers": [dict(f) for f in followers],
            "steps": [{"do": "check"}],
        }
    )


def follower(follower_id: str, venue: str, balance: str, sizing: Mapping[str, str], **extra: str) -> dict[str, Any]:
    return {"id": follower_id, "venue": venue, "balance": balance, "sizing": dict(sizing), **extra}


@dataclass
class MasterChangeLog(EngineObserver):
    """Every master change the dispatcher saw, with whether the store applied it (False: stale or duplicated)."""

    seen: list[tuple[MasterPositionChanged, bool]] = field(default_factory=list)

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        self.seen.append((change, applied))

    @property
    def applied(self) -> list[MasterPositionChanged]:
        return [change for change, applied in self.seen if applied]

    @property
    def refused(self) -> list[MasterPositionChanged]:
        return [change for change, applied in self.seen if not applied]


@dataclass
class EngineWorld(DemoWorld):
    """A ``DemoWorld`` on simulators shared by the test module; ``stop`` resets them instead of stopping them."""

    recorder: OutcomeRecorder = field(default_factory=OutcomeRecorder)
    changes: MasterChangeLog = field(default_factory=MasterChangeLog)
    tuning: EngineTuning = KIT_TUNING
    _checker: Checker | None = None

    # --- the master -----------------------------------------------------------------------------------------------

    async def trade(
        self, symbol: str, side: str, qty: str, *, reduce_only: bool = False, idx: int = 0
    ) -> dict[str, Any]:
        return await self.master.market(
            symbol, Side(side), D(qty), reduce_only=reduce_only, position_idx=PositionIdx(idx)
        )

    async def leverage(self, symbol: str, leverage: str) -> None:
        await self.master.set_leverage(symbol, D(leverage))

    # --- the venues, read through the admin API -------------------------------------------------------------------

    def venue_of(self, follower_id: str) -> Venue:
        return self.config.follower(follower_id).venue

    async def venue_orders(self, follower_id: str) -> list[dict[str, Any]]:
        """The follower's orders as its simulator holds them, oldest first."""
        return list((await self.account(self.venue_of(follower_id), follower_id))["orders"])

    async def legs(self, account: str, venue: Venue | None = None) -> dict[int, Decimal]:
        """Non-flat legs of an account: position index -> signed size (all symbols summed per leg)."""
        state = await self.account(venue or self.venue_of(account), account)
        held: dict[int, Decimal] = {}
        for item in state["positions"]:
            if D(item["size"]) != 0:
                held[int(item["position_idx"])] = held.get(int(item["position_idx"]), D(0)) + D(item["signed_size"])
        return held

    async def master_legs(self) -> dict[int, Decimal]:
        return await self.legs(MASTER_ACCOUNT, Venue.BYBIT)

    async def faults(self, venue: Venue, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.admin.post(self.sim_url(venue), "faults", body)
        return result

    # --- the engine -----------------------------------------------------------------------------------------------

    @property
    def stream_stats(self) -> StreamStats:
        stats = getattr(self.engine.host.feed, "stats", None)
        assert isinstance(stats, StreamStats), "the engine's master feed has no stream stats"
        return stats

    def order_log(self, follower_id: str) -> list[OrderLogEntry]:
        """The follower's order log, oldest first."""
        return list(reversed(self.engine.store.list_order_log(follower_id, limit=1000)))

    def logged(self, follower_id: str, outcome: OrderOutcome) -> list[OrderLogEntry]:
        return [entry for entry in self.order_log(follower_id) if entry.outcome is outcome]

    async def check(self, name: str, timeout_s: float = SETTLE_TIMEOUT_S) -> CheckResult:
        """The demo's check: wait until the followers settle, then compare each with the master."""
        if self._checker is None:
            self._checker = Checker(self, self.recorder)
        result = await self._checker.check(0, name, timeout_s)
        assert result.settled, f"{name}: the followers did not settle within {timeout_s} s"
        return result

    async def restart_engine(self, tuning: EngineTuning | None = None) -> None:
        """Stop the engine and start a new one on the same config and SQLite file (a process restart)."""
        await self.engine.stop()
        self.engine = build_engine(self.config, tuning=tuning or self.tuning, observers=[self.recorder, self.changes])
        await self.engine.start()

    async def stop(self) -> None:
        try:
            await self.engine.stop()
        finally:
            try:
                for venue in Venue:
                    await self.admin.post(self.sim_url(venue), "reset", {})
            finally:
                await self.session.close()
                for name in self.env_names:
                    os.environ.pop(name, None)
                self.state_dir.cleanup()


@asynccontextmanager
async def engine_world(
    cluster: SimulatorCluster,
    scenario: Scenario,
    *,
    tuning: EngineTuning = KIT_TUNING,
    pool_size: int | None = None,
    before_start: Callable[[EngineWorld], None] | None = None,
) -> AsyncIterator[EngineWorld]:
    """Accounts for ``scenario`` on the shared simulators, marks set, the engine built and started (after
    ``before_start``, the place to patch the engine's wiring); everything torn down on exit."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    admin = SimAdmin(session)
    state_dir = tempfile.TemporaryDirectory(prefix="copytrader-e2e-")
    env_names: list[str] = []
    world: EngineWorld | None = None
    try:
        config, master_http = await _accounts_and_config(cluster, admin, scenario, state_dir.name, env_names, pool_size)
        recorder, changes = OutcomeRecorder(), MasterChangeLog()
        engine = build_engine(config, tuning=tuning, observers=[recorder, changes])
        world = EngineWorld(
            scenario, cluster, admin, session, MasterTrader(master_http), config, engine, state_dir, env_names,
            recorder=recorder, changes=changes, tuning=tuning,
        )  # fmt: skip
        for symbol, price in scenario.marks.items():
            await world.set_mark(symbol, price)
        if before_start is not None:
            before_start(world)
        await world.engine.start()
        yield world
    finally:
        if world is not None:
            await world.stop()
        else:
            await session.close()
            for name in env_names:
                os.environ.pop(name, None)
            state_dir.cleanup()


async def _accounts_and_config(
    cluster: SimulatorCluster,
    admin: SimAdmin,
    scenario: Scenario,
    state_dir: str,
    env_names: list[str],
    pool_size: int | None,
) -> tuple[AppConfig, HTTP]:
    assert cluster.bybit is not None
    bybit_url = cluster.bybit.base_url
    master = await admin.post(
        bybit_url,
        "accounts",
        {
            "name": MASTER_ACCOUNT,
            "balance": decimal_str(scenario.master.balance),
            "position_mode": scenario.master.position_mode.value,
        },
    )
    master_env = _export("master", {"api_key": master["api_key"], "api_secret": master["api_secret"]}, env_names)
    followers = []
    for item in scenario.followers:
        url = _sim_url(cluster, item.venue)
        keys = await admin.post(
            url,
            "accounts",
            {"name": item.id, "balance": decimal_str(item.balance), "position_mode": item.position_mode.value},
        )
        followers.append(_follower_table(item, url, _export(item.id, _secrets(item, keys), env_names)))
    state: dict[str, Any] = {"sqlite_path": str(Path(state_dir) / "state.db")}
    if pool_size is not None:
        state["sqlite_pool_size"] = pool_size
    config = AppConfig.model_validate(
        {
            "master": {
                "id": MASTER_ACCOUNT,
                "api_key_env": master_env["api_key"],
                "api_secret_env": master_env["api_secret"],
                "position_mode": scenario.master.position_mode.value,
                "rest_url": bybit_url,
                "ws_url": cluster.bybit.ws_url,
            },
            "followers": followers,
            "state": state,
            "engine": {"pending_fill_timeout_s": 1.0},
            "alerts": {"console": False},
        }
    )
    http = HTTP(api_key=master["api_key"], api_secret=master["api_secret"], max_retries=1)
    http.endpoint = bybit_url
    return config, http


def _sim_url(cluster: SimulatorCluster, venue: Venue) -> str:
    sim = {Venue.BYBIT: cluster.bybit, Venue.BINANCE: cluster.binance, Venue.HYPERLIQUID: cluster.hyperliquid}[venue]
    assert sim is not None, "the simulators are not running"
    return sim.base_url


def _export(owner: str, values: Mapping[str, str], env_names: list[str]) -> dict[str, str]:
    """Each secret into an environment variable the config names, as a deployment's config does."""
    names = {}
    for purpose, value in values.items():
        name = f"{ENV_PREFIX}_{re.sub(r'[^A-Za-z0-9]', '_', owner).upper()}_{purpose.upper()}"
        os.environ[name] = value
        env_names.append(name)
        names[purpose] = name
    return names


def _secrets(item: ScenarioFollower, keys: Mapping[str, Any]) -> dict[str, str]:
    if item.venue is Venue.HYPERLIQUID:  # the agent wallet's key: the engine refuses one that can withdraw
        return {"account_address": keys["address"], "agent_private_key": keys["agent_private_key"]}
    return {"api_key": keys["api_key"], "api_secret": keys["api_secret"]}


def _follower_table(item: ScenarioFollower, url: str, env: Mapping[str, str]) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": item.id,
        "venue": item.venue.value,
        "sizing": item.sizing.model_dump(exclude_none=True),
        "position_mode": PositionMode.ONE_WAY.value if item.venue is Venue.HYPERLIQUID else item.position_mode.value,
        "rest_url": url,
        **{f"{purpose}_env": name for purpose, name in env.items()},
    }
    if item.leverage != "follow":
        table["leverage"] = {"mode": "fixed", "value": item.leverage}
    if item.max_leverage is not None:
        table["max_leverage"] = item.max_leverage
    return table
