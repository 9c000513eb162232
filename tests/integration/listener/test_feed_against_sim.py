"""The master feed against the Bybit simulator: one change per fill in any topic order, 20+ drops in a row with
fills in flight, and a zombie (paused) stream replaced within the stated bound with its gap replayed."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import pytest

from runtime.domain.events import ChangeKind
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx
from runtime.listener.master_feed import MasterFeed
from tests.integration.listener.conftest import Harness, Master, Recorder, assert_exactly_once, settle, wait_until

BTC = LegKey("BTCUSDT")


@pytest.mark.parametrize("topic_order", ["order_first", "position_first"])
async def test_each_fill_is_exactly_one_change_in_either_topic_order(harness: Harness, topic_order: str) -> None:
    master = await harness.new_master()
    await harness.admin.faults(topic_order=topic_order)
    recorder = Recorder()
    async with harness.feed(master, recorder) as feed:
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        for side, qty in [("Buy", "0.01"), ("Buy", "0.02"), ("Sell", "0.01"), ("Sell", "0.05"), ("Buy", "0.03")]:
            await master.market("BTCUSDT", side, qty)
        await wait_until(lambda: len(recorder.changes) >= 5, what="five changes")
        await settle(recorder)
        fills = (await harness.admin.get(f"accounts/{master.name}"))["fills"]
        final = await harness.admin.positions(master.name)

    changes = recorder.changes
    assert [change.kind for change in changes] == [
        ChangeKind.OPEN,
        ChangeKind.INCREASE,
        ChangeKind.PARTIAL_CLOSE,
        ChangeKind.FLIP,
        ChangeKind.FULL_CLOSE,
    ]
    assert [change.new_size for change in changes] == [Decimal(v) for v in ("0.01", "0.03", "0.02", "-0.03", "0")]
    assert_exactly_once(recorder, final)
    # Confirmed by the stream itself: no parked fill had to be resolved over REST.
    assert feed.stats.rest_fetches == 0
    assert all(change.position_im > 0 for change in changes[:-1])
    fill_ids = [fill["exec_id"] for fill in fills]
    if topic_order == "order_first":
        assert [change.exec_ids for change in changes] == [(exec_id,) for exec_id in fill_ids]
    else:  # the position leads: the change goes out at once and the later fill is recognised as covered
        assert all(change.exec_ids == () for change in changes)
    opened, flip = changes[0].lifecycle, changes[3]
    assert opened is not None and opened.opened_seq == changes[0].seq
    assert flip.previous_lifecycle_id == opened.id and flip.lifecycle is not None and flip.lifecycle.id != opened.id


async def test_leverage_liquidation_and_adl_reach_the_feed(harness: Harness) -> None:
    master = await harness.new_master()
    recorder = Recorder()
    async with harness.feed(master, recorder) as feed:
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        await master.market("BTCUSDT", "Buy", "0.1")
        await asyncio.to_thread(
            master.http.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="5", sellLeverage="5"
        )
        await harness.admin.post("adl", {"account": master.name, "symbol": "BTCUSDT", "qty": "0.04", "position_idx": 0})
        await harness.admin.post("liquidate", {"account": master.name, "symbol": "BTCUSDT", "position_idx": 0})
        await wait_until(lambda: len(recorder.changes) >= 4, what="four changes")
        await settle(recorder)
    kinds = [(c.kind, c.new_size, c.leverage, c.exec_types) for c in recorder.changes]
    assert kinds == [
        (ChangeKind.OPEN, Decimal("0.1"), Decimal("10"), ("Trade",)),
        (ChangeKind.LEVERAGE_ONLY, Decimal("0.1"), Decimal("5"), ()),
        (ChangeKind.PARTIAL_CLOSE, Decimal("0.06"), Decimal("5"), ("AdlTrade",)),
        (ChangeKind.FULL_CLOSE, Decimal("0"), Decimal("5"), ("BustTrade",)),
    ]


async def test_hedge_legs_with_a_random_topic_order_are_tracked_separately(harness: Harness) -> None:
    master = await harness.new_master(mode="hedge")
    await harness.admin.faults(topic_order="random", seed=3)
    recorder = Recorder()
    long_leg, short_leg = LegKey("ETHUSDT", PositionIdx.HEDGE_LONG), LegKey("ETHUSDT", PositionIdx.HEDGE_SHORT)
    async with harness.feed(master, recorder) as feed:
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        await master.market("ETHUSDT", "Buy", "0.5", position_idx=1)
        await master.market("ETHUSDT", "Sell", "0.3", position_idx=2)
        await master.market("ETHUSDT", "Buy", "0.2", position_idx=1)
        await master.market("ETHUSDT", "Buy", "0.3", position_idx=2, reduce_only=True)
        await master.market("ETHUSDT", "Sell", "0.1", position_idx=1, reduce_only=True)
        await wait_until(lambda: len(recorder.changes) >= 5, what="five changes")
        await settle(recorder)
        final = await harness.admin.positions(master.name)

    assert [c.new_size for c in recorder.for_leg(long_leg)] == [Decimal("0.5"), Decimal("0.7"), Decimal("0.6")]
    assert [c.new_size for c in recorder.for_leg(short_leg)] == [Decimal("-0.3"), Decimal("0")]
    assert_exactly_once(recorder, final)


async def _burst(master: Master, rng: random.Random, count: int, placed: list[str]) -> None:
    """``count`` market orders on random symbols (one-way: a large opposite order flips), appended to ``placed``."""
    sizes = {"BTCUSDT": ("0.001", "0.002", "0.003"), "ETHUSDT": ("0.01", "0.02"), "SOLUSDT": ("0.1", "0.3")}
    for _ in range(count):
        symbol = rng.choice(sorted(sizes))
        await master.market(symbol, rng.choice(["Buy", "Sell"]), rng.choice(sizes[symbol]))
        placed.append(symbol)


def sessions_reached(feed: MasterFeed, count: int) -> Callable[[], bool]:
    return lambda: feed.stats.connections >= count


def at_least(items: list[str], count: int) -> bool:
    return len(items) >= count


async def test_twenty_drops_in_a_row_with_fills_in_flight_emit_every_change_exactly_once(harness: Harness) -> None:
    master = await harness.new_master()
    await harness.admin.faults(topic_order="random", seed=9)
    recorder = Recorder()
    rng = random.Random(20)
    drops, down_orders, mid_burst_drops = 22, 0, 0
    async with harness.feed(master, recorder) as feed:
        stream = feed.stream
        assert stream is not None
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        for round_no in range(drops):
            await wait_until(sessions_reached(feed, round_no + 1), what=f"session {round_no + 1}")
            placed: list[str] = []
            if round_no % 2 == 0:
                # Drop in the middle of a burst: some fills are on the wire when the socket dies.
                burst = asyncio.create_task(_burst(master, rng, 6, placed))
                await wait_until(partial(at_least, placed, 2), what="burst under way")
                await harness.admin.faults(drop_streams=True)
                mid_burst_drops += 1 if not burst.done() else 0
                await burst
            else:
                await _burst(master, rng, 2, placed)
                await harness.admin.faults(drop_streams=True)
                # Orders placed right after the cut land while the stream is down (backoff >= 25 ms).
                await wait_until(lambda: not feed.stats.connected, what="loss noticed")
                for _ in range(2):
                    await _burst(master, rng, 1, placed)
                    down_orders += 0 if stream.is_established else 1
        await wait_until(lambda: feed.stats.connections >= drops + 1, what="final session")
        await wait_until(lambda: feed.stats.gap_replays >= drops + 1, what="final replay")
        await settle(recorder)
        final = await harness.admin.positions(master.name)

    stats = feed.stats
    assert stats.disconnects >= 20 and stats.reconnects >= 20
    assert stats.disconnect_reasons["closed"] >= 20
    assert mid_burst_drops >= 5, "the test must cut the stream while fills are being produced"
    assert down_orders >= 5, "the test must place orders while the stream is down"
    assert_exactly_once(recorder, final)
    assert final, "the random walk should leave some position open"


async def test_a_zombie_stream_is_replaced_within_the_bound_and_the_pause_is_replayed(harness: Harness) -> None:
    master = await harness.new_master()
    recorder = Recorder()
    async with harness.feed(master, recorder) as feed:
        stream = feed.stream
        assert stream is not None
        bound = stream.config.detection_bound_s  # 0.2 s ping + 0.5 s pong timeout = 0.7 s
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        await master.market("BTCUSDT", "Buy", "0.01")
        await wait_until(lambda: len(recorder.changes) == 1, what="the open")

        await harness.admin.faults(pause_streams=True)
        paused_at = time.monotonic()
        await master.market("BTCUSDT", "Buy", "0.02")
        await master.market("ETHUSDT", "Sell", "0.1")
        await wait_until(lambda: feed.stats.zombie_detections >= 1, within_s=3, what="zombie detected")
        detected_in = time.monotonic() - paused_at
        assert detected_in <= bound + 0.3, f"zombie noticed after {detected_in:.2f} s, bound {bound} s"
        assert len(recorder.changes) == 1, "nothing reached the feed through the silent socket"

        await harness.admin.faults(pause_streams=False)
        replaced_in = await wait_until(
            lambda: feed.stats.connections >= 2 and feed.stats.gap_replays >= 2, within_s=3, what="replaced"
        )
        # A login sent during the pause waits its ack timeout (0.5 s), then one capped backoff (<= 0.2 s).
        assert replaced_in <= 1.5
        await settle(recorder)
        final = await harness.admin.positions(master.name)

    assert [(c.symbol, c.new_size) for c in recorder.changes[1:]] == [
        ("BTCUSDT", Decimal("0.03")),
        ("ETHUSDT", Decimal("-0.1")),
    ] or [(c.symbol, c.new_size) for c in recorder.changes[1:]] == [
        ("ETHUSDT", Decimal("-0.1")),
        ("BTCUSDT", Decimal("0.03")),
    ]
    # The replayed changes carry the fills read from /v5/execution/list.
    assert all(len(change.exec_ids) == 1 for change in recorder.changes[1:])
    assert_exactly_once(recorder, final)


async def test_while_the_stream_cannot_come_back_changes_still_arrive_over_rest(harness: Harness) -> None:
    master = await harness.new_master()
    recorder = Recorder()
    async with harness.feed(master, recorder, offline_replay_interval_s=0.3) as feed:
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        # Every WebSocket upgrade is refused from now on; REST keeps working.
        await harness.admin.faults(errors=[{"class": "ws", "kind": "server_error", "count": 1000}])
        await harness.admin.faults(drop_streams=True)
        await wait_until(lambda: not feed.stats.connected, what="loss noticed")
        await master.market("SOLUSDT", "Buy", "1")
        await wait_until(lambda: len(recorder.changes) == 1, within_s=3, what="the change over REST")
        assert not feed.stats.connected and feed.stats.connect_failures >= 1
        assert feed.stats.disconnect_reasons["connect error"] >= 1
        await harness.admin.faults(clear=True)
        await wait_until(lambda: feed.stats.connected, within_s=3, what="stream back")
        await master.market("SOLUSDT", "Buy", "1")
        await wait_until(lambda: len(recorder.changes) == 2, what="the change over the stream")
        await settle(recorder)
        final = await harness.admin.positions(master.name)
    assert_exactly_once(recorder, final)


async def test_secrets_never_reach_the_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    master = await harness.new_master()
    recorder = Recorder()
    async with harness.feed(master, recorder) as feed:
        await wait_until(lambda: feed.stats.gap_replays >= 1, what="first replay")
        await master.market("BTCUSDT", "Buy", "0.01")
        await harness.admin.faults(drop_streams=True)
        await wait_until(lambda: feed.stats.gap_replays >= 2, what="replay after a drop")
        assert repr(feed.stream).count(master.credentials.api_key) == 0
        assert master.credentials.api_secret not in repr(feed.rest)
    assert "private stream lost" in caplog.text  # the log is there...
    assert master.credentials.api_secret not in caplog.text  # ...without the secret
    assert master.credentials.api_key not in caplog.text
