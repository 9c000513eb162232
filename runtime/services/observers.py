"""What the pipeline tells the outside world: master changes, jobs queued/started/finished, their outcomes.

Observers watch the copy path; they never steer it. ``ObserverHub`` fans every event out to its observers and
isolates them: an observer that raises is logged (once per kind of failure) and the copy path carries on. The live
views, the demo's checks and the metrics counters are observers.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from runtime.domain.events import MasterPositionChanged
from runtime.domain.values import decimal_str
from runtime.services.jobs import FollowerJob, JobOutcome

log = logging.getLogger(__name__)

LATENCY_WINDOW = 1000  # copy latencies kept for the percentiles (the newest ones)


class EngineObserver:
    """Base class: every hook is a no-op, so an observer overrides only what it needs.

    Hooks are called on the event loop, synchronously, in the order things happen; they must be quick.
    """

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        """A confirmed master change reached the dispatcher; ``applied`` False when the store already had a newer
        snapshot of that leg (a late or duplicated change: no jobs were made)."""

    def job_queued(self, job: FollowerJob) -> None: ...

    def job_coalesced(self, job: FollowerJob) -> None:
        """``job`` was folded into a job of the same follower and leg still waiting in the queue (the waiting one
        targets the latest master snapshot when it runs, so the newer one adds nothing)."""

    def job_started(self, job: FollowerJob) -> None: ...

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None: ...

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        """The executor raised instead of returning an outcome (a bug or a store failure)."""

    def jobs_discarded(self, follower_id: str, count: int) -> None:
        """Shutdown dropped ``count`` queued jobs of the follower (the next start-up sync re-derives them)."""


class ObserverHub(EngineObserver):
    """Fans events out to many observers; one failing observer never affects another or the pipeline."""

    def __init__(self, observers: Iterable[EngineObserver] = ()) -> None:
        self._observers: list[EngineObserver] = list(observers)
        self._reported: set[tuple[str, str]] = set()

    def add(self, observer: EngineObserver) -> None:
        self._observers.append(observer)

    def _each(self, hook: str, call: Callable[[EngineObserver], None]) -> None:
        for observer in self._observers:
            try:
                call(observer)
            except Exception:
                key = (type(observer).__name__, hook)
                if key not in self._reported:  # a broken view would otherwise flood the log on every event
                    self._reported.add(key)
                    log.exception("observer %s failed in %s (reported once; the copy path is unaffected)", *key)

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        self._each("master_change", lambda o: o.master_change(change, applied))

    def job_queued(self, job: FollowerJob) -> None:
        self._each("job_queued", lambda o: o.job_queued(job))

    def job_coalesced(self, job: FollowerJob) -> None:
        self._each("job_coalesced", lambda o: o.job_coalesced(job))

    def job_started(self, job: FollowerJob) -> None:
        self._each("job_started", lambda o: o.job_started(job))

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        self._each("job_finished", lambda o: o.job_finished(job, outcome))

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        self._each("job_failed", lambda o: o.job_failed(job, error))

    def jobs_discarded(self, follower_id: str, count: int) -> None:
        self._each("jobs_discarded", lambda o: o.jobs_discarded(follower_id, count))


def copy_latency_s(outcome: JobOutcome) -> float | None:
    """Master change received -> last order of the job acknowledged, in seconds; None when nothing was acked."""
    return outcome.hops.copy_latency_s


@dataclass
class EngineCounters(EngineObserver):
    """Metrics counters for logs, the live view and the benchmark."""

    master_changes: int = 0
    stale_changes: int = 0
    jobs_queued: int = 0
    jobs_coalesced: int = 0
    jobs_started: int = 0
    jobs_finished: int = 0
    jobs_failed: int = 0
    jobs_dropped: int = 0
    orders: Counter[str] = field(default_factory=Counter)  # by order status: placed, refused, failed, ...
    skips: Counter[str] = field(default_factory=Counter)  # by skip reason
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        self.master_changes += 1
        self.stale_changes += 0 if applied else 1

    def job_queued(self, job: FollowerJob) -> None:
        self.jobs_queued += 1

    def job_coalesced(self, job: FollowerJob) -> None:
        self.jobs_coalesced += 1

    def job_started(self, job: FollowerJob) -> None:
        self.jobs_started += 1

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        self.jobs_finished += 1
        for order in outcome.orders:
            self.orders[str(order.status)] += 1
        if outcome.skip_reason:
            self.skips[str(outcome.skip_reason)] += 1
        latency = copy_latency_s(outcome)
        if latency is not None:
            self.latencies_s.append(latency)

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        self.jobs_failed += 1

    def jobs_discarded(self, follower_id: str, count: int) -> None:
        self.jobs_dropped += count

    def latency_percentile_s(self, fraction: float) -> float | None:
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def as_dict(self) -> dict[str, object]:
        return {
            "master_changes": self.master_changes,
            "stale_changes": self.stale_changes,
            "jobs_queued": self.jobs_queued,
            "jobs_coalesced": self.jobs_coalesced,
            "jobs_started": self.jobs_started,
            "jobs_finished": self.jobs_finished,
            "jobs_failed": self.jobs_failed,
            "jobs_dropped": self.jobs_dropped,
            "orders": dict(self.orders),
            "skips": dict(self.skips),
            "copy_latency_p50_s": self.latency_percentile_s(0.5),
            "copy_latency_p99_s": self.latency_percentile_s(0.99),
        }


@dataclass
class FollowerStatus:
    """One follower's line in a live view."""

    follower_id: str
    queued: int = 0
    running: str = ""  # "BTCUSDT:0 master_change" while a job runs
    last_action: str = "waiting for the first master change"
    last_at: float = 0.0
    placed: int = 0
    refused: int = 0
    failed: int = 0
    last_latency_s: float | None = None


@dataclass
class StatusBoard(EngineObserver):
    """The state a live status view renders: the latest master change and one line per follower."""

    followers: dict[str, FollowerStatus] = field(default_factory=dict)
    last_master_change: str = "none yet"
    clock: Callable[[], float] = time.monotonic

    def status(self, follower_id: str) -> FollowerStatus:
        if follower_id not in self.followers:
            self.followers[follower_id] = FollowerStatus(follower_id)
        return self.followers[follower_id]

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        self.last_master_change = (
            f"{change.kind.value} {change.leg} seq {change.seq}: "
            f"{decimal_str(change.prev_size)} -> {decimal_str(change.new_size)}"
            + ("" if applied else " (stale: ignored)")
        )

    def job_queued(self, job: FollowerJob) -> None:
        self.status(job.follower_id).queued += 1

    def job_started(self, job: FollowerJob) -> None:
        status = self.status(job.follower_id)
        status.queued = max(0, status.queued - 1)
        status.running = f"{job.symbol}:{int(job.position_idx)} {job.reason.value}"

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        status = self.status(job.follower_id)
        status.running = ""
        status.last_at = self.clock()
        for order in outcome.orders:
            kind = str(order.status)
            if kind in ("placed", "reconciled"):
                status.placed += 1
            elif kind == "refused":
                status.refused += 1
            elif kind == "failed":
                status.failed += 1
        status.last_action = describe_outcome(outcome)
        latency = copy_latency_s(outcome)
        if latency is not None:
            status.last_latency_s = latency

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        status = self.status(job.follower_id)
        status.running = ""
        status.last_at = self.clock()
        status.failed += 1
        status.last_action = f"job failed: {type(error).__name__}: {error}"

    def jobs_discarded(self, follower_id: str, count: int) -> None:
        self.status(follower_id).queued = 0


def describe_outcome(outcome: JobOutcome) -> str:
    """One human line: what the job did (orders, or why it did nothing)."""
    if outcome.orders:
        parts = []
        for order in outcome.orders:
            text = f"{order.status} {order.side} {decimal_str(order.qty)}"
            if order.reason_code:
                text += f" ({order.reason_code})"
            parts.append(text)
        return f"{outcome.master_symbol}: " + ", ".join(parts)
    if outcome.skip_reason:
        return f"{outcome.master_symbol}: nothing to do ({outcome.skip_reason})"
    return f"{outcome.master_symbol}: on target"
