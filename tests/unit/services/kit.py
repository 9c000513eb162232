"""Test kit for the executor: a real SQLite store on a temp file, fake venues, and a scripted master.

``MasterScript`` writes master snapshots the way the dispatcher does (seq-conditional, lifecycle per leg: a new one
at every open and flip, none while flat), so a test reads like the master's trading history.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from runtime.adapters.sqlite_store import SqliteStore
from runtime.config.model import FollowerConfig, LeverageConfig, SizingConfig
from runtime.domain.events import Lifecycle
from runtime.domain.positions import LegKey
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Venue
from runtime.ports.store import MasterSnapshot, OrderLogEntry
from runtime.services.executor import ExecutorSettings, FollowerExecutor
from runtime.services.follower_context import FollowerContext
from runtime.services.jobs import FollowerJob, JobOutcome, JobReason
from tests.unit.services.fake_exchange import FakeExchange

MASTER = "master"
D = Decimal


def follower_config(
    follower_id: str,
    *,
    venue: Venue = Venue.BYBIT,
    mode: str = "margin_ratio",
    value: str = "0.05",
    position_mode: PositionMode = PositionMode.ONE_WAY,
    leverage: LeverageConfig | None = None,
    max_leverage: str | None = None,
    paused: bool = False,
) -> FollowerConfig:
    parameter = {"margin_ratio": "margin_pct", "equity_ratio": "multiplier", "fixed_margin": "margin_usdt"}[mode]
    fields: dict[str, Any] = {
        "id": follower_id,
        "venue": venue,
        "sizing": SizingConfig(mode=mode, **{parameter: D(value)}),
        "position_mode": position_mode,
        "paused": paused,
    }
    if venue is Venue.HYPERLIQUID:
        fields |= {"account_address": "0x" + "ab" * 20, "agent_private_key_env": "HL_KEY"}
    else:
        fields |= {"api_key_env": "KEY", "api_secret_env": "SECRET"}
    if leverage is not None:
        fields["leverage"] = leverage
    if max_leverage is not None:
        fields["max_leverage"] = D(max_leverage)
    return FollowerConfig(**fields)


@dataclass
class MasterScript:
    """The master's legs as the store sees them. ``open_equity`` is the master's equity at each open."""

    store: SqliteStore
    open_equity: Decimal = Decimal(100000)
    leverage: Decimal = Decimal(10)
    seqs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    sizes: dict[tuple[str, PositionIdx], Decimal] = field(default_factory=dict)
    lifecycles: dict[tuple[str, PositionIdx], Lifecycle | None] = field(default_factory=dict)
    last_seq: int = 0

    def move(
        self,
        size: str | Decimal,
        *,
        im: str | Decimal | None = None,
        symbol: str = "BTCUSDT",
        idx: PositionIdx = PositionIdx.ONE_WAY,
        price: str = "50000",
        leverage: Decimal | None = None,
        seq: int | None = None,
    ) -> int:
        """The master's leg now holds ``size`` (signed); ``im`` is the confirmed IM (the open IM at an open or flip;
        default: size x price / leverage). Returns the change's seq."""
        new = D(size)
        key = (symbol, idx)
        prev = self.sizes.get(key, ZERO)
        lev = leverage or self.leverage
        seq = seq if seq is not None else next(self.seqs)
        position_im = D(im) if im is not None else abs(new) * D(price) / lev
        lifecycle = self.lifecycles.get(key)
        if new == 0:
            lifecycle = None
        elif prev == 0 or (prev > 0) != (new > 0):
            lifecycle = Lifecycle(Lifecycle.make_id(LegKey(symbol, idx), seq), position_im, self.open_equity, seq)
        self.sizes[key], self.lifecycles[key], self.last_seq = new, lifecycle, seq
        self.store.put_master_snapshot(
            MasterSnapshot(
                master_id=MASTER,
                symbol=symbol,
                position_idx=idx,
                seq=seq,
                size=new,
                position_im=position_im,
                leverage=lev,
                entry_price=D(price),
                lifecycle=lifecycle,
                updated_ms=seq,
                last_activity_ms=seq,
            )
        )
        return seq


def job(
    follower_id: str,
    seq: int,
    *,
    symbol: str = "BTCUSDT",
    idx: PositionIdx = PositionIdx.ONE_WAY,
    reason: JobReason = JobReason.MASTER_CHANGE,
    sync_round: str = "",
) -> FollowerJob:
    return FollowerJob(follower_id, symbol, idx, seq, reason, sync_round, master_received_at=0.0, enqueued_at=0.0)


@dataclass
class Kit:
    store: SqliteStore
    master: MasterScript
    venues: dict[str, FakeExchange] = field(default_factory=dict)
    contexts: dict[str, FollowerContext] = field(default_factory=dict)
    executor: FollowerExecutor | None = None

    def add(self, config: FollowerConfig, exchange: FakeExchange) -> FakeExchange:
        exchange.venue = config.venue
        exchange.rules = {
            name: rules.__class__(**{**rules.__dict__, "venue": config.venue}) for name, rules in exchange.rules.items()
        }
        self.venues[config.id] = exchange
        self.contexts[config.id] = FollowerContext(config, exchange)
        self.executor = None
        return exchange

    def build(self, **kwargs: Any) -> FollowerExecutor:
        kwargs.setdefault("settings", ExecutorSettings())
        self.executor = FollowerExecutor(
            self.store, self.contexts.values(), master_id=MASTER, symbol_map=SymbolMap(), **kwargs
        )
        return self.executor

    async def run(self, follower_id: str, seq: int | None = None, **kwargs: Any) -> JobOutcome:
        executor = self.executor or self.build()
        return await executor.execute(job(follower_id, self.master.last_seq if seq is None else seq, **kwargs))

    def log(self, follower_id: str) -> list[OrderLogEntry]:
        return list(reversed(self.store.list_order_log(follower_id, limit=1000)))


def new_kit(tmp_path: Path, **store_options: Any) -> Kit:
    store_options.setdefault("synchronous", "NORMAL")
    store = SqliteStore(tmp_path / "state.db", **store_options)
    return Kit(store, MasterScript(store))
