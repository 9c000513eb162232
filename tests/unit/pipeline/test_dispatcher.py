"""The dispatcher: snapshot first (seq-conditional), then one job per follower; stale changes make no jobs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx
from runtime.services.dispatcher import Dispatcher, snapshot_from_change
from runtime.services.jobs import FollowerJob, JobReason
from tests.unit.pipeline.fakes import RecordingObserver

D = Decimal
LIFE = Lifecycle("BTCUSDT:0:5", D("3000"), D("100000"), 5)


def change(seq: int, prev: str, new: str, *, leverage: str = "10", received_at: float = 42.0) -> MasterPositionChanged:
    return MasterPositionChanged(
        master="m",
        symbol="BTCUSDT",
        position_idx=PositionIdx.ONE_WAY,
        seq=seq,
        prev_size=D(prev),
        new_size=D(new),
        position_im=D("3000"),
        leverage=D(leverage),
        entry_price=D("60000"),
        lifecycle=LIFE,
        received_at=received_at,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "state.db") as opened:
        yield opened


def build(
    store: SqliteStore, followers: tuple[str, ...] = ("a", "b", "c"), **kwargs: Any
) -> tuple[Dispatcher, list[FollowerJob], RecordingObserver]:
    jobs: list[FollowerJob] = []
    observer = RecordingObserver()
    dispatcher = Dispatcher(store, followers, jobs.append, observer=observer, clock=lambda: 7.0, **kwargs)
    return dispatcher, jobs, observer


def test_a_change_is_stored_then_fanned_out_one_job_per_follower(store: SqliteStore) -> None:
    dispatcher, jobs, observer = build(store)
    result = dispatcher.dispatch(change(5, "0", "0.5"))
    assert result.applied
    snapshot = store.get_master_snapshot("m", "BTCUSDT", PositionIdx.ONE_WAY)
    assert snapshot is not None and snapshot.seq == 5 and snapshot.size == D("0.5") and snapshot.lifecycle == LIFE
    assert [job.follower_id for job in jobs] == ["a", "b", "c"]
    assert {(job.symbol, job.position_idx, job.trigger_seq, job.reason) for job in jobs} == {
        ("BTCUSDT", PositionIdx.ONE_WAY, 5, JobReason.MASTER_CHANGE)
    }
    assert all(job.master_received_at == 42.0 and job.enqueued_at == 7.0 for job in jobs)
    assert observer.changes == [(5, True)]


def test_a_stale_or_duplicated_change_makes_no_jobs(store: SqliteStore) -> None:
    dispatcher, jobs, observer = build(store)
    dispatcher.dispatch(change(7, "0", "0.8"))
    jobs.clear()
    assert not dispatcher.dispatch(change(5, "0", "0.5")).applied  # late: older seq
    assert not dispatcher.dispatch(change(7, "0", "0.8")).applied  # duplicate
    assert jobs == []
    snapshot = store.get_master_snapshot("m", "BTCUSDT", PositionIdx.ONE_WAY)
    assert snapshot is not None and snapshot.size == D("0.8")
    assert observer.changes == [(7, True), (5, False), (7, False)]


def test_a_leverage_only_change_makes_leverage_jobs(store: SqliteStore) -> None:
    dispatcher, jobs, _ = build(store, followers=("a",))
    dispatcher.dispatch(change(5, "0", "0.5"))
    dispatcher.dispatch(change(6, "0.5", "0.5", leverage="5"))
    assert [job.reason for job in jobs] == [JobReason.MASTER_CHANGE, JobReason.LEVERAGE_ONLY]


def test_a_full_close_stores_a_flat_leg_without_lifecycle(store: SqliteStore) -> None:
    dispatcher, _jobs, _ = build(store)
    dispatcher.dispatch(change(9, "0.5", "0"))
    snapshot = store.get_master_snapshot("m", "BTCUSDT", PositionIdx.ONE_WAY)
    assert snapshot is not None and snapshot.size == 0 and snapshot.lifecycle is None
    assert snapshot_from_change(change(9, "0.5", "0"), 1).lifecycle is None


def test_the_job_filter_seam_decides_per_follower(store: SqliteStore) -> None:
    dispatcher, jobs, _ = build(store, job_filter=lambda follower, _change: follower != "b")
    dispatcher.dispatch(change(5, "0", "0.5"))
    assert [job.follower_id for job in jobs] == ["a", "c"]


def test_sync_jobs_cover_every_follower_and_leg_under_one_round(store: SqliteStore) -> None:
    dispatcher, jobs, _ = build(store, followers=("a", "b"))
    legs = [LegKey("BTCUSDT"), LegKey("ETHUSDT", PositionIdx.HEDGE_SHORT)]
    made = dispatcher.sync_jobs(legs, "startup-1")
    assert made == jobs and len(jobs) == 4
    assert {(job.follower_id, job.symbol, job.position_idx) for job in jobs} == {
        ("a", "BTCUSDT", PositionIdx.ONE_WAY),
        ("b", "BTCUSDT", PositionIdx.ONE_WAY),
        ("a", "ETHUSDT", PositionIdx.HEDGE_SHORT),
        ("b", "ETHUSDT", PositionIdx.HEDGE_SHORT),
    }
    assert all(job.reason is JobReason.SYNC and job.sync_round == "startup-1" for job in jobs)
