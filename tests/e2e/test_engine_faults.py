"""Issue 5 acceptance, exactly once under faults, on the whole engine (``build_engine`` + the three simulators over
real sockets, the master trading through pybit):

- a duplicated master event: every change fed twice into the host (and every follower job delivered twice, as an
  at-least-once queue may), a change fed again long after; every frame of the master's private stream sent twice;
- a crash between the exchange call and the record (the store "dies" right after the venue took the order), and a
  job cancelled at shutdown while its order is in flight; then a new engine on the same SQLite file;
- 20 dropped master streams during a burst of master orders.

The verdict is always read at the venues (the simulators' admin API): exactly one order per follower per master
change, and every follower on its target.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from runtime.demo.checks import CheckResult
from runtime.domain.events import MasterPositionChanged
from runtime.domain.values import Venue
from runtime.listener.stream_stats import StreamStats
from runtime.ports.store import ClaimStatus, OrderOutcome
from runtime.services.jobs import FollowerJob, JobReason, SkipReason
from runtime.sim.cluster import SimulatorCluster
from tests.e2e.engine_kit import EngineWorld, engine_world, follower, scenario_of, wait_until

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

D = Decimal
VENUES = ("bybit", "binance", "hyperliquid")
# equity ratio 1 with half the master's equity: k = 0.5; SOL steps are 0.1 (Bybit), 1 (Binance), 0.01 (Hyperliquid)
HALF = [follower(venue, venue, "50000", {"mode": "equity_ratio", "multiplier": "1"}) for venue in VENUES]
SOL = {"SOLUSDT": "150"}


class SimulatedCrash(BaseException):
    """The process dies: nothing after this point runs (a BaseException, so no ``except Exception`` catches it)."""


def sizes(check: CheckResult) -> dict[str, Decimal]:
    return {r.follower_id: r.follower_size for r in check.records}


async def orders_per_follower(world: EngineWorld) -> dict[str, list[dict[str, Any]]]:
    return {f.id: await world.venue_orders(f.id) for f in world.scenario.followers}


async def assert_on_target(world: EngineWorld, name: str, expected: Mapping[str, Decimal]) -> None:
    check = await world.check(name)
    assert check.passed, check
    assert sizes(check) == dict(expected)
    assert all(r.deviation_steps <= 1 for r in check.records)


# ----- duplicated master events ------------------------------------------------------------------------------------


async def test_a_master_change_fed_twice_and_its_jobs_delivered_twice_make_one_order_per_follower(
    sim_cluster: SimulatorCluster,
) -> None:
    redelivered: list[FollowerJob] = []

    def feed_everything_twice(world: EngineWorld) -> None:
        host = world.engine.host
        deliver_once = host.on_master_change

        async def deliver_twice(change: MasterPositionChanged) -> None:
            await asyncio.gather(deliver_once(change), deliver_once(change))
            for follower_id in host.dispatcher.follower_ids:  # each job again, as an at-least-once queue may
                job = FollowerJob(follower_id, change.symbol, change.position_idx, change.seq)
                redelivered.append(job)
                host.workers.submit(job)

        host.on_master_change = deliver_twice  # type: ignore[method-assign]  # before start: the feed's sink

    async with engine_world(sim_cluster, scenario_of(HALF, marks=SOL), before_start=feed_everything_twice) as world:
        await world.trade("SOLUSDT", "Buy", "40")
        await assert_on_target(world, "open", {"bybit": D(20), "binance": D(20), "hyperliquid": D(20)})
        await world.trade("SOLUSDT", "Sell", "10", reduce_only=True)
        await assert_on_target(world, "partial close", {"bybit": D(15), "binance": D(15), "hyperliquid": D(15)})

        opened, trimmed = world.changes.applied
        assert [c.seq for c in world.changes.refused] == [opened.seq, trimmed.seq]  # the second feed of each
        # Long after: the open (now stale) and the latest change fed (twice) again; the store refuses them all and
        # their redelivered jobs find the followers on the latest target.
        await world.engine.host.on_master_change(opened)
        await world.engine.host.on_master_change(trimmed)
        assert world.changes.refused[2:] == [opened, opened, trimmed, trimmed]
        late = {"bybit": D(15), "binance": D(15), "hyperliquid": D(15)}
        await assert_on_target(world, "after the late duplicates", late)

        assert len(redelivered) == 12
        for follower_id, orders in (await orders_per_follower(world)).items():
            assert [(o["side"], D(o["qty"])) for o in orders] == [("Buy", D(20)), ("Sell", D(5))], follower_id
            placed = world.logged(follower_id, OrderOutcome.PLACED)
            assert [e.client_order_id for e in placed] == [o["client_id"] for o in orders]
            # A redelivered job that ran found the follower on target (level-triggered): a skip, never an order.
            ran = [o for o in world.recorder.outcomes if o.follower_id == follower_id and not o.placed]
            assert ran and all(o.skip_reason is SkipReason.ON_TARGET for o in ran), ran
            assert world.logged(follower_id, OrderOutcome.FAILED) == []


async def test_every_master_stream_frame_sent_twice_makes_one_order_per_follower_per_change(
    sim_cluster: SimulatorCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sim_cluster.bybit is not None
    hub = sim_cluster.bybit.streams
    publish_once = hub.publish
    duplicated: list[str] = []

    def publish_twice(key: str, payload: Any) -> int:
        sent = publish_once(key, payload)
        if key.startswith("master/") and sent:  # the master's execution, order, position and wallet frames
            duplicated.append(key)
            publish_once(key, payload)
        return sent

    monkeypatch.setattr(hub, "publish", publish_twice)
    async with engine_world(sim_cluster, scenario_of(HALF, marks=SOL)) as world:
        steps = [  # (side, qty, reduce-only) of the master -> each follower's size after it (k = 0.5)
            ("Buy", "40", False, D(20)),
            ("Buy", "20", False, D(30)),
            ("Sell", "30", True, D(15)),
            ("Sell", "60", False, D(-15)),  # a flip: close, then open the short
            ("Buy", "30", True, D(0)),
        ]
        for side, qty, reduce_only, size in steps:
            await world.trade("SOLUSDT", side, qty, reduce_only=reduce_only)
            await assert_on_target(world, f"{side} {qty}", {f: size for f in ("bybit", "binance", "hyperliquid")})

        assert {key.split("/")[1] for key in duplicated} >= {"position", "execution", "order"}
        seqs = [c.seq for c in world.changes.applied]
        assert len(seqs) == len(steps) and seqs == sorted(set(seqs))  # one change per master fill
        expected = [
            ("Buy", D(20), False), ("Buy", D(10), False), ("Sell", D(15), True),
            ("Sell", D(15), True), ("Sell", D(15), False), ("Buy", D(15), True),
        ]  # fmt: skip
        for follower_id, orders in (await orders_per_follower(world)).items():
            assert [(o["side"], D(o["qty"]), o["reduce_only"]) for o in orders] == expected, follower_id


# ----- a crash between the exchange call and the record ------------------------------------------------------------


async def test_a_crash_after_the_venue_took_the_order_and_before_the_record_is_one_order_after_a_restart(
    sim_cluster: SimulatorCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine_world(sim_cluster, scenario_of(HALF, marks=SOL)) as world:
        store = world.engine.store
        finish_claim = store.finish_claim
        crashed: list[str] = []

        def die_before_recording(claim_id: str, status: ClaimStatus, result: Mapping[str, str], **kw: Any) -> None:
            if status is ClaimStatus.PLACED:  # the venue answered: the order is there; the record never happens
                crashed.append(claim_id)
                raise SimulatedCrash(claim_id)
            finish_claim(claim_id, status, result, **kw)

        monkeypatch.setattr(store, "finish_claim", die_before_recording)
        await world.trade("SOLUSDT", "Buy", "40")
        await wait_until(lambda: len(crashed) == 3, what="the three followers' orders to reach the venues")
        unfinished = {claim.follower_id: claim.claim_id for claim in store.unfinished_claims()}
        assert set(unfinished.values()) == set(crashed) and len(unfinished) == 3
        for follower_id, orders in (await orders_per_follower(world)).items():
            assert [o["client_id"] for o in orders] == [unfinished[follower_id]]  # at the venue, not recorded

        await world.restart_engine()  # a new process on the same SQLite file: recovery, then a SYNC round
        await assert_on_target(world, "after the restart", {"bybit": D(20), "binance": D(20), "hyperliquid": D(20)})
        restarted = world.engine.store
        assert restarted.unfinished_claims() == []
        for follower_id, claim_id in unfinished.items():
            assert restarted.get_claim(claim_id).status is ClaimStatus.RECONCILED  # type: ignore[union-attr]
            assert [e.client_order_id for e in world.logged(follower_id, OrderOutcome.RECONCILED)] == [claim_id]
            synced = [o for o in world.recorder.outcomes if o.follower_id == follower_id and o.reason is JobReason.SYNC]
            assert [o.skip_reason for o in synced] == [SkipReason.ON_TARGET]
        assert {f: len(o) for f, o in (await orders_per_follower(world)).items()} == {
            "bybit": 1, "binance": 1, "hyperliquid": 1
        }  # fmt: skip

        await world.trade("SOLUSDT", "Sell", "40", reduce_only=True)  # the restarted engine copies on as usual
        await assert_on_target(world, "closed", {"bybit": D(0), "binance": D(0), "hyperliquid": D(0)})
        assert {f: len(o) for f, o in (await orders_per_follower(world)).items()} == {
            "bybit": 2, "binance": 2, "hyperliquid": 2
        }  # fmt: skip


async def test_a_job_cancelled_at_shutdown_while_its_order_is_in_flight_is_one_order_after_a_restart(
    sim_cluster: SimulatorCluster,
) -> None:
    async with engine_world(sim_cluster, scenario_of(HALF, marks=SOL)) as world:
        await world.trade("SOLUSDT", "Buy", "40")  # leverage is synced (and cached) on the way
        await assert_on_target(world, "open", {"bybit": D(20), "binance": D(20), "hyperliquid": D(20)})
        for venue in Venue:  # from now on a venue takes an order at once but answers two seconds later
            await world.faults(venue, latency={"order": {"fixed_s": "2"}})
        # The master's own order is delayed too: it is in the stream at once, its answer comes later.
        master_order = asyncio.create_task(world.trade("SOLUSDT", "Buy", "20"))

        async def in_flight() -> bool:
            claims = world.engine.store.unfinished_claims()
            at_venues = [len(orders) for orders in (await orders_per_follower(world)).values()]
            return len(claims) == 3 and at_venues == [2, 2, 2]

        deadline = time.monotonic() + 5
        while not await in_flight():
            assert time.monotonic() < deadline, "the three increases did not reach the venues"
            await asyncio.sleep(0.01)
        # Shutdown with the answers still on their way: the running jobs are cancelled at the deadline.
        assert not world.engine.host.is_idle()
        await world.engine.host.workers.stop(timeout_s=0.05)
        unfinished = {claim.follower_id: claim.claim_id for claim in world.engine.store.unfinished_claims()}
        assert len(unfinished) == 3
        await master_order

        for venue in Venue:
            await world.faults(venue, clear=True)
        await world.restart_engine()
        await assert_on_target(world, "after the restart", {"bybit": D(30), "binance": D(30), "hyperliquid": D(30)})
        assert world.engine.store.unfinished_claims() == []
        for follower_id, orders in (await orders_per_follower(world)).items():
            assert [(o["side"], D(o["qty"])) for o in orders] == [("Buy", D(20)), ("Buy", D(10))], follower_id
            assert orders[1]["client_id"] == unfinished[follower_id]
            claim = world.engine.store.get_claim(unfinished[follower_id])
            assert claim is not None and claim.status is ClaimStatus.RECONCILED


# ----- dropped master streams during a burst -----------------------------------------------------------------------


def established(stats: StreamStats, sessions: int) -> bool:
    return stats.connected and stats.connections >= sessions


async def test_twenty_dropped_master_streams_during_a_burst_miss_nothing_and_double_nothing(
    sim_cluster: SimulatorCluster,
) -> None:
    drops, placed, cuts, orders_while_down = 20, [0], [0], 0
    async with engine_world(sim_cluster, scenario_of(HALF, marks=SOL)) as world:
        stats = world.stream_stats

        async def burst(count: int, cut_after: int | None = None) -> None:
            for index in range(count):
                await world.trade("SOLUSDT", "Buy", "2")  # +1 SOL for each follower
                placed[0] += 1
                if index == cut_after:  # the stream is cut among the burst's orders
                    dropped = await world.faults(Venue.BYBIT, drop_streams=True)
                    assert dropped["dropped"] >= 1, "the master's stream was not open"
                    cuts[0] += 1

        for round_no in range(drops):
            await wait_until(partial(established, stats, round_no + 1), what=f"session {round_no + 1}")
            await burst(4, cut_after=1) if round_no % 2 else await burst(1, cut_after=0)
            if round_no % 3 == 0:
                await wait_until(lambda: stats.disconnects >= cuts[0], what="the loss to be noticed")
                await burst(1)  # while the stream is down: only the replay can see it
                orders_while_down += 0 if stats.connected else 1
        await wait_until(lambda: stats.connections >= drops + 1, what="the last session")
        target = D(placed[0])  # 2 SOL per master order x k 0.5
        await assert_on_target(world, "after the burst", {"bybit": target, "binance": target, "hyperliquid": target})

        assert stats.disconnects >= drops and stats.reconnects >= drops
        assert cuts[0] == drops
        assert orders_while_down >= 3, "some master orders must be placed while the stream is down"
        assert await world.master_legs() == {0: D(2 * placed[0])}
        seqs = [c.seq for c in world.changes.applied]
        assert seqs == sorted(set(seqs)) and len(seqs) <= placed[0]
        for follower_id, orders in (await orders_per_follower(world)).items():
            # Nothing doubled: every order a buy (a doubled one would overshoot and need a sell), one per master
            # change at most, each for its own master seq, adding up to the target exactly.
            assert all(o["side"] == "Buy" and not o["reduce_only"] for o in orders), follower_id
            assert 1 <= len(orders) <= len(seqs)
            assert sum(D(o["qty"]) for o in orders) == target
            placed_log = world.logged(follower_id, OrderOutcome.PLACED)
            assert [e.client_order_id for e in placed_log] == [o["client_id"] for o in orders]
            placed_seqs = [e.master_seq or 0 for e in placed_log]
            assert placed_seqs == sorted(set(placed_seqs)) and 0 not in placed_seqs, placed_seqs
