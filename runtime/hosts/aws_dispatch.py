"""The dispatcher Lambda's work: a queue-1 master change -> the ``Dispatcher`` -> one queue-2 message per follower.

The listener writes each change's snapshot before it sends the change, and the dispatcher's role may only read the
master-state table. So the dispatcher's snapshot step is a read (``ListenerSnapshots``): a stored seq equal to the
change's means "this change is the latest: fan it out"; a higher one means "a newer change replaced it and made its
own jobs: nothing to do". Only a change whose snapshot is missing or older (a producer that did not write it) is
written here, which needs write access the deployed dispatcher does not have: such a message fails and ends in the
dead-letter queue rather than being copied against a stale snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from runtime.adapters.sqs.messages import MasterChangeMessage, follower_job_message
from runtime.adapters.sqs.publisher import SqsFifoPublisher
from runtime.ports.store import MasterSnapshot, StateStore
from runtime.services.dispatcher import Dispatcher
from runtime.services.jobs import FollowerJob

log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ListenerSnapshots:
    """The dispatcher's snapshot step on AWS: read first, write only what the listener did not."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def put_master_snapshot(self, snapshot: MasterSnapshot) -> bool:
        stored = self._store.get_master_snapshot(snapshot.master_id, snapshot.symbol, snapshot.position_idx)
        if stored is not None and stored.seq >= snapshot.seq:
            return stored.seq == snapshot.seq
        log.warning(
            "%s seq %d: no snapshot of this change in the store (the listener writes it before sending); writing it",
            snapshot.leg,
            snapshot.seq,
        )
        return self._store.put_master_snapshot(snapshot)


@dataclass(frozen=True)
class FanOut:
    """What one master change became: ``applied`` False = a newer snapshot is stored, no jobs."""

    leg: str
    seq: int
    applied: bool
    jobs: tuple[FollowerJob, ...]


class ChangeFanOut:
    """One invocation's fan-out over ``follower_ids`` (read once per batch from the registry)."""

    def __init__(
        self,
        store: StateStore,
        follower_ids: Sequence[str],
        publisher: SqsFifoPublisher,
        *,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._publisher = publisher
        self._wall_ms = wall_ms
        self._jobs: list[FollowerJob] = []
        # Dispatcher only calls put_master_snapshot on its store, which ListenerSnapshots provides.
        self._dispatcher = Dispatcher(cast(StateStore, ListenerSnapshots(store)), follower_ids, self._jobs.append)

    def fan_out(self, message: MasterChangeMessage) -> FanOut:
        """Dispatch one change and send its jobs; raises ``PublishError`` when any job could not be sent (the
        record is then retried: jobs already sent carry the same dedup ids, and the executor's claims make a
        second delivery harmless)."""
        self._jobs.clear()
        change = message.change
        result = self._dispatcher.dispatch(change)
        now_ms = self._wall_ms()
        messages = [
            follower_job_message(job, master_confirmed_ms=message.confirmed_ms, enqueued_ms=now_ms)
            for job in result.jobs
        ]
        if messages:
            self._publisher.publish_batch(messages).raise_for_failures(self._publisher.queue_url)
        log.info(
            "%s seq %d (%s): %s",
            change.leg,
            change.seq,
            change.kind.value,
            f"{len(messages)} follower jobs sent" if result.applied else "a newer snapshot is stored; no jobs",
        )
        return FanOut(str(change.leg), change.seq, result.applied, result.jobs)
