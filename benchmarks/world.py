"""One benchmark world: a SQLite store, the three paper venues with seeded latency, the followers' accounts and
the executor wired as ``runtime/bootstrap.py`` wires it (risk gate included)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from benchmarks.calls import CallLog
from benchmarks.master_changes import MASTER_ID, SYMBOL
from benchmarks.population import VENUES, FollowerSpec
from benchmarks.serial_client import SerialClient
from benchmarks.timed_store import TimedSqliteStore
from runtime.adapters.paper import PaperVenue
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import Venue
from runtime.ports.exchange import ExchangeClient
from runtime.services.executor import FollowerExecutor
from runtime.services.follower_context import FollowerContext
from runtime.services.risk_gate import RiskGate
from runtime.sim.faults import LatencySpec

LATENCY_LOW_S = Decimal(1)  # the exchange latency: uniform 1-9 s per call, times the scale
LATENCY_HIGH_S = Decimal(9)


@dataclass(frozen=True)
class WorldSettings:
    seed: int
    scale: Decimal  # 0 = no injected latency (the calls still yield to the event loop once)
    synchronous: str = "FULL"  # the SQLite store's default
    serial_calls: bool = False  # the original sequential model: one venue call at a time per follower


@dataclass
class World:
    store: TimedSqliteStore
    venues: dict[Venue, PaperVenue]
    contexts: dict[str, FollowerContext]
    executor: FollowerExecutor
    calls: CallLog
    specs: list[FollowerSpec]

    @property
    def follower_ids(self) -> list[str]:
        return [spec.config.id for spec in self.specs]

    async def warm_up(self) -> None:
        """Fetch every follower's instrument rules once, as a running engine has them cached already."""
        symbols = SymbolMap()
        await asyncio.gather(*(ctx.rules(symbols.resolve(SYMBOL, ctx.venue).symbol) for ctx in self.contexts.values()))
        self.calls.clear()

    def open_follower_legs(self) -> int:
        """Non-flat legs over every follower account (after a full close of the master: 0)."""
        return sum(
            len(account.open_positions())
            for paper in self.venues.values()
            for account in paper.engine.accounts.values()
        )

    def venue_busy_s(self) -> float:
        """CPU seconds the in-process paper venues have spent serving calls so far."""
        return sum(paper.busy_s for paper in self.venues.values())

    def close(self) -> None:
        self.store.close()


def venue_seed(seed: int, venue: Venue) -> int:
    """Each venue draws its latencies from its own RNG (as each simulator has its own), derived from the seed."""
    return seed * 10 + VENUES.index(venue)


def build_world(specs: list[FollowerSpec], settings: WorldSettings, directory: Path) -> World:
    latency = LatencySpec(low_s=LATENCY_LOW_S, high_s=LATENCY_HIGH_S, scale=settings.scale)
    calls = CallLog()
    venues = {venue: PaperVenue(venue, seed=venue_seed(settings.seed, venue), latency=latency) for venue in VENUES}
    for paper in venues.values():
        paper.on_call = calls.record
    contexts: dict[str, FollowerContext] = {}
    for spec in specs:
        client: ExchangeClient = venues[spec.config.venue].open_account(
            spec.config.id, spec.balance, spec.config.position_mode
        )
        if settings.serial_calls:
            client = SerialClient(client)
        contexts[spec.config.id] = FollowerContext(spec.config, client)
    store = TimedSqliteStore(directory / "state.db", synchronous=settings.synchronous)
    gate = RiskGate(store, {spec.config.id: spec.config for spec in specs})
    executor = FollowerExecutor(store, contexts.values(), master_id=MASTER_ID, symbol_map=SymbolMap(), gate=gate)
    return World(store, venues, contexts, executor, calls, specs)
