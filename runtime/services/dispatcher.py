"""The dispatcher: a confirmed master change -> the master snapshot store -> one job per follower.

The snapshot is written first (seq-conditional: a late or duplicated change never replaces a newer state), then one
``FollowerJob`` per enabled follower goes to the sink (the local host's per-follower queues, or an SQS FIFO queue on
AWS). A change the store refused as stale makes no jobs: the newer change that replaced it already made them, and
every job targets the latest snapshot anyway.

Risk controls (symbol allow/deny, notional caps) have their own issue; ``job_filter`` is their seam.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from runtime.domain.events import ChangeKind, MasterPositionChanged
from runtime.domain.positions import LegKey
from runtime.ports.store import MasterSnapshot, StateStore
from runtime.services.jobs import FollowerJob, JobReason
from runtime.services.observers import EngineObserver

log = logging.getLogger(__name__)

JobSink = Callable[[FollowerJob], object]
# (follower id, the change) -> whether that follower gets a job for it. The risk issue plugs in here.
JobFilter = Callable[[str, MasterPositionChanged], bool]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def allow_all(follower_id: str, change: MasterPositionChanged) -> bool:
    return True


def snapshot_from_change(change: MasterPositionChanged, now_ms: int) -> MasterSnapshot:
    """The store's view of a master leg after ``change``. A flat leg keeps no lifecycle."""
    return MasterSnapshot(
        master_id=change.master,
        symbol=change.symbol,
        position_idx=change.position_idx,
        seq=change.seq,
        size=change.new_size,
        position_im=change.position_im,
        leverage=change.leverage,
        entry_price=change.entry_price,
        lifecycle=change.lifecycle if change.new_size != 0 else None,
        updated_ms=now_ms,
        last_activity_ms=now_ms,
    )


@dataclass(frozen=True)
class DispatchResult:
    applied: bool
    jobs: tuple[FollowerJob, ...]


class Dispatcher:
    """Turns master changes into follower jobs. ``follower_ids`` are the enabled followers, in config order."""

    def __init__(
        self,
        store: StateStore,
        follower_ids: Sequence[str],
        sink: JobSink,
        *,
        observer: EngineObserver | None = None,
        job_filter: JobFilter = allow_all,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.store = store
        self.follower_ids = tuple(follower_ids)
        self._sink = sink
        self._observer = observer or EngineObserver()
        self._filter = job_filter
        self._clock = clock
        self._wall_ms = wall_ms

    def dispatch(self, change: MasterPositionChanged) -> DispatchResult:
        """Record the change's snapshot and hand one job per follower to the sink (synchronous: the store call is
        one short conditional write and the sink only enqueues)."""
        applied = self.store.put_master_snapshot(snapshot_from_change(change, self._wall_ms()))
        self._observer.master_change(change, applied)
        if not applied:
            log.info("%s seq %d: the store holds a newer state of this leg; no jobs", change.leg, change.seq)
            return DispatchResult(False, ())
        reason = JobReason.LEVERAGE_ONLY if change.kind is ChangeKind.LEVERAGE_ONLY else JobReason.MASTER_CHANGE
        jobs = tuple(
            self._job(follower_id, change.leg, reason, change.seq, received_at=change.received_at)
            for follower_id in self.follower_ids
            if self._filter(follower_id, change)
        )
        for job in jobs:
            self._sink(job)
        return DispatchResult(True, jobs)

    def sync_jobs(
        self, legs: Iterable[LegKey], sync_round: str, reason: JobReason = JobReason.SYNC
    ) -> list[FollowerJob]:
        """One SYNC (or HEAL) job per follower x master leg, handed to the sink; ``sync_round`` names the round so
        a duplicated request still places at most once."""
        jobs = [
            self._job(follower_id, leg, reason, 0, sync_round=sync_round)
            for leg in legs
            for follower_id in self.follower_ids
        ]
        for job in jobs:
            self._sink(job)
        return jobs

    def _job(
        self,
        follower_id: str,
        leg: LegKey,
        reason: JobReason,
        seq: int,
        *,
        sync_round: str = "",
        received_at: float = 0.0,
    ) -> FollowerJob:
        return FollowerJob(
            follower_id=follower_id,
            symbol=leg.symbol,
            position_idx=leg.position_idx,
            trigger_seq=seq,
            reason=reason,
            sync_round=sync_round,
            master_received_at=received_at or self._clock(),
            enqueued_at=self._clock(),
        )
