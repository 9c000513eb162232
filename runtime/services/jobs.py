"""The executor's interface: one job for one follower and one master leg, and the outcome it produces.

A ``FollowerJob`` says *which* leg to bring in line, never *to what*: the executor always targets the latest master
snapshot in the store (level-triggered), so a late, duplicated or reordered job can never move a follower to a stale
size. ``trigger_seq`` and the timestamps are for tracing and latency only.

A ``JobOutcome`` says what the executor did and why, with one ``OrderRecord`` per order it placed, reconciled,
refused, failed or skipped; the same facts are written to the store's order log, so nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from runtime.domain.values import ZERO, PositionIdx, Side, Venue


class JobReason(StrEnum):
    MASTER_CHANGE = "master_change"  # the master's leg changed size (open, increase, close, flip, liquidation, ADL)
    LEVERAGE_ONLY = "leverage_only"  # the master changed leverage without a fill: sync leverage, then level-check
    SYNC = "sync"  # start-up: bring every follower x leg to the latest snapshot
    HEAL = "heal"  # the audit found a discrepancy and asked for a sync through the normal path


SYNC_REASONS = frozenset({JobReason.SYNC, JobReason.HEAL})


@dataclass(frozen=True)
class FollowerJob:
    """Bring one follower in line with one master leg (for a one-way follower of a hedge master: the symbol's net).

    ``symbol`` is the master's (Bybit) symbol. ``sync_round`` is a stable id of one SYNC/HEAL request: orders of a
    round get client ids of their own (so a round can correct a residue left under the same master seq), and a
    duplicated delivery of the same round still places at most once. Times are ``time.monotonic()`` seconds.
    """

    follower_id: str
    symbol: str
    position_idx: PositionIdx
    trigger_seq: int
    reason: JobReason = JobReason.MASTER_CHANGE
    sync_round: str = ""
    master_received_at: float = 0.0
    enqueued_at: float = 0.0

    def __post_init__(self) -> None:
        # Jobs also arrive deserialised (an SQS message): plain ints and strings become the enums here.
        object.__setattr__(self, "position_idx", PositionIdx(self.position_idx))
        object.__setattr__(self, "reason", JobReason(self.reason))
        if self.reason in SYNC_REASONS and not self.sync_round:
            raise ValueError(
                f"a {self.reason.value} job for follower {self.follower_id} needs a sync_round (a stable id of the "
                "sync request, e.g. 'startup-<epoch ms>'), so a duplicated delivery places at most once"
            )

    @property
    def is_sync(self) -> bool:
        return self.reason in SYNC_REASONS


class OrderStatus(StrEnum):
    PLACED = "placed"  # sent and acknowledged by the venue
    RECONCILED = "reconciled"  # found at the venue by client id (a retry, a duplicate-id answer, a lost answer)
    REFUSED = "refused"  # not sent: our validation, the venue, or a blocked leverage sync said no (reason given)
    FAILED = "failed"  # the call failed and the order is known not to be at the venue; the next job may retry
    SKIPPED = "skipped"  # not sent on purpose: this master seq and part was already carried out


@dataclass(frozen=True)
class OrderRecord:
    """One order of a job: what was asked, what happened, and why when it did not go through.

    ``qty`` is what was sent (or would have been); ``requested_qty`` is what the plan asked for before smart
    reduction, so ``shortfall`` is what could not be placed. ``attempt`` is the idempotency attempt the id belongs to.
    """

    client_order_id: str
    side: Side
    qty: Decimal
    reduce_only: bool
    status: OrderStatus
    venue_symbol: str = ""
    position_idx: PositionIdx = PositionIdx.ONE_WAY
    requested_qty: Decimal = ZERO
    venue_order_id: str = ""
    filled_qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    reason_code: str = ""
    message: str = ""
    error_kind: str = ""
    attempt: int = 0
    sent_at: float = 0.0  # monotonic seconds; 0 when the order was not sent
    acked_at: float = 0.0

    @property
    def shortfall(self) -> Decimal:
        return max(self.requested_qty - self.qty, ZERO) if self.requested_qty else ZERO

    @property
    def reached_venue(self) -> bool:
        return self.status in (OrderStatus.PLACED, OrderStatus.RECONCILED)


class SkipReason(StrEnum):
    PAUSED = "paused"
    SYMBOL_NOT_MAPPED = "symbol_not_mapped"
    NO_MASTER_SNAPSHOT = "no_master_snapshot"
    FLAT = "flat"  # master flat and follower flat
    ON_TARGET = "on_target"  # the follower already holds the rounded target
    ALREADY_DONE = "already_done"  # this master seq (or sync round) was already carried out
    LEVERAGE_ONLY = "leverage_only"  # leverage synced; nothing to trade
    SIZING_FAILED = "sizing_failed"  # k could not be computed (equity or master figure missing): see message
    READ_FAILED = "read_failed"  # equity/position/rules could not be read from the venue: see message
    FOLLOWER_UNKNOWN = "follower_unknown"  # the job names a follower the executor has no context for
    ERROR = "error"  # an unexpected error (a bug or a store failure): see message and the log


FAILED_SKIPS = frozenset({SkipReason.READ_FAILED, SkipReason.FOLLOWER_UNKNOWN, SkipReason.ERROR})


@dataclass(frozen=True)
class HopTimes:
    """Per-hop ``time.monotonic()`` stamps (seconds, timing only; 0 = the hop did not happen)."""

    master_received: float = 0.0
    enqueued: float = 0.0
    started: float = 0.0
    leverage_synced: float = 0.0
    reads_done: float = 0.0
    order_sent: float = 0.0
    order_acked: float = 0.0
    finished: float = 0.0

    def as_ms_since_received(self) -> dict[str, float]:
        """Each recorded hop in milliseconds after the master message arrived (or after the job started)."""
        origin = self.master_received or self.enqueued or self.started
        stamps = {
            "master_received": self.master_received,
            "enqueued": self.enqueued,
            "started": self.started,
            "leverage_synced": self.leverage_synced,
            "reads_done": self.reads_done,
            "order_sent": self.order_sent,
            "order_acked": self.order_acked,
            "finished": self.finished,
        }
        return {name: round((value - origin) * 1000.0, 3) for name, value in stamps.items() if value}

    @property
    def copy_latency_s(self) -> float | None:
        """Master message received -> last order acknowledged, when both are known."""
        if not self.master_received or not self.order_acked:
            return None
        return self.order_acked - self.master_received


@dataclass(frozen=True)
class JobOutcome:
    """What one job did. ``skip_reason`` is set when nothing was done on purpose (with ``message`` saying why).

    ``k`` is the copy ratio used (for a netting follower the opening leg's; ZERO when the master leg is flat);
    ``ideal_target`` the exact follower position asked for; ``size_before`` the follower's live position read before
    acting; ``rounded_target`` where the plan aims after the venue's rounding. All in follower venue units.
    """

    follower_id: str
    venue: Venue
    master_symbol: str
    venue_symbol: str
    position_idx: PositionIdx
    trigger_seq: int
    snapshot_seq: int = 0
    reason: JobReason = JobReason.MASTER_CHANGE
    k: Decimal = ZERO
    ideal_target: Decimal = ZERO
    size_before: Decimal = ZERO
    rounded_target: Decimal = ZERO
    orders: tuple[OrderRecord, ...] = ()
    skip_reason: SkipReason | None = None
    message: str = ""
    leverage: Decimal = ZERO
    leverage_blocked: bool = False
    hops: HopTimes = field(default_factory=HopTimes)

    @property
    def placed(self) -> tuple[OrderRecord, ...]:
        return tuple(order for order in self.orders if order.reached_venue)

    @property
    def refusals(self) -> tuple[OrderRecord, ...]:
        return tuple(order for order in self.orders if order.status is OrderStatus.REFUSED)

    @property
    def failures(self) -> tuple[OrderRecord, ...]:
        return tuple(order for order in self.orders if order.status is OrderStatus.FAILED)

    @property
    def ok(self) -> bool:
        """Nothing failed (refusals with a reason and skips are deliberate, not failures)."""
        return not self.failures and self.skip_reason not in FAILED_SKIPS
