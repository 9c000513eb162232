"""The matching engine of one simulated venue: orders against the mark, fills, liquidation and ADL.

Synchronous and single-threaded on purpose: the servers call it from the event loop, so every state change is
atomic. Market and IOC orders fill at once at the mark +/- slippage; GTC limits rest until ``set_mark`` crosses
them and then fill at their limit price as maker. Every change is published on ``bus`` as one batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from runtime.domain.values import PositionIdx, PositionMode, Side
from runtime.sim.accounts import EngineSettings
from runtime.sim.catalogue import Catalogue, SimInstrument
from runtime.sim.events import (
    EventBus,
    Fill,
    MarkEvent,
    OrderChange,
    OrderEvent,
)
from runtime.sim.execution import FillDesk
from runtime.sim.ledger import Account, apply_fill, wallet_view
from runtime.sim.model import (
    DuplicateScope,
    ExecType,
    Order,
    OrderRejected,
    OrderStatus,
    OrderType,
    ReduceOnlyPolicy,
    RejectionKind,
    TimeInForce,
)
from runtime.sim.validation import check_notional, check_price, check_qty

BPS = Decimal(10000)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class MatchingEngine(FillDesk):
    def __init__(
        self,
        catalogue: Catalogue,
        settings: EngineSettings | None = None,
        *,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        super().__init__(catalogue, settings or EngineSettings(), EventBus(), clock)

    # ----- marks -----------------------------------------------------------------------------------------------

    def set_mark(self, symbol: str, price: Decimal) -> list[Fill]:
        """Move the mark; resting limits it crosses fill at their price. Returns those fills."""
        self.instrument(symbol)
        if price <= 0:
            raise ValueError(f"mark of {symbol} must be above 0, got {price}")
        self.marks[symbol] = price
        self.bus.publish((MarkEvent(symbol, price),))
        fills: list[Fill] = []
        for account in list(self.accounts.values()):
            for order in [o for o in account.open_orders() if o.symbol == symbol]:
                limit = order.price
                if limit is not None and (price <= limit if order.side is Side.BUY else price >= limit):
                    fill = self._fill_resting(account, order)
                    if fill is not None:
                        fills.append(fill)
        return fills

    def fill_price(self, symbol: str, side: Side) -> Decimal:
        """Where a taker order fills now: the mark moved against the taker by the slippage, rounded to tick."""
        mark = self.mark(symbol)
        if self.settings.slippage_bps == 0:
            return mark
        tick = self.instrument(symbol).rules.tick_size
        if side is Side.BUY:
            raw = mark * (BPS + self.settings.slippage_bps) / BPS
            return (raw / tick).to_integral_value(ROUND_CEILING) * tick
        raw = mark * (BPS - self.settings.slippage_bps) / BPS
        return (raw / tick).to_integral_value(ROUND_FLOOR) * tick

    # ----- orders ----------------------------------------------------------------------------------------------

    def place_order(
        self,
        account: str,
        *,
        symbol: str,
        side: Side,
        qty: Decimal,
        order_type: OrderType,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        position_idx: int = 0,
        client_id: str = "",
    ) -> Order:
        """Check, then fill or rest an order. Returns the order as it stands (Filled, New, or Cancelled for an IOC
        that did not cross: ``cancel_reason`` is then IOC_NOT_MATCHED). Raises ``OrderRejected``."""
        acct = self.account(account)
        instrument = self.instrument(symbol)
        rules = instrument.rules
        # Duplicates first: a retried order must be recognised as "already placed" whatever else changed since.
        if client_id:
            self._check_duplicate(acct, client_id)
        self._check_position_idx(acct, position_idx)
        is_market = order_type is OrderType.MARKET
        limit_price = None if is_market else check_price(rules, price)
        tif = TimeInForce.IOC if is_market else time_in_force
        position = acct.position(symbol, position_idx)
        closing = self._closes(acct, position_idx, side, position.size)
        effective_reduce = reduce_only or (acct.position_mode is PositionMode.HEDGE and closing)
        check_qty(rules, qty, is_market=is_market, reduce_only=effective_reduce)
        if effective_reduce:
            qty = self._reduce_qty(acct, position_idx, side, position.size, qty)
        check_notional(rules, qty, limit_price or self.mark(symbol), reduce_only=effective_reduce)

        now = self.clock()
        order = Order(
            order_id=self._new_order_id(),
            client_id=client_id,
            account=acct.name,
            symbol=symbol,
            side=side,
            order_type=order_type,
            time_in_force=tif,
            qty=qty,
            price=limit_price,
            reduce_only=effective_reduce,
            position_idx=position_idx,
            status=OrderStatus.NEW,
            created_ms=now,
            updated_ms=now,
        )
        taker_price = self.fill_price(symbol, side)
        if limit_price is not None:
            crosses_now = limit_price >= self.mark(symbol) if side is Side.BUY else limit_price <= self.mark(symbol)
            if tif is TimeInForce.IOC:
                crosses_now = limit_price >= taker_price if side is Side.BUY else limit_price <= taker_price
            else:  # a crossing GTC takes, but never at a worse price than its limit
                taker_price = min(taker_price, limit_price) if side is Side.BUY else max(taker_price, limit_price)
            if not crosses_now:
                return self._rest_or_expire(acct, order, instrument)
        self._check_margin_for_fill(acct, order, taker_price)
        self._store(acct, order)
        created = OrderEvent(acct.name, order, OrderChange.CREATED)
        _, events = self._execute(acct, order, qty, taker_price, ExecType.TRADE, is_maker=False)
        self.bus.publish((created, *events))
        return acct.orders[order.order_id]

    def cancel_order(self, account: str, *, order_id: int | None = None, client_id: str = "") -> Order:
        """Cancel an open order by id or client id; ORDER_NOT_FOUND when unknown or no longer open."""
        acct = self.account(account)
        order = self.find_order(account, order_id=order_id, client_id=client_id)
        if not order.is_open:
            raise OrderRejected(
                RejectionKind.ORDER_NOT_FOUND,
                f"order {order.order_id} is {order.status.value}, nothing to cancel",
                order_id=order.order_id,
            )
        cancelled = replace(order, status=OrderStatus.CANCELLED, updated_ms=self.clock())
        self._store(acct, cancelled)
        self.bus.publish(self._touch_batch(acct, cancelled, OrderChange.CANCELLED))
        return cancelled

    def find_order(self, account: str, *, order_id: int | None = None, client_id: str = "") -> Order:
        """Look an order up by venue id or client id (the latest order that used that client id)."""
        acct = self.account(account)
        found: Order | None = None
        if order_id is not None:
            found = acct.orders.get(order_id)
        elif client_id:
            latest = acct.client_index.get(client_id)
            found = acct.orders.get(latest) if latest is not None else None
        if found is None:
            what = f"order id {order_id}" if order_id is not None else f"client id {client_id!r}"
            raise OrderRejected(
                RejectionKind.ORDER_NOT_FOUND, f"no order with {what}", order_id=order_id or "", client_id=client_id
            )
        return found

    def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        return [o for o in self.account(account).open_orders() if symbol is None or o.symbol == symbol]

    # ----- internals -------------------------------------------------------------------------------------------
    def _check_duplicate(self, acct: Account, client_id: str) -> None:
        previous_id = acct.client_index.get(client_id)
        if previous_id is None:
            return
        previous = acct.orders[previous_id]
        if self.settings.duplicate_scope is DuplicateScope.OPEN_ORDERS and not previous.is_open:
            return
        raise OrderRejected(
            RejectionKind.DUPLICATE_CLIENT_ID,
            f"client order id {client_id!r} was already used by order {previous_id}",
            client_id=client_id,
            order_id=previous_id,
        )

    def _check_position_idx(self, acct: Account, idx: int) -> None:
        if idx not in acct.valid_indexes():
            raise OrderRejected(
                RejectionKind.POSITION_IDX_MISMATCH,
                f"position idx {idx} does not match position mode {acct.position_mode.value}",
                position_idx=idx,
                position_mode=acct.position_mode.value,
            )

    @staticmethod
    def _closes(acct: Account, idx: int, side: Side, size: Decimal) -> bool:
        """Whether an order of ``side`` reduces the leg (in hedge mode the leg index says which side grows)."""
        if acct.position_mode is PositionMode.HEDGE:
            growth_side = Side.BUY if idx == PositionIdx.HEDGE_LONG else Side.SELL
            return side is not growth_side
        return size != 0 and (size > 0) != (side is Side.BUY)

    def _reduce_qty(self, acct: Account, idx: int, side: Side, size: Decimal, qty: Decimal) -> Decimal:
        if size == 0:
            raise OrderRejected(
                RejectionKind.REDUCE_ONLY_ZERO_POSITION,
                "the position is zero: nothing for a reduce-only order",
                qty=qty,
                position_size=size,
            )
        if not self._closes(acct, idx, side, size):
            raise OrderRejected(
                RejectionKind.REDUCE_ONLY_WOULD_INCREASE,
                f"a reduce-only {side.value} would increase the position",
                qty=qty,
                position_size=size,
            )
        if qty <= abs(size):
            return qty
        if self.settings.reduce_only_policy is ReduceOnlyPolicy.CAP:
            return abs(size)
        raise OrderRejected(
            RejectionKind.REDUCE_ONLY_EXCEEDS_POSITION,
            f"reduce-only qty {qty} exceeds the position {abs(size)}",
            qty=qty,
            position_size=abs(size),
        )

    def _check_margin_for_fill(self, acct: Account, order: Order, price: Decimal) -> None:
        """Refuse a fill that grows exposure when the account could not carry it afterwards."""
        position = acct.position(order.symbol, order.position_idx)
        outcome = apply_fill(position.size, position.entry_price, order.qty * order.side.sign, price)
        grows = abs(outcome.new_size) > abs(position.size) or (outcome.new_size * position.size) < 0
        if not grows:
            return
        fee = order.qty * price * self.settings.taker_fee_rate
        after = wallet_view(
            acct,
            self._leverage_of(acct),
            self.mark,
            replace={
                (order.symbol, order.position_idx): replace(
                    position, size=outcome.new_size, entry_price=outcome.new_entry
                )
            },
            wallet_delta=outcome.realized_pnl - fee,
        )
        if after.available < 0:
            before = self.wallet(acct.name)
            raise OrderRejected(
                RejectionKind.INSUFFICIENT_MARGIN,
                f"insufficient margin: the order needs {before.available - after.available} "
                f"but {before.available} is available",
                required=before.available - after.available,
                available=before.available,
            )

    def _rest_or_expire(self, acct: Account, order: Order, instrument: SimInstrument) -> Order:
        if order.time_in_force is TimeInForce.IOC:
            expired = replace(order, status=OrderStatus.CANCELLED, cancel_reason=RejectionKind.IOC_NOT_MATCHED)
            self._store(acct, expired)
            self.bus.publish(
                (
                    OrderEvent(acct.name, order, OrderChange.CREATED),
                    *self._touch_batch(acct, expired, OrderChange.CANCELLED),
                )
            )
            return expired
        if not order.reduce_only:
            assert order.price is not None
            needed = order.qty * order.price / self.leverage(acct.name, order.symbol)
            available = self.wallet(acct.name).available
            if needed > available:
                raise OrderRejected(
                    RejectionKind.INSUFFICIENT_MARGIN,
                    f"insufficient margin: the order needs {needed} but {available} is available",
                    required=needed,
                    available=available,
                )
        self._store(acct, order)
        self.bus.publish(self._touch_batch(acct, order, OrderChange.CREATED))
        return order

    def _fill_resting(self, acct: Account, order: Order) -> Fill | None:
        qty = order.qty
        size = acct.position(order.symbol, order.position_idx).size
        if order.reduce_only:
            if size == 0 or not self._closes(acct, order.position_idx, order.side, size):
                cancelled = replace(
                    order,
                    status=OrderStatus.CANCELLED,
                    updated_ms=self.clock(),
                    cancel_reason=RejectionKind.REDUCE_ONLY_ZERO_POSITION,
                )
                self._store(acct, cancelled)
                self.bus.publish(self._touch_batch(acct, cancelled, OrderChange.CANCELLED))
                return None
            qty = min(qty, abs(size))
        assert order.price is not None
        fill, events = self._execute(acct, order, qty, order.price, ExecType.TRADE, is_maker=True)
        self.bus.publish(tuple(events))
        return fill
