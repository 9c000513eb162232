"""The exchange-client interface the engine calls. One implementation per venue (and fakes in unit tests).

All quantities are in the venue's own units and signed where they are positions. Calls raise
``runtime.domain.errors.ExchangeError`` with one of the engine's error kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Side, Venue


class OrderState(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True)
class OrderRequest:
    """A market order. ``position_idx`` selects the hedge leg (0 in one-way mode)."""

    symbol: str
    side: Side
    qty: Decimal
    client_order_id: str
    reduce_only: bool = False
    position_idx: PositionIdx = PositionIdx.ONE_WAY


@dataclass(frozen=True)
class OrderReport:
    """What the venue says about one order."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    qty: Decimal
    state: OrderState
    filled_qty: Decimal = ZERO
    avg_price: Decimal = ZERO


@dataclass(frozen=True)
class KeyPermissions:
    """What an API key may do. A key that can withdraw is refused at start-up."""

    valid: bool
    can_trade_futures: bool
    can_withdraw: bool
    detail: str = ""


class ExchangeClient(Protocol):
    venue: Venue

    async def instrument_rules(self, symbol: str) -> InstrumentRules: ...

    async def refresh_instruments(self) -> None: ...

    async def equity(self) -> Decimal: ...

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]: ...

    async def leverage(self, symbol: str) -> Decimal: ...

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set the symbol's leverage. A "not modified" answer is success."""
        ...

    async def position_mode(self) -> PositionMode: ...

    async def set_position_mode(self, mode: PositionMode) -> None: ...

    async def place_market_order(self, order: OrderRequest) -> OrderReport: ...

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """Look an order up by client id; None when the venue has never seen it."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> None: ...

    async def check_key_permissions(self) -> KeyPermissions: ...

    async def close(self) -> None: ...
