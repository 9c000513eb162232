"""No database connection is held across an exchange call: 50 followers run concurrently through one executor on
a store whose pool has ONE connection. Holding it across an awaited venue call would make every other follower's
store call wait for it (serialising the followers, or failing with "pool exhausted" after the acquire timeout)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.values import PositionIdx, Side
from runtime.ports.store import OrderOutcome
from runtime.services.jobs import FollowerJob, JobReason, OrderStatus, SkipReason
from tests.unit.services.fake_exchange import FakeExchange
from tests.unit.services.kit import follower_config, new_kit

D = Decimal
FOLLOWERS = 50
LATENCY_S = 0.05  # per venue call


async def test_fifty_concurrent_followers_on_a_one_connection_pool_overlap(tmp_path: Path) -> None:
    kit = new_kit(tmp_path, pool_size=1, acquire_timeout_s=2.0)
    venues = [
        kit.add(follower_config(f"f{i}", mode="fixed_margin", value="500"), FakeExchange(latency_s=LATENCY_S))
        for i in range(FOLLOWERS + 1)
    ]
    kit.master.move("0.1", im="1000")  # k = 0.5 -> every follower buys 0.05
    executor = kit.build()

    started = time.monotonic()
    await executor.execute(FollowerJob("f0", "BTCUSDT", PositionIdx.ONE_WAY, kit.master.last_seq))
    one_follower_s = time.monotonic() - started
    # rules, then leverage || equity || position, then the order: three venue round trips in a row
    assert one_follower_s >= 3 * LATENCY_S

    started = time.monotonic()
    outcomes = await asyncio.gather(*(kit.run(f"f{i}") for i in range(1, FOLLOWERS + 1)))
    elapsed = time.monotonic() - started

    assert all([o.status for o in outcome.orders] == [OrderStatus.PLACED] for outcome in outcomes)
    assert all([(p.request.side, p.request.qty) for p in v.placed] == [(Side.BUY, D("0.05"))] for v in venues)
    # Serialised they would take 50 x one_follower_s (about 7.5 s); overlapped, a few round trips.
    assert elapsed < 5 * one_follower_s, f"50 followers took {elapsed:.2f}s, one alone {one_follower_s:.2f}s"
    placed = [e for e in kit.store.list_order_log(limit=500) if e.outcome is OrderOutcome.PLACED]
    assert len(placed) == FOLLOWERS + 1


async def test_every_outcome_carries_its_per_hop_times(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    kit.add(follower_config("f", mode="fixed_margin", value="500"), FakeExchange(latency_s=0.002))
    kit.master.move("0.1", im="1000")
    now = time.monotonic()
    job = FollowerJob(
        "f", "BTCUSDT", PositionIdx.ONE_WAY, kit.master.last_seq, JobReason.MASTER_CHANGE, "", now - 0.02, now - 0.01
    )
    outcome = await kit.build().execute(job)
    hops = outcome.hops
    stamps = [hops.master_received, hops.enqueued, hops.started, hops.leverage_synced, hops.reads_done,
              hops.order_sent, hops.order_acked, hops.finished]  # fmt: skip
    assert all(stamps) and stamps == sorted(stamps)
    assert hops.copy_latency_s is not None and hops.copy_latency_s >= 0.02

    (entry,) = kit.store.list_order_log("f")
    assert list(entry.hops) == [
        "master_received", "enqueued", "started", "leverage_synced", "reads_done", "order_sent", "order_acked",
        "finished",
    ]  # fmt: skip
    values = list(entry.hops.values())
    assert values == sorted(values)
    assert abs(values[-1] - time.time() * 1000) < 5_000  # epoch milliseconds
    assert values[-1] - values[0] >= 20  # master message -> finished, in ms


class ConnectionHoldingExchange(FakeExchange):
    """The bug the test above guards against, on purpose: every venue call holds a store connection while it waits."""

    store: SqliteStore | None = None

    async def _call(self, name: str) -> None:
        assert self.store is not None
        with self.store._pool.connection():  # the deliberate misuse under test
            await super()._call(name)


async def test_the_check_is_sharp_holding_a_connection_across_a_call_breaks_the_followers(tmp_path: Path) -> None:
    kit = new_kit(tmp_path, pool_size=1, acquire_timeout_s=0.1)
    for i in range(3):
        exchange = ConnectionHoldingExchange(latency_s=0.02)
        exchange.store = kit.store
        kit.add(follower_config(f"f{i}", mode="fixed_margin", value="500"), exchange)
    kit.master.move("0.1", im="1000")
    kit.build()
    outcomes = await asyncio.gather(*(kit.run(f"f{i}") for i in range(3)))
    errors = [o.message for o in outcomes if o.skip_reason is SkipReason.ERROR]
    assert errors and all("no SQLite connection free" in message for message in errors)
