"""The three simulators (once per module), and a ``Desk`` per test: a state store, follower accounts on the
simulators with real adapter clients built by ``ClientFactory`` from follower configs, and the master's legs put
into the store the way the listener does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from pydantic import SecretStr

from runtime.adapters.sqlite_store import SqliteStore
from runtime.config.credentials import ApiCredentials, HyperliquidCredentials
from runtime.config.model import FollowerConfig
from runtime.domain.client_ids import ClientOrderKey, client_order_id
from runtime.domain.events import Lifecycle
from runtime.domain.positions import LegKey
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import ExchangeClient, OrderRequest
from runtime.ports.store import MasterSnapshot
from runtime.services.alerts.model import Alert
from runtime.services.audit import AuditService, AuditSettings
from runtime.services.client_factory import ClientFactory
from runtime.sim.cluster import SimulatorCluster

MASTER = "master"
T0 = 1_700_000_000_000  # the tests' clock starts here (epoch ms)
MINUTE = 60_000
VENUE_SYMBOL = {Venue.BYBIT: "BTCUSDT", Venue.BINANCE: "BTCUSDT", Venue.HYPERLIQUID: "BTC"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster() -> AsyncIterator[SimulatorCluster]:
    sims = SimulatorCluster()
    await sims.start()
    try:
        yield sims
    finally:
        await sims.stop()


class Clock:
    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@dataclass
class Follower:
    config: FollowerConfig
    client: ExchangeClient
    account: str
    base_url: str
    credentials: dict[str, Any] = field(repr=False, default_factory=dict)  # the admin API's answer

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def venue(self) -> Venue:
        return self.config.venue

    async def trade(
        self, side: Side, qty: str, symbol: str | None = None, *, idx: PositionIdx = PositionIdx.ONE_WAY
    ) -> None:
        """An order placed "by hand" (outside the engine), through the follower's own adapter."""
        symbol = symbol or VENUE_SYMBOL[self.venue]
        key = ClientOrderKey(uuid.uuid4().hex, "by-hand", 1, LegKey(symbol, idx))
        await self.client.place_market_order(
            OrderRequest(symbol, side, Decimal(qty), client_order_id(key, self.venue), position_idx=idx)
        )

    async def size(self, symbol: str | None = None, idx: PositionIdx | None = None) -> Decimal:
        symbol = symbol or VENUE_SYMBOL[self.venue]
        positions = await self.client.positions(symbol)
        return sum((p.size for p in positions if idx is None or p.position_idx is idx), Decimal(0))


@dataclass
class Desk:
    cluster: SimulatorCluster
    store: SqliteStore
    clock: Clock
    session: aiohttp.ClientSession
    factory: ClientFactory = field(default_factory=ClientFactory)
    followers: dict[str, Follower] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    heals: list[tuple[str, str, PositionIdx, str]] = field(default_factory=list)
    _seq: int = 0

    @property
    def seq(self) -> int:
        """The seq of the last master snapshot put."""
        return self._seq

    def base_url(self, venue: Venue) -> str:
        sims = {Venue.BYBIT: self.cluster.bybit, Venue.BINANCE: self.cluster.binance}
        sim = sims.get(venue, self.cluster.hyperliquid)
        assert sim is not None
        return sim.base_url

    async def admin(self, venue: Venue, path: str, body: dict[str, Any] | None = None) -> Any:
        method = "GET" if body is None else "POST"
        url = f"{self.base_url(venue)}/admin{path}"
        async with self.session.request(method, url, json=body) as response:
            payload = await response.json()
            assert response.status == 200, payload
            return payload

    async def follower(
        self,
        venue: Venue,
        *,
        mode: PositionMode = PositionMode.ONE_WAY,
        balance: str = "100000",
        **config: Any,
    ) -> Follower:
        name = f"f-{uuid.uuid4().hex[:8]}"
        answer = await self.admin(venue, "/accounts", {"name": name, "balance": balance, "position_mode": mode.value})
        raw: dict[str, Any] = {
            "id": name,
            "venue": venue.value,
            "sizing": {"mode": "margin_ratio", "margin_pct": "0.1"},
            "position_mode": mode.value,
            "rest_url": self.base_url(venue),
            **config,
        }
        credentials: ApiCredentials | HyperliquidCredentials
        if venue is Venue.HYPERLIQUID:
            raw.update(account_address=answer["address"], agent_private_key_env="HL_AGENT_KEY")
            credentials = HyperliquidCredentials(answer["address"].lower(), SecretStr(answer["agent_private_key"]))
        else:
            raw.update(api_key_env="KEY", api_secret_env="SECRET")
            credentials = ApiCredentials(SecretStr(answer["api_key"]), SecretStr(answer["api_secret"]))
        follower_config = FollowerConfig.model_validate(raw)
        client = self.factory.build(follower_config, credentials)
        made = Follower(follower_config, client, name, self.base_url(venue), answer)
        self.followers[made.id] = made
        return made

    def master(
        self,
        size: str,
        *,
        symbol: str = "BTCUSDT",
        idx: PositionIdx = PositionIdx.ONE_WAY,
        lifecycle: str | None = None,
        open_im: str = "6000",
        ago_ms: int = 2 * MINUTE,
    ) -> Lifecycle | None:
        """Put a master leg into the store as the listener does (a higher seq each time)."""
        self._seq += 1
        life = None
        if Decimal(size) != 0:
            life = Lifecycle(lifecycle or f"{symbol}:{int(idx)}:1", Decimal(open_im), Decimal(100000), 1)
        activity = self.clock.now_ms - ago_ms
        snapshot = MasterSnapshot(
            master_id=MASTER,
            symbol=symbol,
            position_idx=idx,
            seq=self._seq,
            size=Decimal(size),
            position_im=Decimal(0),
            leverage=Decimal(10),
            entry_price=Decimal(60000),
            lifecycle=life,
            updated_ms=activity,
            last_activity_ms=activity,
        )
        assert self.store.put_master_snapshot(snapshot)
        return life

    def ratio(self, follower: Follower, lifecycle: Lifecycle | None, k: str) -> None:
        assert lifecycle is not None
        self.store.get_or_set_ratio(follower.id, lifecycle.id, Decimal(k))

    def service(self, **settings: Any) -> AuditService:
        async def heal(follower_id: str, symbol: str, idx: PositionIdx, sync_round: str) -> None:
            self.heals.append((follower_id, symbol, idx, sync_round))

        return AuditService(
            self.store,
            {fid: f.client for fid, f in self.followers.items()},
            {fid: f.config for fid, f in self.followers.items()},
            SymbolMap(),
            MASTER,
            notify=self.alerts.append,
            heal=heal,
            settings=AuditSettings(**settings),
            clock_ms=self.clock,
        )


@pytest_asyncio.fixture(loop_scope="module")
async def desk(cluster: SimulatorCluster, tmp_path: Path) -> AsyncIterator[Desk]:
    store = SqliteStore(tmp_path / "state.db")
    async with aiohttp.ClientSession() as session:
        made = Desk(cluster, store, Clock(), session)
        try:
            yield made
        finally:
            await made.factory.close()
            store.close()
