"""Executing fills: the one place a position, the wallet and an order change together; plus liquidation and ADL.

``MatchingEngine`` decides *whether* and *at what price* an order fills; ``FillDesk`` applies the fill, stamps the
account ``seq`` shared by the fill and its position update, and builds the event batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from runtime.domain.values import ZERO, Side
from runtime.sim.accounts import AccountBook, EngineSettings
from runtime.sim.catalogue import Catalogue
from runtime.sim.events import (
    EventBus,
    Fill,
    FillEvent,
    OrderChange,
    OrderEvent,
    PositionChange,
    PositionEvent,
    SimEvent,
    WalletEvent,
)
from runtime.sim.ledger import Account, PositionView, WalletView, apply_fill
from runtime.sim.model import (
    ExecType,
    Order,
    OrderOrigin,
    OrderRejected,
    OrderStatus,
    OrderType,
    RejectionKind,
    TimeInForce,
)


class FillDesk(AccountBook):
    def __init__(self, catalogue: Catalogue, settings: EngineSettings, bus: EventBus, clock: Callable[[], int]) -> None:
        super().__init__(catalogue, settings, bus, clock)
        self._next_order_id = 1_000_000
        self._next_trade_id = 1

    # ----- liquidation and ADL -----------------------------------------------------------------------------------

    def liquidate(self, account: str, symbol: str, position_idx: int = 0) -> Fill:
        """Close the whole leg at the mark (exec type BustTrade)."""
        acct = self.account(account)
        size = acct.position(symbol, position_idx).size
        return self._forced(acct, symbol, position_idx, abs(size), ExecType.BUST, OrderOrigin.LIQUIDATION)

    def adl(self, account: str, symbol: str, qty: Decimal, position_idx: int = 0) -> Fill:
        """Reduce the leg by ``qty`` (capped at its size) at the mark (exec type AdlTrade)."""
        if qty <= 0:
            raise OrderRejected(RejectionKind.QTY_NOT_POSITIVE, f"ADL qty must be above 0, got {qty}", qty=qty)
        acct = self.account(account)
        size = acct.position(symbol, position_idx).size
        return self._forced(acct, symbol, position_idx, min(qty, abs(size)), ExecType.ADL, OrderOrigin.ADL)

    def _forced(
        self, acct: Account, symbol: str, idx: int, qty: Decimal, exec_type: ExecType, origin: OrderOrigin
    ) -> Fill:
        self.instrument(symbol)
        size = acct.position(symbol, idx).size
        if size == 0 or qty == 0:
            raise OrderRejected(
                RejectionKind.NO_POSITION, f"{acct.name} holds no {symbol} position on idx {idx}", symbol=symbol
            )
        now = self.clock()
        side = Side.SELL if size > 0 else Side.BUY
        order = Order(
            order_id=self._new_order_id(),
            client_id="",
            account=acct.name,
            symbol=symbol,
            side=side,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            qty=qty,
            price=None,
            reduce_only=True,
            position_idx=idx,
            status=OrderStatus.NEW,
            created_ms=now,
            updated_ms=now,
            origin=origin,
        )
        self._store(acct, order)
        created = OrderEvent(acct.name, order, OrderChange.CREATED)
        fill, events = self._execute(acct, order, qty, self.mark(symbol), exec_type, is_maker=False)
        self.bus.publish((created, *events))
        return fill

    def _new_order_id(self) -> int:
        self._next_order_id += 1
        return self._next_order_id

    def _store(self, acct: Account, order: Order) -> None:
        acct.orders[order.order_id] = order
        if order.client_id:
            acct.client_index[order.client_id] = order.order_id

    def _execute(
        self, acct: Account, order: Order, qty: Decimal, price: Decimal, exec_type: ExecType, *, is_maker: bool
    ) -> tuple[Fill, list[SimEvent]]:
        key = (order.symbol, order.position_idx)
        position = acct.position(*key)
        outcome = apply_fill(position.size, position.entry_price, qty * order.side.sign, price)
        rate = self.settings.maker_fee_rate if is_maker else self.settings.taker_fee_rate
        fee = qty * price * rate
        now = self.clock()
        seq = acct.next_seq()
        acct.positions[key] = replace(
            position,
            size=outcome.new_size,
            entry_price=outcome.new_entry,
            realized_pnl=position.realized_pnl + outcome.realized_pnl - fee,
            seq=seq,
            updated_ms=now,
        )
        acct.wallet += outcome.realized_pnl - fee
        filled = replace(order, status=OrderStatus.FILLED, filled_qty=qty, avg_price=price, updated_ms=now)
        self._store(acct, filled)
        view = self.position_view(acct.name, order.symbol, order.position_idx)
        trade_id = self._next_trade_id
        self._next_trade_id += 1
        fill = Fill(
            account=acct.name,
            exec_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.catalogue.venue}/{trade_id}")),
            trade_id=trade_id,
            order_id=order.order_id,
            client_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            position_idx=order.position_idx,
            price=price,
            qty=qty,
            fee=fee,
            exec_type=exec_type,
            is_maker=is_maker,
            closed_size=outcome.closed_size,
            realized_pnl=outcome.realized_pnl,
            order_type=order.order_type,
            order_qty=order.qty,
            leaves_qty=ZERO,
            seq=seq,
            time_ms=now,
            position=view,
        )
        acct.fills.append(fill)
        events: list[SimEvent] = [
            FillEvent(acct.name, fill),
            OrderEvent(acct.name, filled, OrderChange.FILLED),
            PositionEvent(acct.name, view, PositionChange.FILL),
            WalletEvent(acct.name, self.wallet(acct.name)),
        ]
        return fill, events

    def _touch_batch(self, acct: Account, order: Order, change: OrderChange) -> tuple[SimEvent, ...]:
        view: PositionView = self.position_view(acct.name, order.symbol, order.position_idx)
        wallet: WalletView = self.wallet(acct.name)
        return (
            OrderEvent(acct.name, order, change),
            PositionEvent(acct.name, view, PositionChange.TOUCH),
            WalletEvent(acct.name, wallet),
        )
