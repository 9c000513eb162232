"""Issue 7 acceptance, the faults of the engine issue on the AWS wiring (``--host aws-local``): the simulators, a moto
server, the Fargate listener writing to SQS FIFO, the dispatcher and executor handlers invoked as the SQS event
source mapping invokes them (tests/e2e/test_demo_aws_local.py covers duplicated and redelivered messages):

- the master's private stream cut again and again during a burst of master orders (the listener reconnects and
  replays the gap);
- a crash between the exchange call and the record: the executor's first invocation for each follower gets its
  order to the venue and dies before the claim is finished; SQS delivers the job again.

The verdict is read at the venues (the simulators' admin API): every follower on target, never a doubled order.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from runtime.demo.checks import Checker, CheckResult, OutcomeRecorder
from runtime.demo.scenario import parse_scenario
from runtime.demo.world import DemoWorld, start_world
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.hosts.aws_audit import resolve_stale_claims
from runtime.hosts.aws_local.config import AwsLocalSettings, LambdaHandlers
from runtime.hosts.aws_local.demo_engine import AwsLocalEngine, AwsLocalEngineFactory
from runtime.ports.store import ClaimStatus, OrderOutcome
from runtime.services.jobs import SkipReason

pytestmark = pytest.mark.timeout(90)

D = Decimal
FOLLOWERS = ("by", "bn", "hl")
# Equity ratio 1 with half the master's equity: k = 0.5; SOL steps are 0.1 (Bybit), 1 (Binance), 0.01 (Hyperliquid).
SCENARIO = {
    "name": "faults on the AWS wiring",
    "marks": {"SOLUSDT": "150"},
    "master": {"balance": "100000"},
    "settle_timeout_s": 20,
    "followers": [
        {"id": fid, "venue": venue, "balance": "50000", "sizing": {"mode": "equity_ratio", "multiplier": "1"}}
        for fid, venue in zip(FOLLOWERS, ("bybit", "binance", "hyperliquid"), strict=True)
    ],
    "steps": [{"do": "check"}],
}


class SimulatedCrash(Exception):
    """The function dies after the venue took the order: the record of the claim never happens."""


async def wait_until(condition: Callable[[], bool], what: str, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {within_s} s waiting for {what}"
        await asyncio.sleep(0.01)


async def venue_orders(world: DemoWorld[Any]) -> dict[str, list[dict[str, Any]]]:
    return {f.id: list((await world.account(f.venue, f.id))["orders"]) for f in world.scenario.followers}


def sizes(check: CheckResult) -> dict[str, Decimal]:
    return {r.follower_id: r.follower_size for r in check.records}


async def start(recorder: OutcomeRecorder, functions: CountingFunctions) -> tuple[DemoWorld[Any], AwsLocalEngine]:
    # A failed record comes back at once (the poller's shortcut for SQS's visibility timeout); no periodic audit,
    # so every order at the venues comes from the copy path.
    settings = AwsLocalSettings(failed_visibility_s=0, audit_interval_s=None)
    factory = AwsLocalEngineFactory(settings=settings, handlers=functions.handlers)
    world = await start_world(parse_scenario(SCENARIO), observers=[recorder], engine_factory=factory)
    engine = world.engine
    assert isinstance(engine, AwsLocalEngine)
    return world, engine


async def buy(world: DemoWorld[Any], qty: str) -> None:
    await world.master.market("SOLUSDT", Side.BUY, D(qty), reduce_only=False, position_idx=PositionIdx.ONE_WAY)


class CountingFunctions:
    """The deployed handlers, remembering the master changes the dispatcher got (by seq) and counting the
    executor's invocations per (follower, trigger seq)."""

    def __init__(self) -> None:
        self.deployed = LambdaHandlers.deployed()
        self.master_seqs: set[int] = set()
        self.runs: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def handlers(self) -> LambdaHandlers:
        return LambdaHandlers(self.dispatcher, self.executor, self.deployed.audit)

    def dispatcher(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.master_seqs.update(int(json.loads(item["body"])["seq"]) for item in event["Records"])
        return self.deployed.dispatcher(event, context)

    def executor(self, event: dict[str, Any], context: Any) -> Any:
        for item in event["Records"]:
            job = json.loads(item["body"])
            with self._lock:
                self.runs[(job["follower_id"], job["trigger_seq"])] += 1
        return self.deployed.executor(event, context)


# ----- dropped master streams during a burst -----------------------------------------------------------------------


async def test_repeatedly_dropped_master_streams_during_a_burst_miss_nothing_and_double_nothing() -> None:
    recorder, functions = OutcomeRecorder(), CountingFunctions()
    world, engine = await start(recorder, functions)
    try:
        assert world.cluster.bybit is not None
        streams = world.cluster.bybit.streams
        drops, placed, while_down = 12, 0, 0

        def reconnected(cut: frozenset[object]) -> bool:
            return any(conn not in cut for conn in set(streams.connections))

        for round_no in range(drops):
            cut: frozenset[object] = frozenset(streams.connections)
            assert cut, "the listener's stream is not open"
            for _ in range(1 + round_no % 3):  # a burst of 1 to 3 master orders: +1 SOL per follower each
                await buy(world, "2")
                placed += 1
            dropped = await world.admin.post(world.sim_url(Venue.BYBIT), "faults", {"drop_streams": True})
            assert dropped["dropped"] >= 1
            if round_no % 3 == 0:  # an order while the stream is down: only the replay can see it
                await buy(world, "2")
                placed += 1
                while_down += 0 if reconnected(cut) else 1
            await wait_until(partial(reconnected, cut), f"the listener's session after drop {round_no + 1}")

        checked = await Checker(world, recorder).check(0, "after the burst", 30)
        target = D(placed)  # 2 SOL per master order x k 0.5
        assert checked.passed, checked
        assert sizes(checked) == {f: target for f in FOLLOWERS}
        assert while_down >= 1, "no master order was placed while the stream was down"
        for follower_id, orders in (await venue_orders(world)).items():
            # Never doubled: every order a buy (a doubled one would overshoot and need a sell), at most one per
            # master change, and the sizes add up to the target exactly.
            assert all(o["side"] == "Buy" for o in orders), (follower_id, orders)
            assert 1 <= len(orders) <= len(functions.master_seqs) <= placed, (follower_id, len(orders), placed)
            assert sum(D(o["qty"]) for o in orders) == target, follower_id
            # Each order recorded once, for a master change of its own.
            logged = [
                e for e in engine.store.list_order_log(follower_id, limit=1000) if e.outcome is OrderOutcome.PLACED
            ]
            assert sorted(e.client_order_id for e in logged) == sorted(o["client_id"] for o in orders), follower_id
            seqs = [e.master_seq for e in logged]
            assert len(seqs) == len(set(seqs)) and set(seqs) <= functions.master_seqs, (follower_id, seqs)
        assert engine.counters.as_dict()["jobs_failed"] == 0
    finally:
        await world.stop()


# ----- a crash between the exchange call and the record ------------------------------------------------------------


async def test_a_crash_after_the_venue_took_the_order_and_before_the_record_is_one_order_after_redelivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder, functions = OutcomeRecorder(), CountingFunctions()
    world, engine = await start(recorder, functions)
    try:
        store = engine.store  # the functions' DynamoDB store (the executor's, built once per warm process)
        finish_claim = store.finish_claim
        crashed: dict[str, str] = {}  # follower -> the claim left unfinished
        lock = threading.Lock()

        def die_once_before_recording(claim_id: str, status: ClaimStatus, result: Mapping[str, str], **kw: Any) -> Any:
            claim = store.get_claim(claim_id)
            assert claim is not None
            with lock:
                first = status is ClaimStatus.PLACED and claim.follower_id not in crashed
                if first:  # the venue answered: the order is there; the record never happens
                    crashed[claim.follower_id] = claim_id
            if first:
                raise SimulatedCrash(claim_id)
            return finish_claim(claim_id, status, result, **kw)

        monkeypatch.setattr(store, "finish_claim", die_once_before_recording)
        await buy(world, "40")
        checked = await Checker(world, recorder).check(0, "open", 20)
        assert checked.passed, checked
        assert sizes(checked) == {f: D(20) for f in FOLLOWERS}
        assert sorted(crashed) == sorted(FOLLOWERS)

        orders = await venue_orders(world)
        for follower_id, claim_id in crashed.items():
            # Exactly one order at the venue, under the claimed client id; the job ran twice (crash, redelivery).
            assert [(o["side"], D(o["qty"]), o["client_id"]) for o in orders[follower_id]] == [
                ("Buy", D(20), claim_id)
            ], follower_id
            (seq,) = [s for (f, s) in functions.runs if f == follower_id]
            assert functions.runs[(follower_id, seq)] == 2, functions.runs
        assert engine.host.pollers[1].stats.failed == 3
        # The first run of each job reports the crash; the redelivered one finds the order's fill (level-triggered)
        # and sends nothing. It never reaches the unfinished claim, which stays CLAIMED until the audit's stale-claim
        # pass (below) looks it up: Lambdas have no start-up recovery like the local host's restart.
        crashes = [o for o in recorder.outcomes if o.skip_reason is SkipReason.ERROR]
        assert sorted(o.follower_id for o in crashes) == sorted(FOLLOWERS), recorder.outcomes
        assert all("SimulatedCrash" in o.message for o in crashes), crashes
        redelivered = [o for o in recorder.outcomes if o.skip_reason is not SkipReason.ERROR]
        assert sorted(o.follower_id for o in redelivered) == sorted(FOLLOWERS), recorder.outcomes
        assert all(o.skip_reason is SkipReason.ON_TARGET and not o.orders for o in redelivered), redelivered
        dead = engine.host.world.queue_counts(engine.host.world.follower_orders.dlq_url)
        assert dead == (0, 0)
        # The redelivered job left the claims CLAIMED; the scheduled audit's stale-claim pass looks each one up at
        # the venue and records it RECONCILED (age 0 here instead of the production 3 minutes).
        monkeypatch.setattr(store, "finish_claim", finish_claim)
        services = engine.host.services
        assert all(store.get_claim(cid).status is ClaimStatus.CLAIMED for cid in crashed.values())  # type: ignore[union-attr]
        resolved = await asyncio.to_thread(services.run, resolve_stale_claims(services, older_than_ms=0))
        assert resolved == len(crashed)
        for claim_id in crashed.values():
            claim = store.get_claim(claim_id)
            assert claim is not None and claim.status is ClaimStatus.RECONCILED, claim
        assert sum(len(o) for o in (await venue_orders(world)).values()) == len(crashed)  # still one order each
    finally:
        await world.stop()
