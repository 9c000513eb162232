"""The Fargate listener's parts: the change sink (snapshot to DynamoDB, then the change to queue 1), the start-up
catch-up, and the heartbeat.

Why two listeners of one master never copy a change twice (``tests/integration/aws_handlers/test_listener.py``
walks through it):
1. both send the change with the same MessageDeduplicationId (leg + seq): within SQS's 5-minute window the queue
   keeps one;
2. the snapshot write is seq-conditional: the second listener's write of the same seq is refused, and the
   dispatcher fans a change out only while the stored seq is the change's own;
3. whatever still gets through twice (a send after the window, a redelivery) becomes the same follower jobs with the
   same client order ids, and the executor's claims place each at most once.
The sink sends the change even when its snapshot write was refused as "not newer": the other listener may have
written the snapshot and stopped before sending, and then this send is the only one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.adapters.sqs.messages import master_change_message
from runtime.adapters.sqs.publisher import SqsFifoPublisher
from runtime.domain.correlator_state import MasterLegState
from runtime.domain.events import MasterPositionChanged
from runtime.domain.values import ZERO
from runtime.hosts import aws_names as names
from runtime.hosts.aws_observability import CopyMetrics
from runtime.listener.stream_stats import StreamStats
from runtime.ports.store import MasterSnapshot, StateStore
from runtime.services.dispatcher import snapshot_from_change

log = logging.getLogger(__name__)

STARTUP_EXEC_TYPE = "StartupCatchUp"  # exec_types of a change found by comparing REST with the stored snapshot


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ListenerSink:
    """The master feed's sink on AWS. Raising makes the feed retry the change (in order), so a DynamoDB or SQS hiccup
    delays a change but never loses it. boto3 blocks: its calls run in a thread, off the stream's event loop."""

    def __init__(
        self,
        store: StateStore,
        publisher: SqsFifoPublisher,
        metrics: CopyMetrics | None = None,
        *,
        wall_ms: Callable[[], int] = wall_clock_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._metrics = metrics
        self._wall_ms = wall_ms
        self._monotonic = monotonic

    async def __call__(self, change: MasterPositionChanged) -> None:
        now_ms = self._wall_ms()
        applied = await asyncio.to_thread(self._store.put_master_snapshot, snapshot_from_change(change, now_ms))
        message = master_change_message(change, confirmed_ms=now_ms)
        message_id = await asyncio.to_thread(self._publisher.publish_message, message)
        log.info(
            "%s seq %d sent (message %s, dedup id %s)%s",
            change.leg,
            change.seq,
            message_id,
            message.dedup_id,
            "" if applied else "; the store already held this seq or a newer one",
        )
        if self._metrics is not None and change.received_at:
            self._metrics.latency(names.Hop.EXCHANGE_TO_LISTENER, (self._monotonic() - change.received_at) * 1000.0)


def startup_changes(
    master_id: str,
    stored: Iterable[MasterSnapshot],
    current: Iterable[MasterLegState],
    *,
    received_at: float = 0.0,
) -> list[MasterPositionChanged]:
    """What changed while no listener was running: one change per leg whose current state (REST, after seeding;
    legs the listing left out read by symbol) has a higher seq than the stored snapshot and a different size or
    leverage. A leg opened meanwhile is an open, one closed meanwhile a full close. The dispatcher fans these out
    like any other change, so followers catch up without a special sync path."""
    by_leg = {snapshot.leg: snapshot for snapshot in stored}
    changes: list[MasterPositionChanged] = []
    for state in current:
        previous = by_leg.get(state.leg)
        prev_size = previous.size if previous is not None else ZERO
        if previous is not None and previous.seq >= state.seq:
            continue
        if prev_size == state.size and (previous is None or previous.leverage == state.leverage):
            continue
        ending = previous.lifecycle if previous is not None else None
        flipped = prev_size != 0 and state.size != 0 and (prev_size > 0) != (state.size > 0)
        changes.append(
            MasterPositionChanged(
                master=master_id,
                symbol=state.leg.symbol,
                position_idx=state.leg.position_idx,
                seq=state.seq,
                prev_size=prev_size,
                new_size=state.size,
                position_im=state.position_im,
                leverage=state.leverage,
                entry_price=state.entry_price,
                lifecycle=state.lifecycle if state.size != 0 else ending,
                previous_lifecycle_id=ending.id if flipped and ending is not None else None,
                mark_price=state.mark_price,
                received_at=received_at,
                exec_types=(STARTUP_EXEC_TYPE,),
            )
        )
    return changes


def stale_open_symbols(stored: Iterable[MasterSnapshot], seeded: Sequence[MasterLegState]) -> list[str]:
    """Symbols stored open that the REST listing no longer shows: closed while no listener ran; read them by
    symbol (Bybit returns them flat with their seq)."""
    listed = {state.leg for state in seeded}
    return sorted({s.symbol for s in stored if s.size != 0 and s.leg not in listed})


@dataclass
class Heartbeat:
    """Touches ``path`` every ``interval_s`` (ECS replaces the task when the file is older than 90 s) and, every
    ``metric_interval_s``, emits the heartbeat metric and the stream's reconnects and gap replays since the last
    time, then flushes the metrics to stdout (EMF)."""

    path: Path
    master_id: str
    metrics: CopyMetrics
    stats: Callable[[], StreamStats | None]
    interval_s: float = 10.0
    metric_interval_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _reconnects: int = 0
    _replays: int = 0
    _last_metric_at: float | None = None

    def beat(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()  # sets the modification time ECS's health check reads
        now = self.clock()
        if self._last_metric_at is None or now - self._last_metric_at >= self.metric_interval_s:
            self._last_metric_at = now
            self._emit()

    async def run(self) -> None:
        while True:
            try:
                self.beat()
            except OSError as exc:  # a full or read-only /tmp: the health check will replace the task; say why
                log.error("could not touch the heartbeat file %s: %s", self.path, exc)
            await asyncio.sleep(self.interval_s)

    def _emit(self) -> None:
        self.metrics.heartbeat(self.master_id)
        stats = self.stats()
        if stats is not None:
            self.metrics.count(names.STREAM_RECONNECTS, stats.reconnects - self._reconnects)
            self.metrics.count(names.GAP_REPLAYS, stats.gap_replays - self._replays)
            self._reconnects, self._replays = stats.reconnects, stats.gap_replays
        self.metrics.flush()


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
