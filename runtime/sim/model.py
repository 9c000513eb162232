"""Vocabulary of the simulated venues: order types, statuses, rejection kinds, and the order record.

Venue layers translate these into their own wire words (Bybit "Filled", Binance "FILLED", Hyperliquid statuses)
and map each ``RejectionKind`` to their own error code and message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from runtime.domain.values import ZERO, Side


class OrderType(StrEnum):
    MARKET = "Market"
    LIMIT = "Limit"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"


class OrderStatus(StrEnum):
    NEW = "New"
    FILLED = "Filled"
    CANCELLED = "Cancelled"


class ExecType(StrEnum):
    TRADE = "Trade"
    BUST = "BustTrade"  # liquidation
    ADL = "AdlTrade"  # auto-deleveraging


class ReduceOnlyPolicy(StrEnum):
    """What a reduce-only order larger than the position does: shrink to the position (Bybit) or fail."""

    CAP = "cap"
    REJECT = "reject"


class DuplicateScope(StrEnum):
    """Which earlier orders make a client order id a duplicate: any (Bybit) or only open ones (Binance)."""

    ALL_ORDERS = "all"
    OPEN_ORDERS = "open"


class RejectionKind(StrEnum):
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_SYMBOL = "unknown_symbol"
    QTY_NOT_POSITIVE = "qty_not_positive"
    QTY_NOT_ON_STEP = "qty_not_on_step"
    BELOW_MIN_QTY = "below_min_qty"
    ABOVE_MAX_QTY = "above_max_qty"
    ABOVE_MAX_MARKET_QTY = "above_max_market_qty"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    PRICE_REQUIRED = "price_required"
    PRICE_NOT_POSITIVE = "price_not_positive"
    PRICE_NOT_ON_TICK = "price_not_on_tick"
    REDUCE_ONLY_ZERO_POSITION = "reduce_only_zero_position"  # nothing to reduce on that leg
    REDUCE_ONLY_WOULD_INCREASE = "reduce_only_would_increase"  # same side as the position
    REDUCE_ONLY_EXCEEDS_POSITION = "reduce_only_exceeds_position"  # only under ReduceOnlyPolicy.REJECT
    POSITION_IDX_MISMATCH = "position_idx_mismatch"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    ORDER_NOT_FOUND = "order_not_found"
    IOC_NOT_MATCHED = "ioc_not_matched"  # set as an order's cancel_reason, never raised
    LEVERAGE_OUT_OF_RANGE = "leverage_out_of_range"
    MODE_CHANGE_WITH_POSITION = "mode_change_with_position"
    MODE_CHANGE_WITH_ORDERS = "mode_change_with_orders"
    NO_POSITION = "no_position"  # liquidation / ADL of a flat leg


class OrderRejected(Exception):
    """The venue refuses a request. ``details`` carries the numbers involved as plain strings."""

    def __init__(self, kind: RejectionKind, message: str, **details: object) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details: Mapping[str, str] = {key: _text(value) for key, value in details.items()}


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return "0" if value == 0 else format(value.normalize(), "f")
    return str(value)


class OrderOrigin(StrEnum):
    CLIENT = "client"
    LIQUIDATION = "liquidation"
    ADL = "adl"


@dataclass(frozen=True)
class Order:
    """One order as the venue knows it. Immutable: every change replaces the record (and is published)."""

    order_id: int
    client_id: str
    account: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    qty: Decimal
    price: Decimal | None  # limit price; None for a market order
    reduce_only: bool
    position_idx: int
    status: OrderStatus
    created_ms: int
    updated_ms: int
    filled_qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    cancel_reason: RejectionKind | None = None
    origin: OrderOrigin = OrderOrigin.CLIENT
    extra: Mapping[str, str] = field(default_factory=dict)  # venue layers may stash wire-only fields here

    @property
    def leaves_qty(self) -> Decimal:
        return ZERO if self.status is not OrderStatus.NEW else self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status is OrderStatus.NEW
