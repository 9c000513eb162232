"""Issue 5 acceptance: no database connection or transaction is held across an exchange call, on the whole engine.

The engine runs with ``state.sqlite_pool_size = 1`` and 50 followers on the Bybit simulator, every venue call
delayed by 0.2 s. Holding the one connection across a call would serialise the followers (50 x two round trips,
over 20 s) and make every other store call wait for it (the pool warns about waits over 500 ms, and fails them
after its acquire timeout). Instead all 50 reach their targets in about the time of one follower, their jobs
overlapping. (The control, a connection held on purpose, is tests/unit/services/test_executor_concurrency.py.)
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from runtime.domain.values import Venue
from runtime.ports.store import OrderOutcome
from runtime.services.jobs import JobOutcome, OrderStatus
from runtime.sim.cluster import SimulatorCluster
from tests.e2e.engine_kit import engine_world, follower, scenario_of

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

D = Decimal
FOLLOWERS = 50
LATENCY_S = D("0.2")  # per venue call: reads, leverage and wallet, orders
# One follower's job is at least two venue round trips in a row: (leverage || equity || position), then the order.
SERIAL_CYCLE_S = FOLLOWERS * 2 * float(LATENCY_S)


def most_at_once(outcomes: list[JobOutcome]) -> int:
    """The largest number of jobs that were running at the same instant."""
    edges = sorted([(o.hops.started, 1) for o in outcomes] + [(o.hops.finished, -1) for o in outcomes])
    running = best = 0
    for _, step in edges:
        running += step
        best = max(best, running)
    return best


async def test_fifty_followers_on_a_one_connection_pool_reach_their_targets_concurrently(
    sim_cluster: SimulatorCluster, caplog: pytest.LogCaptureFixture
) -> None:
    followers = [
        follower(f"f{i:02d}", "bybit", "10000", {"mode": "equity_ratio", "multiplier": "1"}) for i in range(FOLLOWERS)
    ]  # k = 10000 / 100000 = 0.1
    scenario = scenario_of(followers, marks={"BTCUSDT": "60000"})
    caplog.set_level(logging.WARNING, logger="runtime.adapters.sqlite_pool")
    async with engine_world(sim_cluster, scenario, pool_size=1) as world:
        assert world.engine.store._pool.max_size == 1  # type: ignore[attr-defined]
        delay = {"fixed_s": str(LATENCY_S)}
        await world.faults(Venue.BYBIT, latency={"read": delay, "account": delay, "order": delay})

        await world.trade("BTCUSDT", "Buy", "1")
        opened = await world.check("open", timeout_s=20)
        assert opened.passed, opened
        assert {r.follower_size for r in opened.records} == {D("0.1")} and len(opened.records) == FOLLOWERS

        (change,) = world.changes.applied
        outcomes = world.recorder.outcomes
        assert len(outcomes) == FOLLOWERS
        assert all([o.status for o in outcome.orders] == [OrderStatus.PLACED] for outcome in outcomes)
        cycle_s = max(o.hops.finished for o in outcomes) - change.received_at
        slowest_job_s = max(o.hops.finished - o.hops.started for o in outcomes)
        assert slowest_job_s >= 2 * float(LATENCY_S)  # the latency was really there
        assert cycle_s < SERIAL_CYCLE_S / 4, (
            f"50 followers took {cycle_s:.2f} s; one after another >= {SERIAL_CYCLE_S:.0f} s"
        )
        assert most_at_once(outcomes) >= FOLLOWERS * 0.8, "the followers' jobs did not overlap"

        await world.trade("BTCUSDT", "Sell", "1", reduce_only=True)
        closed = await world.check("closed", timeout_s=20)
        assert closed.passed and {r.follower_size for r in closed.records} == {D(0)}, closed
        for item in followers:
            assert [o["side"] for o in await world.venue_orders(item["id"])] == ["Buy", "Sell"]
            assert len(world.logged(item["id"], OrderOutcome.PLACED)) == 2
    waits = [r.getMessage() for r in caplog.records if "SQLite connection" in r.getMessage()]
    assert waits == [], waits[:3]
