"""The feed's glue without a socket: seed, stream frames, gap replay, timed-out fills, failures and the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.events import ChangeKind, Lifecycle, MasterPositionChanged
from runtime.domain.master_messages import ExecutionMsg, PositionMsg, parse_execution, parse_position
from runtime.domain.positions import LegKey
from runtime.domain.values import Venue
from runtime.listener.master_feed import EXECUTION_WINDOW_MS, MasterFeed, MasterFeedConfig
from runtime.listener.master_rest import ExecutionBatch

BTC, ETH = LegKey("BTCUSDT"), LegKey("ETHUSDT")
NOW_MS = 1_700_000_000_000


def position_raw(
    symbol: str, size: str, seq: int, *, side: str = "Buy", idx: int = 0, im: str = "60"
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "positionIdx": idx,
        "side": side if size != "0" else "",
        "size": size,
        "positionIM": im if size != "0" else "0",
        "leverage": "10",
        "avgPrice": "60000",
        "markPrice": "60000",
        "seq": seq,
    }


def position(symbol: str, size: str, seq: int, **kwargs: Any) -> PositionMsg:
    return parse_position(position_raw(symbol, size, seq, **kwargs))


def execution_raw(symbol: str, exec_id: str, order_id: str, seq: int, time_ms: int = NOW_MS) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "execId": exec_id,
        "orderId": order_id,
        "side": "Buy",
        "execQty": "0.01",
        "execPrice": "60000",
        "execType": "Trade",
        "seq": seq,
        "execTime": str(time_ms),
    }


def execution(symbol: str, exec_id: str, order_id: str, seq: int, time_ms: int = NOW_MS) -> ExecutionMsg:
    return parse_execution(execution_raw(symbol, exec_id, order_id, seq, time_ms))


def order_raw(symbol: str, order_id: str, idx: int = 0) -> dict[str, Any]:
    return {"symbol": symbol, "orderId": order_id, "side": "Buy", "positionIdx": idx, "orderStatus": "Filled"}


def frame(topic: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"topic": topic, "data": list(items)}


@dataclass
class FakeRest:
    equity: Decimal = Decimal("10000")
    listed: list[PositionMsg] = field(default_factory=list)
    by_symbol: dict[str, list[PositionMsg]] = field(default_factory=dict)
    executions: list[ExecutionMsg] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    failures: int = 0
    during_wallet: Callable[[], None] | None = None

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise ExchangeError(ErrorKind.TEMPORARY, Venue.BYBIT, "wallet-balance got no answer")

    async def wallet_equity(self) -> Decimal:
        self.calls.append(("wallet", None))
        self._maybe_fail()
        if self.during_wallet is not None:
            self.during_wallet()
        return self.equity

    async def open_positions(self, settle_coin: str) -> list[PositionMsg]:
        self.calls.append(("listed", settle_coin))
        return list(self.listed)

    async def symbol_positions(self, symbol: str) -> list[PositionMsg]:
        self.calls.append(("symbol", symbol))
        return list(self.by_symbol.get(symbol, []))

    async def executions_since(self, start_ms: int) -> ExecutionBatch:
        self.calls.append(("executions", start_ms))
        return ExecutionBatch(tuple(e for e in self.executions if e.exec_time_ms >= start_ms))


@dataclass
class Sink:
    changes: list[MasterPositionChanged] = field(default_factory=list)
    fail_times: int = 0

    async def __call__(self, change: MasterPositionChanged) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("queue unavailable")
        self.changes.append(change)


def make_feed(rest: FakeRest, sink: Sink, **config: Any) -> MasterFeed:
    settings: dict[str, Any] = {
        "poll_interval_s": 0.01,
        "pending_timeout_s": 0.05,
        "replay_retry_s": 0.01,
        "sink_retry_s": 0.01,
    }
    settings.update(config)
    return MasterFeed(MasterFeedConfig("m1", **settings), rest, sink, wall_ms=lambda: NOW_MS)


async def until(condition: Callable[[], bool], within_s: float = 2.0) -> None:
    for _ in range(int(within_s / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"condition not met within {within_s} s")


async def test_seed_adopts_persisted_lifecycles_and_later_changes_carry_them() -> None:
    rest = FakeRest(listed=[position("BTCUSDT", "0.01", 4)])
    sink = Sink()
    persisted = Lifecycle(id="BTCUSDT:0:1", open_im=Decimal("55"), open_equity=Decimal("9000"), opened_seq=1)
    feed = make_feed(rest, sink)
    await feed.start({BTC: persisted})
    try:
        feed.on_stream_frame(frame("position", position_raw("BTCUSDT", "0.02", 5, im="120")))
        await until(lambda: len(sink.changes) == 1)
    finally:
        await feed.stop()
    (change,) = sink.changes
    assert change.kind is ChangeKind.INCREASE and change.lifecycle == persisted


async def test_stream_frames_become_one_change_with_the_fill() -> None:
    sink = Sink()
    feed = make_feed(FakeRest(), sink)
    async with feed:
        feed.on_stream_frame(frame("order", order_raw("BTCUSDT", "o1")))
        feed.on_stream_frame(frame("execution", execution_raw("BTCUSDT", "e1", "o1", 1)))
        feed.on_stream_frame(frame("position", position_raw("BTCUSDT", "0.01", 1)))
        await until(lambda: len(sink.changes) == 1)
    assert sink.changes[0].exec_ids == ("e1",)
    assert feed.stats.changes_emitted == 1


async def test_the_replay_reads_a_known_leg_missing_from_the_listing_by_symbol() -> None:
    rest = FakeRest(listed=[position("BTCUSDT", "0.01", 4)])
    sink = Sink()
    feed = make_feed(rest, sink)
    await feed.seed()
    # While disconnected: BTC closed (no longer listed), ETH opened.
    rest.listed = [position("ETHUSDT", "0.5", 7, im="150")]
    rest.by_symbol = {"BTCUSDT": [position("BTCUSDT", "0", 6)]}
    rest.calls.clear()
    async with feed:
        assert await feed.replay_gap() == 2
        await until(lambda: len(sink.changes) == 2)
    assert ("symbol", "BTCUSDT") in rest.calls and ("symbol", "ETHUSDT") not in rest.calls
    kinds = {change.symbol: change.kind for change in sink.changes}
    assert kinds == {"BTCUSDT": ChangeKind.FULL_CLOSE, "ETHUSDT": ChangeKind.OPEN}
    assert feed.stats.gap_replays == 1


async def test_replayed_executions_are_deduplicated_against_the_stream() -> None:
    rest = FakeRest()
    sink = Sink()
    feed = make_feed(rest, sink)
    await feed.seed()
    feed.on_stream_frame(frame("order", order_raw("BTCUSDT", "o1")))
    feed.on_stream_frame(frame("execution", execution_raw("BTCUSDT", "e1", "o1", 1, NOW_MS - 5000)))
    feed.on_stream_frame(frame("position", position_raw("BTCUSDT", "0.01", 1)))
    # The gap: e1 again (overlap), then e2 that the stream never delivered.
    rest.executions = [
        execution("BTCUSDT", "e1", "o1", 1, NOW_MS - 5000),
        execution("BTCUSDT", "e2", "o2", 2, NOW_MS - 1000),
    ]
    rest.listed = [position("BTCUSDT", "0.02", 2)]
    async with feed:
        await feed.replay_gap()
        await feed.replay_gap()  # a second replay of the same state changes nothing
        await until(lambda: len(sink.changes) == 2)
        await asyncio.sleep(0.05)
    assert [(change.exec_ids, change.new_size) for change in sink.changes] == [
        (("e1",), Decimal("0.01")),
        (("e2",), Decimal("0.02")),
    ]


async def test_executions_are_read_from_the_last_one_seen_minus_the_overlap_within_bybits_window() -> None:
    rest = FakeRest()
    feed = make_feed(rest, Sink(), exec_overlap_ms=30_000)
    await feed.seed()
    await feed.replay_gap()
    assert ("executions", NOW_MS - 30_000) in rest.calls  # nothing seen yet: from the seed
    feed.on_stream_frame(frame("execution", execution_raw("BTCUSDT", "e1", "o1", 1, NOW_MS + 1000)))
    await feed.replay_gap()
    assert ("executions", NOW_MS + 1000 - 30_000) in rest.calls
    feed._last_exec_ms = NOW_MS - 30 * 24 * 3600 * 1000  # a month of silence
    await feed.replay_gap()
    last_start = [arg for name, arg in rest.calls if name == "executions"][-1]
    assert last_start == NOW_MS - EXECUTION_WINDOW_MS


async def test_a_failed_replay_is_counted_and_retried() -> None:
    rest = FakeRest(listed=[position("BTCUSDT", "0.01", 1)])
    sink = Sink()
    feed = make_feed(rest, sink)
    async with feed:
        rest.failures = 2
        rest.listed = [position("BTCUSDT", "0.03", 3)]
        feed.on_stream_ready()
        await until(lambda: feed.stats.gap_replays == 1)
        await until(lambda: len(sink.changes) == 1)
    assert feed.stats.replay_failures == 2
    assert sink.changes[0].new_size == Decimal("0.03")


async def test_a_fill_whose_position_never_comes_is_resolved_over_rest() -> None:
    rest = FakeRest(by_symbol={"BTCUSDT": [position("BTCUSDT", "0.01", 1)]})
    sink = Sink()
    feed = make_feed(rest, sink)
    async with feed:
        feed.on_stream_frame(frame("order", order_raw("BTCUSDT", "o1")))
        feed.on_stream_frame(frame("execution", execution_raw("BTCUSDT", "e1", "o1", 1)))
        await until(lambda: len(sink.changes) == 1)
    assert sink.changes[0].exec_ids == ("e1",)
    assert feed.stats.rest_fetches == 1 and ("symbol", "BTCUSDT") in rest.calls


async def test_an_unreadable_frame_triggers_a_resync() -> None:
    rest = FakeRest()
    feed = make_feed(rest, Sink())
    async with feed:
        feed.on_stream_frame({"topic": "position", "data": [{"symbol": "BTCUSDT", "positionIdx": 7, "size": "1"}]})
        await until(lambda: feed.stats.gap_replays == 1)
    assert feed.stats.bad_frames == 1


async def test_a_failing_sink_is_retried_in_order() -> None:
    sink = Sink(fail_times=2)
    feed = make_feed(FakeRest(), sink)
    async with feed:
        feed.on_stream_frame(frame("position", position_raw("BTCUSDT", "0.01", 1)))
        feed.on_stream_frame(frame("position", position_raw("BTCUSDT", "0.02", 2)))
        await until(lambda: len(sink.changes) == 2)
    assert [change.seq for change in sink.changes] == [1, 2]
    assert feed.stats.sink_failures == 2


async def test_a_wallet_frame_during_the_replay_is_not_overwritten_by_the_older_read() -> None:
    rest = FakeRest(equity=Decimal("10000"))
    feed = make_feed(rest, Sink())
    await feed.seed()
    rest.equity = Decimal("9000")
    rest.during_wallet = lambda: feed.on_stream_frame(frame("wallet", {"totalEquity": "9500"}))
    await feed.replay_gap()
    assert feed.correlator.equity == Decimal("9500")
    rest.during_wallet = None
    await feed.replay_gap()
    assert feed.correlator.equity == Decimal("9000")


async def test_stop_delivers_what_is_already_queued() -> None:
    gate = asyncio.Event()
    delivered: list[int] = []

    async def slow_sink(change: MasterPositionChanged) -> None:
        await gate.wait()
        delivered.append(change.seq)

    feed = MasterFeed(MasterFeedConfig("m1", poll_interval_s=0.01), FakeRest(), slow_sink)
    await feed.start()
    for seq in (1, 2, 3):
        feed.on_stream_frame(frame("position", position_raw("BTCUSDT", f"0.0{seq}", seq)))
    asyncio.get_running_loop().call_later(0.05, gate.set)
    await feed.stop()
    assert delivered == [1, 2, 3]


async def test_start_fails_loudly_when_the_seed_cannot_be_read() -> None:
    rest = FakeRest(failures=1)
    feed = make_feed(rest, Sink())
    with pytest.raises(ExchangeError, match="wallet-balance"):
        await feed.start()
