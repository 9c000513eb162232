"""What a simulated venue publishes when its state changes; venue layers turn these into stream messages.

Listeners receive one *batch* (a tuple of events) per state change, so everything one fill causes arrives
together: ``(OrderEvent CREATED?, FillEvent, OrderEvent FILLED, PositionEvent FILL, WalletEvent)``. The fill and
its position update share the account's ``seq``. A venue can reorder or drop items of a batch as the real venue
would (Bybit topic order, Binance NEW+TRADE). Listeners are called synchronously inside the state change: they
must not block (queue frames, do not await).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from runtime.domain.values import Side
from runtime.sim.ledger import PositionView, WalletView
from runtime.sim.model import ExecType, Order, OrderType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fill:
    """One execution. ``position`` is the leg right after it; ``seq`` is shared with that position update."""

    account: str
    exec_id: str
    trade_id: int
    order_id: int
    client_id: str
    symbol: str
    side: Side
    position_idx: int
    price: Decimal
    qty: Decimal
    fee: Decimal
    exec_type: ExecType
    is_maker: bool
    closed_size: Decimal
    realized_pnl: Decimal  # before the fee
    order_type: OrderType
    order_qty: Decimal
    leaves_qty: Decimal
    seq: int
    time_ms: int
    position: PositionView

    @property
    def value(self) -> Decimal:
        return self.price * self.qty


class OrderChange(StrEnum):
    CREATED = "created"
    FILLED = "filled"
    CANCELLED = "cancelled"


class PositionChange(StrEnum):
    FILL = "fill"  # size changed by a fill (seq moved)
    TOUCH = "touch"  # an order was created or cancelled on the symbol: nothing changed (Bybit still reports)
    LEVERAGE = "leverage"  # leverage changed, size unchanged


@dataclass(frozen=True)
class OrderEvent:
    account: str
    order: Order
    change: OrderChange


@dataclass(frozen=True)
class FillEvent:
    account: str
    fill: Fill


@dataclass(frozen=True)
class PositionEvent:
    account: str
    position: PositionView
    change: PositionChange


@dataclass(frozen=True)
class WalletEvent:
    account: str
    wallet: WalletView


@dataclass(frozen=True)
class MarkEvent:
    symbol: str
    price: Decimal


SimEvent = OrderEvent | FillEvent | PositionEvent | WalletEvent | MarkEvent
EventBatch = tuple[SimEvent, ...]
Listener = Callable[[EventBatch], None]


class EventBus:
    """A plain listener list. A failing listener is logged and skipped: it must not undo a trade."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; returns a function that removes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, batch: EventBatch) -> None:
        if not batch:
            return
        for listener in list(self._listeners):
            try:
                listener(batch)
            except Exception:
                log.exception("simulator event listener failed; the state change stands")
