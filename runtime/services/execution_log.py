"""Writing every executor outcome to the store's order log, with its per-hop times.

Hops are stamped with ``time.monotonic()`` while a job runs (immune to wall-clock steps) and converted to epoch
milliseconds only when logged, against one wall/monotonic pair taken at that moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from decimal import Decimal

from runtime.domain.values import ZERO, PositionIdx, Side, Venue, decimal_str
from runtime.ports.store import OrderLogEntry, OrderOutcome, StateStore
from runtime.services.jobs import HopTimes, OrderRecord, OrderStatus, SkipReason

HOP_NAMES = tuple(field.name for field in fields(HopTimes))


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class HopRecorder:
    """Collects a job's hop stamps; ``mark`` keeps the first stamp of a hop unless ``last`` is asked for."""

    def __init__(self, monotonic: Callable[[], float], *, master_received: float, enqueued: float) -> None:
        self._monotonic = monotonic
        self._hops = HopTimes(master_received=master_received, enqueued=enqueued, started=monotonic())

    def mark(self, hop: str, *, at: float | None = None, last: bool = False) -> float:
        if hop not in HOP_NAMES:
            raise ValueError(f"unknown hop {hop!r}; one of {', '.join(HOP_NAMES)}")
        stamp = self._monotonic() if at is None else at
        if last or not getattr(self._hops, hop):
            self._hops = replace(self._hops, **{hop: stamp})
        return stamp

    def note_order(self, record: OrderRecord) -> None:
        """The first order sent and the last order acknowledged are the job's order hops."""
        if record.sent_at:
            self.mark("order_sent", at=record.sent_at)
        if record.acked_at:
            self.mark("order_acked", at=record.acked_at, last=True)

    @property
    def current(self) -> HopTimes:
        return self._hops

    def finish(self) -> HopTimes:
        self.mark("finished", last=True)
        return self._hops


@dataclass(frozen=True)
class LogScope:
    """What every order-log entry of one job shares."""

    follower_id: str
    venue: Venue
    venue_symbol: str
    master_seq: int | None
    lifecycle_id: str


_OUTCOMES = {
    OrderStatus.PLACED: OrderOutcome.PLACED,
    OrderStatus.RECONCILED: OrderOutcome.RECONCILED,
    OrderStatus.REFUSED: OrderOutcome.REFUSED,
    OrderStatus.FAILED: OrderOutcome.FAILED,
    OrderStatus.SKIPPED: OrderOutcome.SKIPPED,
}


class OrderLogWriter:
    """Appends order outcomes and job skips to the store's order log (one short store call each)."""

    def __init__(
        self,
        store: StateStore,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._store = store
        self._monotonic = monotonic
        self._wall_ms = wall_ms

    def epoch_hops(self, hops: HopTimes, record: OrderRecord | None = None) -> dict[str, float]:
        """The recorded hops as epoch milliseconds; an order's own sent/acked stamps replace the job's."""
        stamps = {name: getattr(hops, name) for name in HOP_NAMES}
        if record is not None:
            stamps["order_sent"] = record.sent_at
            stamps["order_acked"] = record.acked_at
        now_wall, now_mono = float(self._wall_ms()), self._monotonic()
        return {name: round(now_wall - (now_mono - value) * 1000.0, 3) for name, value in stamps.items() if value}

    def order(self, scope: LogScope, record: OrderRecord, hops: HopTimes) -> None:
        message, reason_code = record.message, record.reason_code
        if record.shortfall > 0:
            # Smart reduction: the log itself must say what could not be placed, not only the job outcome.
            note = (
                f"smart reduction: requested {decimal_str(record.requested_qty)}, placed {decimal_str(record.qty)}, "
                f"shortfall {decimal_str(record.shortfall)}"
            )
            message = f"{message}; {note}" if message else note
            reason_code = reason_code or "smart_reduced"
        self._store.append_order_log(
            OrderLogEntry(
                client_order_id=record.client_order_id,
                follower_id=scope.follower_id,
                venue=scope.venue,
                symbol=record.venue_symbol or scope.venue_symbol,
                side=record.side,
                qty=record.qty,
                outcome=_OUTCOMES[record.status],
                logged_ms=self._wall_ms(),
                price=record.avg_price if record.avg_price else None,
                position_idx=record.position_idx,
                reduce_only=record.reduce_only,
                master_seq=scope.master_seq,
                lifecycle_id=scope.lifecycle_id,
                venue_order_id=record.venue_order_id,
                filled_qty=record.filled_qty,
                reason_code=reason_code,
                error_kind=record.error_kind,
                message=message,
                hops=self.epoch_hops(hops, record),
            )
        )

    def skip(
        self,
        scope: LogScope,
        reason: SkipReason,
        message: str,
        hops: HopTimes,
        *,
        position_idx: PositionIdx = PositionIdx.ONE_WAY,
        side: Side = Side.BUY,
        qty: Decimal = ZERO,
    ) -> None:
        """A job that did nothing on purpose (or could not act): no client id, zero quantity unless given."""
        self._store.append_order_log(
            OrderLogEntry(
                client_order_id="",
                follower_id=scope.follower_id,
                venue=scope.venue,
                symbol=scope.venue_symbol,
                side=side,
                qty=qty,
                outcome=OrderOutcome.SKIPPED,
                logged_ms=self._wall_ms(),
                position_idx=position_idx,
                master_seq=scope.master_seq,
                lifecycle_id=scope.lifecycle_id,
                reason_code=reason.value,
                message=message,
                hops=self.epoch_hops(hops),
            )
        )
