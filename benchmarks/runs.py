"""Running the master's cycles through (a) the original sequential model and (b) the engine, timing each cycle.

Copy cycle = the master position message received (the change's ``received_at``, stamped just before the store
write) -> the last follower order acknowledged (the latest ``acked_at`` of the cycle's order records). Both models
write the master snapshot to the store first, exactly as the local host does, then run ``FollowerExecutor.execute``:
(a) for one follower after another, (b) through the dispatcher and the per-follower workers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from benchmarks.calls import calls_per_order, order_floor_s, path_floor_s, slowest_order_call_s
from benchmarks.master_changes import MasterCycle
from benchmarks.world import World
from runtime.services.dispatcher import Dispatcher, snapshot_from_change, wall_clock_ms
from runtime.services.jobs import FollowerJob, JobOutcome, OrderStatus
from runtime.services.observers import EngineObserver, ObserverHub
from runtime.services.workers import FollowerWorkers

CYCLE_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class CycleResult:
    """One master change carried to every follower. Times in seconds."""

    index: int
    kind: str
    cycle_s: float  # master message received -> last follower order acknowledged
    engine_s: float  # master message received -> every job finished (orders logged)
    orders: int  # placed or reconciled at the venue
    refused: int
    failed: int
    skipped_jobs: int
    calls: int  # venue calls of the cycle
    order_floor_s: float  # the slowest single order call's venue latency
    path_floor_s: float  # the slowest follower's chain of venue latency (reads, then orders)
    slowest_order_call_s: float  # the slowest order call as measured by the client
    cpu_s: float  # process CPU time spent during the cycle
    venue_s: float  # of which the in-process paper venues' own work (a real venue does it on its own machine)
    store_s: float  # time in the store's calls (SQLite statements and commits, on the event loop)
    open_legs_after: int  # follower legs left open after the cycle: 0 after a full close, one per follower else

    @property
    def ratio_to_order_floor(self) -> float:
        return self.cycle_s / self.order_floor_s if self.order_floor_s else 0.0

    @property
    def ratio_to_path_floor(self) -> float:
        return self.cycle_s / self.path_floor_s if self.path_floor_s else 0.0


@dataclass(frozen=True)
class _Clock:
    """Where a cycle started: the monotonic clock, the process CPU clock and the venues' busy time."""

    received: float
    cpu: float
    venue: float
    store: float

    @staticmethod
    def start(world: World) -> _Clock:
        return _Clock(time.monotonic(), time.process_time(), world.venue_busy_s(), world.store.total_s)


def _summarize(cycle: MasterCycle, world: World, outcomes: Sequence[JobOutcome], start: _Clock) -> CycleResult:
    done, cpu_s = time.monotonic(), time.process_time() - start.cpu
    venue_s, store_s = world.venue_busy_s() - start.venue, world.store.total_s - start.store
    received = start.received
    records = [record for outcome in outcomes for record in outcome.orders]
    acked = [record.acked_at for record in records if record.acked_at]
    calls = world.calls.calls
    total_calls, _ = calls_per_order(calls)
    return CycleResult(
        index=cycle.index,
        kind=cycle.kind.value,
        cycle_s=(max(acked) - received) if acked else 0.0,
        engine_s=done - received,
        orders=sum(1 for record in records if record.reached_venue),
        refused=sum(1 for record in records if record.status is OrderStatus.REFUSED),
        failed=sum(1 for record in records if record.status is OrderStatus.FAILED),
        skipped_jobs=sum(1 for outcome in outcomes if outcome.skip_reason is not None),
        calls=total_calls,
        order_floor_s=order_floor_s(calls),
        path_floor_s=path_floor_s(calls),
        slowest_order_call_s=slowest_order_call_s(calls),
        cpu_s=cpu_s,
        venue_s=venue_s,
        store_s=store_s,
        open_legs_after=world.open_follower_legs(),
    )


class _Outcomes(EngineObserver):
    def __init__(self) -> None:
        self.outcomes: list[JobOutcome] = []
        self.errors: list[BaseException] = []

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        self.errors.append(error)


async def run_engine(world: World, cycles: Iterable[MasterCycle]) -> list[CycleResult]:
    """(b) the engine: the dispatcher writes the snapshot and queues one job per follower; the workers run them."""
    observer = _Outcomes()
    hub = ObserverHub([observer])
    workers = FollowerWorkers(world.executor, hub)
    ids = world.follower_ids
    workers.add_followers(ids)
    dispatcher = Dispatcher(world.store, ids, workers.submit, observer=hub)
    results: list[CycleResult] = []
    try:
        for cycle in cycles:
            world.calls.clear()
            observer.outcomes.clear()
            start = _Clock.start(world)
            dispatcher.dispatch(replace(cycle.change, received_at=start.received))
            if not await workers.wait_idle(CYCLE_TIMEOUT_S):
                raise RuntimeError(f"cycle {cycle.index} did not finish within {CYCLE_TIMEOUT_S:.0f} s")
            if observer.errors:
                raise RuntimeError(f"the executor raised in cycle {cycle.index}: {observer.errors[0]!r}")
            results.append(_summarize(cycle, world, observer.outcomes, start))
    finally:
        await workers.stop()
    return results


async def run_sequential(
    world: World, cycles: Iterable[MasterCycle], *, forget_leverage: bool = True
) -> list[CycleResult]:
    """(a) the original model: the same executor, one follower after another; with ``forget_leverage`` the leverage
    is synced at every change as the original did (it kept no cache), and a world built with ``serial_calls`` makes
    each follower's calls one after another."""
    results: list[CycleResult] = []
    for cycle in cycles:
        world.calls.clear()
        start = _Clock.start(world)
        change = cycle.change
        world.store.put_master_snapshot(snapshot_from_change(change, wall_clock_ms()))
        outcomes: list[JobOutcome] = []
        for follower_id in world.follower_ids:
            if forget_leverage:
                world.contexts[follower_id].leverage_cache.clear()
            job = FollowerJob(
                follower_id,
                change.symbol,
                change.position_idx,
                change.seq,
                master_received_at=start.received,
                enqueued_at=time.monotonic(),
            )
            outcomes.append(await world.executor.execute(job))
        results.append(_summarize(cycle, world, outcomes, start))
    return results
