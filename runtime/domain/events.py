"""Master position changes and their lifecycle data (design brief section 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx


class ChangeKind(StrEnum):
    OPEN = "open"
    INCREASE = "increase"
    PARTIAL_CLOSE = "partial_close"
    FULL_CLOSE = "full_close"
    FLIP = "flip"
    LEVERAGE_ONLY = "leverage_only"


def classify_change(prev_size: Decimal, new_size: Decimal) -> ChangeKind:
    """Classify a signed size transition. Equal sizes are a leverage-only change (no order to place)."""
    if prev_size == new_size:
        return ChangeKind.LEVERAGE_ONLY
    if prev_size == 0:
        return ChangeKind.OPEN
    if new_size == 0:
        return ChangeKind.FULL_CLOSE
    if (prev_size > 0) != (new_size > 0):
        return ChangeKind.FLIP
    if abs(new_size) > abs(prev_size):
        return ChangeKind.INCREASE
    return ChangeKind.PARTIAL_CLOSE


@dataclass(frozen=True)
class Lifecycle:
    """One position lifecycle of a master leg: flat -> non-flat ... -> flat.

    ``id`` is deterministic (``symbol:positionIdx:seq-at-open``) so two listeners, or a restarted one, name the same
    lifecycle the same way. ``open_im`` and ``open_equity`` are the master's confirmed initial margin and equity at
    the open; every follower's ratio k for this lifecycle is derived from them once and then kept.
    """

    id: str
    open_im: Decimal
    open_equity: Decimal
    opened_seq: int

    @staticmethod
    def make_id(leg: LegKey, opened_seq: int) -> str:
        return f"{leg.symbol}:{int(leg.position_idx)}:{opened_seq}"


@dataclass(frozen=True)
class MasterPositionChanged:
    """Exactly one per confirmed change of a master leg.

    ``lifecycle`` is the lifecycle the change belongs to: the current one for open/increase/partial_close/
    leverage_only, the one ending for full_close, the new one for a flip (whose closing half belongs to
    ``previous_lifecycle_id``).
    """

    master: str
    symbol: str
    position_idx: PositionIdx
    seq: int
    prev_size: Decimal
    new_size: Decimal
    position_im: Decimal
    leverage: Decimal
    entry_price: Decimal
    lifecycle: Lifecycle | None
    exec_ids: tuple[str, ...] = ()
    previous_lifecycle_id: str | None = None
    mark_price: Decimal = ZERO
    received_at: float = 0.0  # monotonic seconds when the confirming message arrived; timing only
    exec_types: tuple[str, ...] = field(default=())

    @property
    def leg(self) -> LegKey:
        return LegKey(self.symbol, self.position_idx)

    @property
    def kind(self) -> ChangeKind:
        return classify_change(self.prev_size, self.new_size)
