"""The demo's world: the three simulators, the master and follower accounts, and the engine pointed at them.

Accounts are created through each simulator's admin API. The credentials it hands out go into ``os.environ`` under
generated variable names and the engine's ``AppConfig`` names only those variables, exactly as a real deployment's
config does. The engine is built by the host's ``EngineFactory`` (``runtime.demo.hosts``): locally its state store
is a fresh SQLite file in a temporary directory; on ``aws-local`` the followers are registered on a fresh local AWS.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, overload

import aiohttp
from pybit.unified_trading import HTTP
from typing_extensions import TypeVar

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.common.retry import RetryPolicy
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.bootstrap import Engine, EngineTuning, build_engine
from runtime.config import AppConfig
from runtime.demo.hosts import DemoEngine, EngineFactory
from runtime.demo.scenario import Scenario, ScenarioFollower
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue, decimal_str
from runtime.listener.master_rest import MasterRestConfig
from runtime.listener.master_stream_config import MasterStreamConfig
from runtime.listener.stream_health import BackoffPolicy, HeartbeatPolicy
from runtime.services.observers import EngineObserver
from runtime.sim.catalogue import catalogue_for
from runtime.sim.cluster import SimulatorCluster

ENV_PREFIX = "COPYTRADER_DEMO"
MASTER_ACCOUNT = "master"
BYBIT_NOT_MODIFIED = 110043

# Loopback simulators answer in milliseconds: short heartbeats and backoff make a dropped stream a sub-second event.
DEMO_TUNING = EngineTuning(
    stream=MasterStreamConfig(
        heartbeat=HeartbeatPolicy(ping_interval_s=1.0, pong_timeout_s=1.0),
        backoff=BackoffPolicy(initial_s=0.05, max_s=0.5, multiplier=2.0, reset_after_s=1.0),
        connect_timeout_s=2.0,
        ack_timeout_s=2.0,
        close_timeout_s=0.2,
        use_system_proxy=False,
    ),
    feed_poll_interval_s=0.1,
    master_rest=MasterRestConfig(call_timeout_s=3.0, retry=RetryPolicy(3, 0.05, 0.2), rate_per_s=1000, burst=1000),
    shutdown_timeout_s=3.0,
    blocking_threads=32,
)


class DemoSetupError(Exception):
    """The demo's world could not be built (a simulator refused an account, a port could not be bound, ...)."""


def env_name(owner: str, purpose: str) -> str:
    """``COPYTRADER_DEMO_<OWNER>_<PURPOSE>`` with anything but letters and digits turned into ``_``."""
    return f"{ENV_PREFIX}_{re.sub(r'[^A-Za-z0-9]', '_', owner).upper()}_{purpose.upper()}"


class SimAdmin:
    """The simulators' admin API over HTTP (numbers as strings, JSON in and out)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def post(self, base_url: str, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{base_url}/admin/{path}", json=body) as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise DemoSetupError(f"{base_url}/admin/{path} answered {response.status}: {payload}")
            return payload

    async def get(self, base_url: str, path: str) -> Any:
        async with self.session.get(f"{base_url}/admin/{path}") as response:
            payload = await response.json(content_type=None)
            if response.status != 200:
                raise DemoSetupError(f"{base_url}/admin/{path} answered {response.status}: {payload}")
            return payload


@dataclass
class MasterTrader:
    """The master account, trading through pybit's HTTP client as a real trader's tool would (in a thread)."""

    http: HTTP = field(repr=False)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        from pybit.exceptions import InvalidRequestError

        text = decimal_str(leverage)
        try:
            answer = await asyncio.to_thread(
                self.http.set_leverage, category="linear", symbol=symbol, buyLeverage=text, sellLeverage=text
            )
        except InvalidRequestError as exc:
            if exc.status_code == BYBIT_NOT_MODIFIED:  # already at that leverage
                return
            raise
        if answer.get("retCode") != 0:
            raise DemoSetupError(f"master set_leverage {symbol} {text} refused: {answer}")

    async def market(
        self, symbol: str, side: Side, qty: Decimal, *, reduce_only: bool, position_idx: PositionIdx
    ) -> dict[str, Any]:
        answer = await asyncio.to_thread(
            self.http.place_order,
            category="linear",
            symbol=symbol,
            side=side.value,
            orderType="Market",
            qty=decimal_str(qty),
            positionIdx=int(position_idx),
            reduceOnly=reduce_only,
        )
        if answer.get("retCode") != 0:
            raise DemoSetupError(f"master order {side.value} {decimal_str(qty)} {symbol} refused: {answer}")
        return dict(answer["result"])


# ``DemoWorld`` without a type argument is the local host's world (``Engine``, with everything tests reach into);
# the player and the checks take ``DemoWorld[DemoEngine]``, which every host's world is (covariant).
EngineT = TypeVar("EngineT", bound=DemoEngine, covariant=True, default=Engine)


@dataclass
class DemoWorld(Generic[EngineT]):
    scenario: Scenario
    cluster: SimulatorCluster
    admin: SimAdmin
    session: aiohttp.ClientSession
    master: MasterTrader
    config: AppConfig
    engine: EngineT
    state_dir: tempfile.TemporaryDirectory[str]
    env_names: list[str]

    def sim_url(self, venue: Venue) -> str:
        sim = {Venue.BYBIT: self.cluster.bybit, Venue.BINANCE: self.cluster.binance}.get(
            venue, self.cluster.hyperliquid
        )
        assert sim is not None, "the simulators are not running"
        return sim.base_url

    def venue_symbol(self, master_symbol: str, venue: Venue) -> str:
        return self.engine.symbols.resolve(master_symbol, venue).symbol

    def venue_price(self, master_symbol: str, venue: Venue, price: Decimal) -> Decimal:
        """A master (Bybit) price in the venue's units: per its own contract size (1000PEPE vs PEPE)."""
        master = self.engine.symbols.resolve(master_symbol, Venue.BYBIT).unit_multiplier
        return price * self.engine.symbols.resolve(master_symbol, venue).unit_multiplier / master

    async def set_mark(self, master_symbol: str, price: Decimal) -> None:
        """The same market price on all three simulators (each in its own symbol and units)."""
        for venue in Venue:
            await self.admin.post(
                self.sim_url(venue),
                "marks",
                {
                    "symbol": self.venue_symbol(master_symbol, venue),
                    "price": decimal_str(self.venue_price(master_symbol, venue, price)),
                },
            )

    async def drop_master_stream(self) -> None:
        await self.admin.post(self.sim_url(Venue.BYBIT), "faults", {"drop_streams": True})

    async def account(self, venue: Venue, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.admin.get(self.sim_url(venue), f"accounts/{name}")
        return result

    async def stop(self) -> None:
        try:
            await self.engine.stop()
        finally:
            await self.session.close()
            await self.cluster.stop()
            for name in self.env_names:
                os.environ.pop(name, None)
            self.state_dir.cleanup()


@overload
async def start_world(
    scenario: Scenario,
    *,
    observers: Iterable[EngineObserver] = (),
    secrets: SecretRegistry | None = None,
    alert_feed: AlertFeed | None = None,
    engine_factory: None = None,
) -> DemoWorld[Engine]: ...


@overload
async def start_world(
    scenario: Scenario,
    *,
    observers: Iterable[EngineObserver] = (),
    secrets: SecretRegistry | None = None,
    alert_feed: AlertFeed | None = None,
    engine_factory: EngineFactory,
) -> DemoWorld[DemoEngine]: ...


async def start_world(
    scenario: Scenario,
    *,
    observers: Iterable[EngineObserver] = (),
    secrets: SecretRegistry | None = None,
    alert_feed: AlertFeed | None = None,
    engine_factory: EngineFactory | None = None,
) -> DemoWorld[DemoEngine]:
    """Start the simulators, create the accounts, start the engine (``engine_factory``, default the local host's
    ``build_engine``). The caller must ``stop()`` the world."""
    build: EngineFactory = engine_factory or build_engine
    cluster = SimulatorCluster()
    await cluster.start()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    admin = SimAdmin(session)
    env_names: list[str] = []
    state_dir = tempfile.TemporaryDirectory(prefix="copytrader-demo-")
    try:
        assert cluster.bybit is not None
        bybit_url = cluster.bybit.base_url
        master_keys = await admin.post(
            bybit_url,
            "accounts",
            {
                "name": MASTER_ACCOUNT,
                "balance": decimal_str(scenario.master.balance),
                "position_mode": scenario.master.position_mode.value,
            },
        )
        master_env = _export("master", {"api_key": master_keys["api_key"], "api_secret": master_keys["api_secret"]})
        env_names += master_env.values()
        followers = []
        for follower in scenario.followers:
            url = _sim(cluster, follower.venue).base_url
            keys = await admin.post(
                url,
                "accounts",
                {
                    "name": follower.id,
                    "balance": decimal_str(follower.balance),
                    "position_mode": follower.position_mode.value,
                },
            )
            exported = _export(follower.id, _follower_secrets(follower, keys))
            env_names += exported.values()
            followers.append(_follower_table(follower, url, exported))
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
                "state": {"sqlite_path": str(Path(state_dir.name) / "copytrader-demo.db")},
                "engine": {"pending_fill_timeout_s": 1.0, "heal": scenario.heal},
                "alerts": {"console": False},
            }
        )
        world: DemoWorld[DemoEngine] = DemoWorld(
            scenario,
            cluster,
            admin,
            session,
            MasterTrader(_master_http(master_keys, bybit_url)),
            config,
            build(config, tuning=DEMO_TUNING, observers=observers, secrets=secrets, alert_feed=alert_feed),
            state_dir,
            env_names,
        )
        for symbol, price in scenario.marks.items():
            await world.set_mark(symbol, price)
    except BaseException:
        await session.close()
        await cluster.stop()
        for name in env_names:
            os.environ.pop(name, None)
        state_dir.cleanup()
        raise
    try:
        await world.engine.start()
    except BaseException:
        await world.stop()
        raise
    return world


def listed_symbols() -> dict[Venue, list[str]]:
    """What each simulator lists (for checking a scenario's symbols before anything starts)."""
    return {venue: catalogue_for(venue).symbols() for venue in Venue}


def _sim(cluster: SimulatorCluster, venue: Venue) -> Any:
    sim = {Venue.BYBIT: cluster.bybit, Venue.BINANCE: cluster.binance, Venue.HYPERLIQUID: cluster.hyperliquid}[venue]
    assert sim is not None
    return sim


def _export(owner: str, values: dict[str, str]) -> dict[str, str]:
    """Put each secret into the environment; returns purpose -> variable name."""
    names = {}
    for purpose, value in values.items():
        name = env_name(owner, purpose)
        os.environ[name] = value
        names[purpose] = name
    return names


def _follower_secrets(follower: ScenarioFollower, keys: dict[str, Any]) -> dict[str, str]:
    if follower.venue is Venue.HYPERLIQUID:
        # The agent wallet's key, never the main wallet's: the engine refuses a key that can withdraw.
        return {"account_address": keys["address"], "agent_private_key": keys["agent_private_key"]}
    return {"api_key": keys["api_key"], "api_secret": keys["api_secret"]}


def _follower_table(follower: ScenarioFollower, url: str, env: dict[str, str]) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": follower.id,
        "venue": follower.venue.value,
        "sizing": follower.sizing.model_dump(exclude_none=True),
        "position_mode": follower.position_mode.value,
        "rest_url": url,
        **{f"{purpose}_env": name for purpose, name in env.items()},
    }
    if follower.leverage != "follow":
        table["leverage"] = {"mode": "fixed", "value": follower.leverage}
    if follower.max_leverage is not None:
        table["max_leverage"] = follower.max_leverage
    if follower.venue is Venue.HYPERLIQUID:
        table["position_mode"] = PositionMode.ONE_WAY.value
    return table


def _master_http(keys: dict[str, Any], url: str) -> HTTP:
    http = HTTP(api_key=keys["api_key"], api_secret=keys["api_secret"], max_retries=1)
    http.endpoint = url
    return http
