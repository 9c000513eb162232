"""Per-follower queues: order kept per follower, followers in parallel, a slow one holds up no one, clean shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest

from runtime.domain.values import PositionIdx
from runtime.services.jobs import FollowerJob, JobReason
from runtime.services.workers import FollowerWorkers, UnknownFollowerError, WorkersStoppedError
from tests.unit.pipeline.fakes import FakeExecutor, RecordingObserver


def job(follower: str, seq: int, symbol: str = "BTCUSDT", reason: JobReason = JobReason.MASTER_CHANGE) -> FollowerJob:
    return FollowerJob(follower, symbol, PositionIdx.ONE_WAY, seq, reason, master_received_at=time.monotonic())


async def test_each_followers_jobs_run_one_at_a_time_in_submission_order() -> None:
    executor = FakeExecutor(delays={"a": 0.005, "b": 0.001})
    workers = FollowerWorkers(executor, coalesce=False)
    workers.add_followers(["a", "b"])
    for seq in range(1, 9):
        workers.submit(job("a", seq))
        workers.submit(job("b", seq))
    assert await workers.wait_idle(5)
    assert executor.seqs("a") == list(range(1, 9))
    assert executor.seqs("b") == list(range(1, 9))
    assert executor.max_parallel_per_follower == 1
    await workers.stop()


async def test_followers_run_in_parallel() -> None:
    executor = FakeExecutor(delays={name: 0.2 for name in "abcdef"})
    workers = FollowerWorkers(executor)
    workers.add_followers(list("abcdef"))
    started = time.monotonic()
    for name in "abcdef":
        workers.submit(job(name, 1))
    assert await workers.wait_idle(5)
    elapsed = time.monotonic() - started
    assert executor.max_parallel == 6
    assert elapsed < 0.35, f"six 0.2 s jobs on six followers took {elapsed:.2f} s: not parallel"
    await workers.stop()


async def test_a_slow_follower_does_not_hold_up_the_others() -> None:
    executor = FakeExecutor(delays={"slow": 0.5, "fast": 0.01})
    workers = FollowerWorkers(executor, coalesce=False)
    workers.add_followers(["slow", "fast"])
    for seq in range(1, 6):
        workers.submit(job("slow", seq))
        workers.submit(job("fast", seq))
    await asyncio.sleep(0.3)
    assert executor.seqs("fast") == [1, 2, 3, 4, 5]  # all done while the slow one is still on its first job
    assert executor.seqs("slow") == []
    assert workers.backlog("slow") == 5 and workers.backlog("fast") == 0
    await workers.stop(timeout_s=0.01)


async def test_a_job_identical_to_one_still_waiting_is_folded_into_it() -> None:
    observer = RecordingObserver()
    executor = FakeExecutor(gate=asyncio.Event())
    workers = FollowerWorkers(executor, observer)
    workers.add_followers(["a"])
    workers.submit(job("a", 1))
    await asyncio.sleep(0)  # job 1 starts and blocks on the gate
    assert workers.submit(job("a", 2)) is True
    assert workers.submit(job("a", 3)) is False  # same leg as the waiting job 2: folded
    assert workers.submit(job("a", 4, symbol="ETHUSDT")) is True  # another leg: its own job
    assert workers.submit(job("a", 5, reason=JobReason.LEVERAGE_ONLY)) is True  # another reason: its own job
    assert executor.gate is not None
    executor.gate.set()
    assert await workers.wait_idle(5)
    assert executor.seqs("a") == [1, 3, 4, 5]  # the folded job carries the newest trigger seq
    assert observer.count("coalesced") == 1 and observer.count("finished") == 4
    await workers.stop()


async def test_an_executor_exception_is_reported_and_the_worker_carries_on() -> None:
    observer = RecordingObserver()
    executor = FakeExecutor(fail_on={("a", "ETHUSDT")})
    workers = FollowerWorkers(executor, observer, coalesce=False)
    workers.add_followers(["a"])
    workers.submit(job("a", 1, symbol="ETHUSDT"))
    workers.submit(job("a", 2))
    assert await workers.wait_idle(5)
    assert observer.count("failed") == 1
    assert executor.seqs("a") == [2]
    await workers.stop()


async def test_stop_lets_running_jobs_finish_and_drops_the_queued_ones() -> None:
    observer = RecordingObserver()
    executor = FakeExecutor(delays={"a": 0.1})
    workers = FollowerWorkers(executor, observer, coalesce=False)
    workers.add_followers(["a"])
    for seq in (1, 2, 3):
        workers.submit(job("a", seq))
    await asyncio.sleep(0.01)
    dropped = await workers.stop(timeout_s=2)
    assert dropped == 2
    assert executor.seqs("a") == [1]  # the running job completed: no half-done order
    assert ("discarded", "a:2") in observer.events
    assert workers.is_idle()
    with pytest.raises(WorkersStoppedError):
        workers.submit(job("a", 4))


async def test_stop_can_drain_the_queue_and_cancels_what_outlives_the_deadline() -> None:
    executor = FakeExecutor(delays={"a": 0.02, "stuck": 10})
    workers = FollowerWorkers(executor, coalesce=False)
    workers.add_followers(["a", "stuck"])
    for seq in (1, 2, 3):
        workers.submit(job("a", seq))
    workers.submit(job("stuck", 1))
    started = time.monotonic()
    await workers.stop(timeout_s=0.3, run_queued=True)
    assert time.monotonic() - started < 1.0
    assert executor.seqs("a") == [1, 2, 3]
    assert executor.seqs("stuck") == []  # cancelled at the deadline
    assert executor.running["stuck"] == 0


async def test_jobs_for_unknown_followers_are_refused_with_a_clear_error() -> None:
    workers = FollowerWorkers(FakeExecutor())
    workers.add_followers(["a"])
    with pytest.raises(UnknownFollowerError, match="no worker for follower 'zed'"):
        workers.submit(job("zed", 1))
    await workers.stop()


async def test_wait_idle_times_out_while_work_is_pending() -> None:
    workers = FollowerWorkers(FakeExecutor(delays={"a": 0.5}))
    workers.add_followers(["a"])
    workers.submit(job("a", 1))
    assert await workers.wait_idle(0.05) is False
    assert not workers.is_idle()
    await workers.stop(timeout_s=0.01)
