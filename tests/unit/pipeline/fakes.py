"""Fakes for the pipeline tests: an executor that records what it ran and when, and a recording observer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from runtime.domain.events import MasterPositionChanged
from runtime.domain.values import Venue
from runtime.services.jobs import FollowerJob, HopTimes, JobOutcome
from runtime.services.observers import EngineObserver


@dataclass
class FakeExecutor:
    """Runs a job by sleeping ``delays[follower]`` seconds; ``fail_on`` (follower, symbol) raises instead."""

    delays: dict[str, float] = field(default_factory=dict)
    fail_on: set[tuple[str, str]] = field(default_factory=set)
    runs: list[tuple[str, str, int, float, float]] = field(default_factory=list)  # follower, symbol, seq, start, end
    running: dict[str, int] = field(default_factory=dict)
    max_parallel_per_follower: int = 0
    max_parallel: int = 0
    gate: asyncio.Event | None = None

    async def execute(self, job: FollowerJob) -> JobOutcome:
        started = time.monotonic()
        self.running[job.follower_id] = self.running.get(job.follower_id, 0) + 1
        self.max_parallel_per_follower = max(self.max_parallel_per_follower, self.running[job.follower_id])
        self.max_parallel = max(self.max_parallel, sum(self.running.values()))
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.delays.get(job.follower_id, 0.0))
            if (job.follower_id, job.symbol) in self.fail_on:
                raise RuntimeError(f"boom for {job.follower_id}")
        finally:
            self.running[job.follower_id] -= 1
        finished = time.monotonic()
        self.runs.append((job.follower_id, job.symbol, job.trigger_seq, started, finished))
        return JobOutcome(
            follower_id=job.follower_id,
            venue=Venue.BYBIT,
            master_symbol=job.symbol,
            venue_symbol=job.symbol,
            position_idx=job.position_idx,
            trigger_seq=job.trigger_seq,
            reason=job.reason,
            hops=HopTimes(master_received=job.master_received_at, started=started, finished=finished),
        )

    def seqs(self, follower_id: str) -> list[int]:
        return [seq for follower, _symbol, seq, _start, _end in self.runs if follower == follower_id]


@dataclass
class RecordingObserver(EngineObserver):
    events: list[tuple[str, str]] = field(default_factory=list)
    changes: list[tuple[int, bool]] = field(default_factory=list)
    outcomes: list[JobOutcome] = field(default_factory=list)

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        self.changes.append((change.seq, applied))

    def job_queued(self, job: FollowerJob) -> None:
        self.events.append(("queued", job.follower_id))

    def job_coalesced(self, job: FollowerJob) -> None:
        self.events.append(("coalesced", job.follower_id))

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        self.events.append(("finished", job.follower_id))
        self.outcomes.append(outcome)

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        self.events.append(("failed", job.follower_id))

    def jobs_discarded(self, follower_id: str, count: int) -> None:
        self.events.append(("discarded", f"{follower_id}:{count}"))

    def count(self, kind: str) -> int:
        return sum(1 for event, _ in self.events if event == kind)
