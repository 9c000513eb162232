"""The local host's start-up order and shutdown, with fake venues, a fake feed and a fake executor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest

from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.correlator_state import MasterLegState
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.master_messages import PositionMsg
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, PositionMode, Venue
from runtime.hosts.local import ChangeSink, FollowerAccount, LocalHost, StartupError
from runtime.ports.exchange import ExchangeClient, KeyPermissions
from runtime.ports.store import MasterSnapshot
from runtime.services.jobs import JobReason
from tests.unit.pipeline.fakes import FakeExecutor

D = Decimal
BTC = LegKey("BTCUSDT")
LIFE = Lifecycle("BTCUSDT:0:3", D("3000"), D("100000"), 3)


@dataclass
class FakeClient:
    venue: Venue = Venue.BYBIT
    permissions: KeyPermissions = field(default_factory=lambda: KeyPermissions(True, True, False))
    mode: PositionMode = PositionMode.ONE_WAY
    refuse_mode_switch: bool = False
    calls: list[str] = field(default_factory=list)

    async def check_key_permissions(self) -> KeyPermissions:
        self.calls.append("check_key")
        return self.permissions

    async def position_mode(self) -> PositionMode:
        return self.mode

    async def set_position_mode(self, mode: PositionMode) -> None:
        self.calls.append(f"set_mode:{mode.value}")
        if self.refuse_mode_switch:
            raise ExchangeError(ErrorKind.INVALID_ORDER, self.venue, "position open")
        self.mode = mode


@dataclass
class FakeCorrelator:
    legs: tuple[MasterLegState, ...] = ()

    def snapshot(self) -> tuple[MasterLegState, ...]:
        return self.legs


@dataclass
class FakeRest:
    by_symbol: dict[str, list[PositionMsg]] = field(default_factory=dict)

    async def symbol_positions(self, symbol: str) -> list[PositionMsg]:
        return self.by_symbol.get(symbol, [])


@dataclass
class FakeFeed:
    sink: ChangeSink
    correlator: FakeCorrelator = field(default_factory=FakeCorrelator)
    rest: FakeRest = field(default_factory=FakeRest)
    log: list[str] = field(default_factory=list)
    seeded_with: dict[LegKey, Lifecycle] | None = None

    async def seed(self, lifecycles: Mapping[LegKey, Lifecycle] | None = None) -> None:
        self.log.append("seed")
        self.seeded_with = dict(lifecycles or {})

    async def start(self, lifecycles: Mapping[LegKey, Lifecycle] | None = None) -> None:
        self.log.append("start")

    async def stop(self) -> None:
        self.log.append("stop")


def account(name: str, client: FakeClient, mode: PositionMode) -> FollowerAccount:
    return FollowerAccount(name, cast(ExchangeClient, client), mode)


def leg_state(size: str, seq: int) -> MasterLegState:
    return MasterLegState(BTC, D(size), seq, D("3000"), D("10"), D("60000"), D("60000"), LIFE if D(size) else None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "state.db") as opened:
        yield opened


def make_host(
    store: SqliteStore,
    clients: Mapping[str, FakeClient],
    *,
    feed_legs: Sequence[MasterLegState] = (),
    rest: FakeRest | None = None,
    recover: Callable[[], Awaitable[object]] | None = None,
    executor: FakeExecutor | None = None,
    master_client: FakeClient | None = None,
) -> tuple[LocalHost, list[FakeFeed]]:
    feeds: list[FakeFeed] = []

    def factory(sink: ChangeSink) -> FakeFeed:
        feed = FakeFeed(sink, FakeCorrelator(tuple(feed_legs)), rest or FakeRest())
        feeds.append(feed)
        return feed

    host = LocalHost(
        master_id="m",
        store=store,
        followers=[account(name, client, client.mode) for name, client in clients.items()],
        executor=executor or FakeExecutor(),
        feed_factory=factory,
        master_key_client=cast(ExchangeClient, master_client),
        recover=recover,
        wall_ms=lambda: 1000,
    )
    return host, feeds


async def test_start_checks_keys_recovers_seeds_syncs_then_streams(store: SqliteStore) -> None:
    order: list[str] = []

    async def recover() -> int:
        order.append("recover")
        return 0

    executor = FakeExecutor()
    clients = {"a": FakeClient(), "b": FakeClient(Venue.BINANCE)}
    host, feeds = make_host(store, clients, feed_legs=[leg_state("0.5", 3)], recover=recover, executor=executor)
    await host.start()
    assert all(client.calls == ["check_key"] for client in clients.values())
    assert order == ["recover"] and feeds[0].log == ["seed", "start"]
    snapshot = store.get_master_snapshot("m", "BTCUSDT", PositionIdx.ONE_WAY)
    assert snapshot is not None and snapshot.size == D("0.5") and snapshot.lifecycle == LIFE
    assert await host.wait_idle(2)
    assert sorted(executor.seqs("a") + executor.seqs("b")) == [0, 0]  # one SYNC job per follower x leg
    await host.stop()
    assert feeds[0].log == ["seed", "start", "stop"]


async def test_persisted_lifecycles_are_handed_to_the_feed(store: SqliteStore) -> None:
    store.put_master_snapshot(
        MasterSnapshot("m", "BTCUSDT", PositionIdx.ONE_WAY, 3, D("0.5"), D("3000"), D("10"), D("60000"), LIFE, 1, 1)
    )
    host, feeds = make_host(store, {"a": FakeClient()}, feed_legs=[leg_state("0.5", 3)])
    await host.start()
    assert feeds[0].seeded_with == {BTC: LIFE}
    await host.stop()


async def test_a_leg_closed_while_stopped_is_read_by_symbol_and_synced_flat(store: SqliteStore) -> None:
    store.put_master_snapshot(
        MasterSnapshot("m", "BTCUSDT", PositionIdx.ONE_WAY, 3, D("0.5"), D("3000"), D("10"), D("60000"), LIFE, 1, 1)
    )
    flat = PositionMsg("BTCUSDT", PositionIdx.ONE_WAY, None, D("0"), D("0"), D("10"), D("0"), D("61000"), 9)
    executor = FakeExecutor()
    host, _ = make_host(store, {"a": FakeClient()}, rest=FakeRest({"BTCUSDT": [flat]}), executor=executor)
    await host.start()
    snapshot = store.get_master_snapshot("m", "BTCUSDT", PositionIdx.ONE_WAY)
    assert snapshot is not None and snapshot.size == 0 and snapshot.seq == 9 and snapshot.lifecycle is None
    assert await host.wait_idle(2)
    assert executor.seqs("a") == [0]
    await host.stop()


async def test_a_key_that_can_withdraw_stops_the_start_naming_every_problem(store: SqliteStore) -> None:
    clients = {
        "a": FakeClient(permissions=KeyPermissions(True, True, True)),
        "b": FakeClient(permissions=KeyPermissions(False, False, False, "bad signature")),
        "c": FakeClient(),
    }
    master = FakeClient(permissions=KeyPermissions(True, False, True))
    host, feeds = make_host(store, clients, master_client=master)
    with pytest.raises(StartupError) as raised:
        await host.start()
    problems = raised.value.problems
    assert len(problems) == 3
    assert any("follower a" in p and "WITHDRAW" in p for p in problems)
    assert any("follower b" in p and "bad signature" in p for p in problems)
    assert any("master m" in p and "WITHDRAW" in p for p in problems)
    assert feeds == []  # nothing connected, nothing traded


async def test_a_read_only_master_key_is_accepted(store: SqliteStore) -> None:
    master = FakeClient(permissions=KeyPermissions(True, False, False))
    host, _ = make_host(store, {"a": FakeClient()}, master_client=master)
    await host.start()
    await host.stop()


async def test_follower_accounts_are_put_in_their_configured_mode(store: SqliteStore) -> None:
    hedge = FakeClient(mode=PositionMode.ONE_WAY)
    host, _ = make_host(store, {})
    host.followers = (account("h", hedge, PositionMode.HEDGE),)
    await host.start()
    assert hedge.calls == ["check_key", "set_mode:hedge"] and hedge.mode is PositionMode.HEDGE
    await host.stop()


async def test_a_refused_mode_switch_stops_the_start_with_what_to_do(store: SqliteStore) -> None:
    stuck = FakeClient(refuse_mode_switch=True)
    host, _ = make_host(store, {})
    host.followers = (account("h", stuck, PositionMode.HEDGE),)
    with pytest.raises(StartupError, match="must be in hedge mode as configured"):
        await host.start()


async def test_master_changes_flow_to_every_follower_in_order(store: SqliteStore) -> None:
    executor = FakeExecutor(delays={"slow": 0.05})
    clients = {"fast": FakeClient(), "slow": FakeClient()}
    host, _ = make_host(store, clients, executor=executor)
    await host.start()
    for seq, (prev, new) in enumerate([("0", "0.1"), ("0.1", "0.3"), ("0.3", "0")], start=5):
        await host.on_master_change(
            MasterPositionChanged(
                "m",
                "BTCUSDT",
                PositionIdx.ONE_WAY,
                seq,
                D(prev),
                D(new),
                D("1"),
                D("10"),
                D("60000"),
                LIFE if D(new) else None,
            )
        )
        await asyncio.sleep(0.06)  # let each change start before the next (else the waiting job absorbs it)
    assert await host.wait_idle(2)
    assert executor.seqs("fast") == [5, 6, 7] and executor.seqs("slow") == [5, 6, 7]
    assert host.sync(JobReason.HEAL, "heal-1") == 2  # a heal round over the one known leg
    assert await host.wait_idle(2)
    await host.stop()
