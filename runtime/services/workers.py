"""Per-follower queues and worker tasks: each follower's jobs run one at a time, in order; followers run in parallel.

A slow follower (a venue taking seconds per call) only delays its own queue. A job that arrives while an identical
one (same follower, leg, reason and sync round) is still waiting is folded into it: the waiting job targets the
latest master snapshot when it runs, so the newer one would only repeat the reads. The folded job keeps the earlier
``master_received_at``, so copy latency is measured from the first change it serves.

Shutdown (``stop``) lets the running jobs finish within a deadline and drops what is still queued (the next
start-up's SYNC round re-derives it from the store); a job still running at the deadline is cancelled, which leaves
at most an unfinished claim that start-up recovery resolves by looking the order up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from runtime.services.jobs import FollowerJob, JobOutcome
from runtime.services.observers import EngineObserver

log = logging.getLogger(__name__)


class JobExecutor(Protocol):
    async def execute(self, job: FollowerJob) -> JobOutcome: ...


class WorkersStoppedError(RuntimeError):
    """A job was submitted after ``stop``; the host is shutting down."""


class UnknownFollowerError(KeyError):
    """A job named a follower that has no worker (not in the config, or disabled)."""


def _coalesce_key(job: FollowerJob) -> tuple[object, ...]:
    return (job.symbol, int(job.position_idx), job.reason, job.sync_round)


@dataclass
class _Lane:
    """One follower's queue and worker task."""

    follower_id: str
    waiting: deque[FollowerJob] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    running: FollowerJob | None = None
    task: asyncio.Task[None] | None = None

    @property
    def backlog(self) -> int:
        return len(self.waiting) + (1 if self.running is not None else 0)


class FollowerWorkers:
    """The local host's job runner. Create it inside a running event loop."""

    def __init__(
        self,
        executor: JobExecutor,
        observer: EngineObserver | None = None,
        *,
        coalesce: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._executor = executor
        self._observer = observer or EngineObserver()
        self._coalesce = coalesce
        self._clock = clock
        self._lanes: dict[str, _Lane] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        # Jobs queued or running over all lanes, kept as a count: summing every lane after every job made a cycle
        # O(followers^2) (docs/benchmarks.md).
        self._pending = 0

    # --- set-up and intake ---------------------------------------------------------------------------------------

    def add_followers(self, follower_ids: Iterable[str]) -> None:
        """Create a queue and start a worker for each new follower id (idempotent)."""
        if self._stopping:
            raise WorkersStoppedError("the workers are stopping; no follower can be added")
        for follower_id in follower_ids:
            if follower_id in self._lanes:
                continue
            lane = _Lane(follower_id)
            lane.task = asyncio.create_task(self._work(lane), name=f"follower-worker:{follower_id}")
            self._lanes[follower_id] = lane

    @property
    def follower_ids(self) -> tuple[str, ...]:
        return tuple(self._lanes)

    def submit(self, job: FollowerJob) -> bool:
        """Queue ``job`` on its follower's lane; False when it was folded into a waiting identical job."""
        if self._stopping:
            raise WorkersStoppedError(f"{job.follower_id}: the workers are stopping; job for {job.symbol} not queued")
        lane = self._lanes.get(job.follower_id)
        if lane is None:
            raise UnknownFollowerError(f"no worker for follower {job.follower_id!r}: add it with add_followers first")
        if self._coalesce and self._fold(lane, job):
            self._observer.job_coalesced(job)
            return False
        lane.waiting.append(replace(job, enqueued_at=self._clock()))
        self._pending += 1
        self._idle.clear()
        lane.wake.set()
        self._observer.job_queued(job)
        return True

    def _fold(self, lane: _Lane, job: FollowerJob) -> bool:
        key = _coalesce_key(job)
        for index, waiting in enumerate(lane.waiting):
            if _coalesce_key(waiting) == key:
                lane.waiting[index] = replace(waiting, trigger_seq=max(waiting.trigger_seq, job.trigger_seq))
                return True
        return False

    # --- state -----------------------------------------------------------------------------------------------------

    def backlog(self, follower_id: str | None = None) -> int:
        """Jobs queued or running (of one follower, or of all)."""
        if follower_id is not None:
            lane = self._lanes.get(follower_id)
            return lane.backlog if lane is not None else 0
        return sum(lane.backlog for lane in self._lanes.values())

    def is_idle(self) -> bool:
        return self._pending == 0

    async def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    # --- the worker ------------------------------------------------------------------------------------------------

    async def _work(self, lane: _Lane) -> None:
        while True:
            while not lane.waiting:
                if self._stopping:
                    return
                lane.wake.clear()
                await lane.wake.wait()
            job = lane.waiting.popleft()
            lane.running = job
            self._observer.job_started(job)
            try:
                outcome = await self._executor.execute(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad job must not end the follower's worker
                log.exception("%s: job for %s:%d failed", job.follower_id, job.symbol, int(job.position_idx))
                self._observer.job_failed(job, exc)
            else:
                self._observer.job_finished(job, outcome)
            finally:
                lane.running = None
                self._pending -= 1
                if self.is_idle():
                    self._idle.set()

    # --- shutdown --------------------------------------------------------------------------------------------------

    async def stop(self, *, timeout_s: float = 5.0, run_queued: bool = False) -> int:
        """Stop taking jobs; let running jobs (and, with ``run_queued``, queued ones) finish within ``timeout_s``;
        cancel what is still running then. Returns how many queued jobs were dropped."""
        self._stopping = True
        dropped = 0
        for lane in self._lanes.values():
            if not run_queued and lane.waiting:
                count = len(lane.waiting)
                lane.waiting.clear()
                self._pending -= count
                dropped += count
                self._observer.jobs_discarded(lane.follower_id, count)
            lane.wake.set()
        if dropped:
            log.warning("shutdown dropped %d queued jobs; the next start-up sync re-derives them", dropped)
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                log.warning("%s: still running at shutdown; cancelled (recovery resolves it at start)", task.get_name())
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for lane in self._lanes.values():  # left behind by a worker cancelled while running queued jobs
            if lane.waiting:
                dropped += len(lane.waiting)
                self._observer.jobs_discarded(lane.follower_id, len(lane.waiting))
                lane.waiting.clear()
            lane.running = None
        self._pending = 0
        self._idle.set()
        return dropped
