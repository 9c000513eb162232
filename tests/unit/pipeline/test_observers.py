"""Observers: a failing one never affects the others; counters and the status board read outcomes correctly."""

from __future__ import annotations

from decimal import Decimal

from runtime.domain.values import PositionIdx, Side, Venue
from runtime.services.jobs import (
    FollowerJob,
    HopTimes,
    JobOutcome,
    JobReason,
    OrderRecord,
    OrderStatus,
    SkipReason,
)
from runtime.services.observers import EngineCounters, EngineObserver, ObserverHub, StatusBoard, describe_outcome
from tests.unit.pipeline.fakes import RecordingObserver

JOB = FollowerJob("a", "BTCUSDT", PositionIdx.ONE_WAY, 7, JobReason.MASTER_CHANGE)


def outcome(*orders: OrderRecord, skip: SkipReason | None = None, acked: float = 0.0) -> JobOutcome:
    return JobOutcome(
        follower_id="a",
        venue=Venue.BINANCE,
        master_symbol="BTCUSDT",
        venue_symbol="BTCUSDT",
        position_idx=PositionIdx.ONE_WAY,
        trigger_seq=7,
        orders=orders,
        skip_reason=skip,
        hops=HopTimes(master_received=10.0, order_acked=acked),
    )


def order(status: OrderStatus, qty: str = "0.010", reason: str = "") -> OrderRecord:
    return OrderRecord("cid-1", Side.BUY, Decimal(qty), False, status, reason_code=reason)


class Broken(EngineObserver):
    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        raise RuntimeError("the view is broken")


def test_a_failing_observer_does_not_stop_the_others() -> None:
    recorder = RecordingObserver()
    hub = ObserverHub([Broken(), recorder])
    hub.job_finished(JOB, outcome())
    hub.job_finished(JOB, outcome())
    assert recorder.count("finished") == 2


def test_counters_count_orders_skips_and_latency() -> None:
    counters = EngineCounters()
    counters.job_queued(JOB)
    counters.job_finished(JOB, outcome(order(OrderStatus.PLACED), acked=10.25))
    counters.job_finished(JOB, outcome(order(OrderStatus.REFUSED, reason="below_min_notional")))
    counters.job_finished(JOB, outcome(skip=SkipReason.ON_TARGET))
    snapshot = counters.as_dict()
    assert snapshot["orders"] == {"placed": 1, "refused": 1}
    assert snapshot["skips"] == {"on_target": 1}
    assert snapshot["copy_latency_p50_s"] == 0.25 and snapshot["jobs_finished"] == 3


def test_the_status_board_follows_a_follower_through_its_jobs() -> None:
    board = StatusBoard(clock=lambda: 99.0)
    board.job_queued(JOB)
    board.job_queued(JOB)
    board.job_started(JOB)
    status = board.status("a")
    assert status.queued == 1 and status.running == "BTCUSDT:0 master_change"
    board.job_finished(JOB, outcome(order(OrderStatus.PLACED), order(OrderStatus.REFUSED, reason="x"), acked=10.5))
    assert (status.running, status.placed, status.refused, status.last_latency_s) == ("", 1, 1, 0.5)
    assert status.last_action == "BTCUSDT: placed Buy 0.01, refused Buy 0.01 (x)"
    board.job_failed(JOB, RuntimeError("store locked"))
    assert status.failed == 1 and "store locked" in status.last_action


def test_an_outcome_without_orders_says_why() -> None:
    assert describe_outcome(outcome(skip=SkipReason.PAUSED)) == "BTCUSDT: nothing to do (paused)"
    assert describe_outcome(outcome()) == "BTCUSDT: on target"
