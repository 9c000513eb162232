"""The state-store interface: idempotency claims, master snapshots, copy ratios, alert state, the order log and
follower control flags. One implementation per backend (SQLite locally, DynamoDB on AWS); both must pass
``tests/contract/store_contract.py``.

The API is synchronous on purpose: every call is one short conditional write or read and nothing is held between
calls, so no connection or transaction can ever span an exchange call (the original system deadlocked its pool that
way). Async code calls it directly or through ``asyncio.to_thread``.

Every number is a ``Decimal`` and comes back exactly as it went in. Times are integer epoch milliseconds, except the
per-hop latency stamps of the order log, which are float milliseconds (timings, never money).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from runtime.domain.events import Lifecycle
from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx, Side, Venue


class StoreError(Exception):
    """The store failed (database locked too long, pool exhausted, corrupt row). The message says what to check."""


class ClaimNotFoundError(StoreError, LookupError):
    """``finish_claim`` named a claim id that was never claimed."""

    def __init__(self, claim_id: str) -> None:
        super().__init__(f"no claim with id {claim_id!r}: claim() it before finishing it")
        self.claim_id = claim_id


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"  # reserved before the exchange call; unfinished until one of the others is recorded
    PLACED = "placed"
    REFUSED = "refused"  # the venue or our validation said no; nothing was placed
    FAILED = "failed"
    RECONCILED = "reconciled"  # found at the exchange by client id after a retry or a duplicate-id answer


FINISHED_CLAIM_STATUSES = frozenset(
    {ClaimStatus.PLACED, ClaimStatus.REFUSED, ClaimStatus.FAILED, ClaimStatus.RECONCILED}
)


@dataclass(frozen=True)
class ClaimRecord:
    """An idempotency claim on one client order id, written before the order is sent.

    ``updated_ms`` defaults to ``created_ms``. ``result`` carries what the outcome needs to be reconciled later
    (venue order id, error kind, ...) as plain strings.
    """

    claim_id: str  # = the client order id
    follower_id: str
    venue: Venue
    lifecycle_id: str
    symbol: str
    position_idx: PositionIdx
    seq: int
    side: Side
    qty: Decimal
    reduce_only: bool
    created_ms: int
    status: ClaimStatus = ClaimStatus.CLAIMED
    updated_ms: int = 0
    result: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.claim_id:
            raise ValueError("a claim needs a non-empty claim_id (the client order id)")
        if self.updated_ms == 0:
            object.__setattr__(self, "updated_ms", self.created_ms)

    @property
    def leg(self) -> LegKey:
        return LegKey(self.symbol, self.position_idx)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_CLAIM_STATUSES


@dataclass(frozen=True)
class MasterSnapshot:
    """The latest confirmed state of one master leg. Writes are level-triggered: only a higher ``seq`` replaces it.

    ``size`` is signed (long > 0, short < 0). ``lifecycle`` is None when the leg is flat.
    """

    master_id: str
    symbol: str
    position_idx: PositionIdx
    seq: int
    size: Decimal
    position_im: Decimal
    leverage: Decimal
    entry_price: Decimal
    lifecycle: Lifecycle | None
    updated_ms: int
    last_activity_ms: int

    @property
    def leg(self) -> LegKey:
        return LegKey(self.symbol, self.position_idx)


@dataclass(frozen=True)
class AlertState:
    """What the audit remembers about one discrepancy, so the same one alerts again only when it moved.

    ``deviation_pct`` is in percent (5 = 5%); ``last_alert_ms`` and ``last_alerted_deviation_pct`` are None until
    the first alert is sent (a discrepancy still inside its grace period has none).
    """

    key: str
    kind: str
    follower_id: str
    symbol: str
    position_idx: PositionIdx
    deviation_pct: Decimal
    first_seen_ms: int
    last_alert_ms: int | None = None
    last_alerted_deviation_pct: Decimal | None = None
    active: bool = True


class OrderOutcome(StrEnum):
    PLACED = "placed"
    REFUSED = "refused"
    FAILED = "failed"
    RECONCILED = "reconciled"
    # Nothing sent on purpose, with the reason in ``message`` (paused, already done for this master seq, on target).
    # ``client_order_id`` is empty and ``qty`` zero when the skip concerns the whole job rather than one order.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class OrderLogEntry:
    """One outcome of one follower order, for the operator and the latency figures.

    ``hops`` maps a pipeline step ("master_event", "claimed", "sent", "acked", ...) to its time in epoch
    milliseconds (float: a timing). ``reason_code`` is set for refusals, ``error_kind`` for failures.
    """

    client_order_id: str
    follower_id: str
    venue: Venue
    symbol: str
    side: Side
    qty: Decimal
    outcome: OrderOutcome
    logged_ms: int
    price: Decimal | None = None
    position_idx: PositionIdx = PositionIdx.ONE_WAY
    reduce_only: bool = False
    master_seq: int | None = None
    lifecycle_id: str = ""
    venue_order_id: str = ""
    filled_qty: Decimal = ZERO
    reason_code: str = ""
    error_kind: str = ""
    message: str = ""
    hops: Mapping[str, float] = field(default_factory=dict, hash=False)


DEFAULT_ORDER_LOG_LIMIT = 100


class StateStore(Protocol):
    """Every method is one short, self-contained call; implementations are safe for concurrent threads."""

    # --- idempotency claims -----------------------------------------------------------------------------------
    def claim(self, claim: ClaimRecord) -> bool:
        """Insert the claim if its id is absent. True only for the one caller that created it."""
        ...

    def get_claim(self, claim_id: str) -> ClaimRecord | None: ...

    def finish_claim(
        self, claim_id: str, status: ClaimStatus, result: Mapping[str, str], *, at_ms: int | None = None
    ) -> None:
        """Record a claim's outcome (replacing ``result``). Raises ``ClaimNotFoundError`` for an unknown id and
        ``ValueError`` for ``ClaimStatus.CLAIMED`` (a claim cannot be un-finished)."""
        ...

    def unfinished_claims(self, older_than_ms: int | None = None) -> list[ClaimRecord]:
        """Claims still ``claimed``, oldest first; with ``older_than_ms`` only those created at least that many
        milliseconds ago (by the wall clock)."""
        ...

    # --- master snapshots and lifecycles ----------------------------------------------------------------------
    def put_master_snapshot(self, snapshot: MasterSnapshot) -> bool:
        """Store the snapshot if its seq is higher than the stored one for the leg; returns whether it applied.
        Its lifecycle (if any) is remembered for ``get_lifecycle`` either way."""
        ...

    def get_master_snapshot(self, master_id: str, symbol: str, position_idx: PositionIdx) -> MasterSnapshot | None: ...

    def list_master_snapshots(self, master_id: str) -> list[MasterSnapshot]:
        """Every leg of the master, ordered by symbol then position index."""
        ...

    def get_lifecycle(self, master_id: str, lifecycle_id: str) -> Lifecycle | None: ...

    # --- copy ratios ------------------------------------------------------------------------------------------
    def get_or_set_ratio(self, follower_id: str, lifecycle_id: str, k: Decimal) -> Decimal:
        """Store k for (follower, lifecycle) if none is stored; returns the stored k (first writer wins)."""
        ...

    def get_ratio(self, follower_id: str, lifecycle_id: str) -> Decimal | None: ...

    # --- alert state ------------------------------------------------------------------------------------------
    def get_alert(self, key: str) -> AlertState | None: ...

    def put_alert(self, state: AlertState) -> None:
        """Insert or replace the alert state under ``state.key``."""
        ...

    def delete_alert(self, key: str) -> bool:
        """Remove the alert state; returns whether there was one."""
        ...

    def list_alerts(self) -> list[AlertState]:
        """Every stored alert state, ordered by key."""
        ...

    # --- order log --------------------------------------------------------------------------------------------
    def append_order_log(self, entry: OrderLogEntry) -> None: ...

    def list_order_log(
        self, follower_id: str | None = None, limit: int = DEFAULT_ORDER_LOG_LIMIT
    ) -> list[OrderLogEntry]:
        """The newest ``limit`` entries (of one follower, or all), newest first in the order they were appended."""
        ...

    # --- follower control -------------------------------------------------------------------------------------
    def set_follower_paused(self, follower_id: str, paused: bool) -> None: ...

    def is_follower_paused(self, follower_id: str) -> bool:
        """False for a follower never paused."""
        ...

    def list_paused_followers(self) -> list[str]:
        """Ids of the paused followers, sorted."""
        ...

    def close(self) -> None: ...
