"""An in-memory ``ExchangeClient`` for the executor's unit tests: exact Decimal arithmetic, cross margin, one-way
or hedge positions, orders remembered by client id, and faults a test can script.

Margin (as the simulators): position IM = |size| x entry / leverage; equity = balance + unrealised PnL; an order
that grows exposure is refused for margin when its IM (qty x mark / leverage) exceeds equity - total IM. Fills are
at the mark, complete, without fees.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import ZERO, PositionIdx, PositionMode, Venue
from runtime.ports.exchange import KeyPermissions, OrderReport, OrderRequest, OrderState

BTC_RULES = InstrumentRules(
    venue=Venue.BYBIT,
    symbol="BTCUSDT",
    qty_step=Decimal("0.001"),
    tick_size=Decimal("0.1"),
    min_qty=Decimal("0.001"),
    max_qty=Decimal("100"),
    max_market_qty=Decimal("50"),
    min_notional=Decimal("5"),
    max_leverage=Decimal("100"),
)


def rules_for(venue: Venue, symbol: str, **changes: Decimal | bool) -> InstrumentRules:
    fields = {**BTC_RULES.__dict__, "venue": venue, "symbol": symbol, **changes}
    return InstrumentRules(**fields)


@dataclass
class FakePosition:
    size: Decimal = ZERO  # signed
    entry: Decimal = ZERO


@dataclass
class PlacedOrder:
    request: OrderRequest
    report: OrderReport


# A scripted fault for the next place_market_order: "before" raises without placing, "after" places then raises
# (the answer is lost), "hang" never answers and never places (the request is stuck on the way; cancel the task).
@dataclass(frozen=True)
class PlaceFault:
    error: ExchangeError | None
    when: str = "before"


@dataclass
class FakeExchange:
    venue: Venue = Venue.BYBIT
    balance: Decimal = Decimal("10000")
    mode: PositionMode = PositionMode.ONE_WAY
    rules: dict[str, InstrumentRules] = field(default_factory=lambda: {"BTCUSDT": BTC_RULES})
    marks: dict[str, Decimal] = field(default_factory=lambda: {"BTCUSDT": Decimal("50000")})
    latency_s: float = 0.0
    default_leverage: Decimal = Decimal("10")
    duplicate_raises: bool = True  # Bybit-like: a reused client id is refused (the adapter would look it up)
    positions_by_leg: dict[tuple[str, PositionIdx], FakePosition] = field(default_factory=dict)
    leverages: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, PlacedOrder] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    place_faults: list[PlaceFault] = field(default_factory=list)
    leverage_error: ExchangeError | None = None
    read_error: ExchangeError | None = None
    lookup_error: ExchangeError | None = None
    on_place: Callable[[OrderRequest], Awaitable[None]] | None = None
    hung: asyncio.Event = field(default_factory=asyncio.Event)  # set when a "hang" fault is reached
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ----- helpers for tests -----------------------------------------------------------------------------------

    def error(self, kind: ErrorKind, message: str = "scripted") -> ExchangeError:
        return ExchangeError(kind, self.venue, message)

    def size(self, symbol: str = "BTCUSDT", idx: PositionIdx = PositionIdx.ONE_WAY) -> Decimal:
        return self.positions_by_leg.get((symbol, idx), FakePosition()).size

    def set_position(self, symbol: str, size: Decimal, idx: PositionIdx = PositionIdx.ONE_WAY) -> None:
        self.positions_by_leg[(symbol, idx)] = FakePosition(size, self.marks[symbol])

    @property
    def placed(self) -> list[PlacedOrder]:
        return list(self.orders.values())

    def count(self, call: str) -> int:
        return self.calls.count(call)

    async def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)

    def _leverage(self, symbol: str) -> Decimal:
        return self.leverages.get(symbol, self.default_leverage)

    def _im(self) -> Decimal:
        return sum(
            (abs(p.size) * p.entry / self._leverage(symbol) for (symbol, _), p in self.positions_by_leg.items()), ZERO
        )

    def _equity(self) -> Decimal:
        upnl = sum((p.size * (self.marks[symbol] - p.entry) for (symbol, _), p in self.positions_by_leg.items()), ZERO)
        return self.balance + upnl

    # ----- ExchangeClient --------------------------------------------------------------------------------------

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        await self._call("instrument_rules")
        if symbol not in self.rules:
            raise self.error(ErrorKind.INVALID_ORDER, f"unknown symbol {symbol}")
        return self.rules[symbol]

    async def refresh_instruments(self) -> None:
        await self._call("refresh_instruments")

    async def equity(self) -> Decimal:
        await self._call("equity")
        if self.read_error is not None:
            raise self.read_error
        return self._equity()

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        await self._call("positions")
        if self.read_error is not None:
            raise self.read_error
        return [
            FollowerPosition(
                venue=self.venue,
                symbol=sym,
                size=p.size,
                position_idx=idx,
                entry_price=p.entry,
                leverage=self._leverage(sym),
                initial_margin=abs(p.size) * p.entry / self._leverage(sym),
            )
            for (sym, idx), p in sorted(self.positions_by_leg.items())
            if p.size != 0 and (symbol is None or sym == symbol)
        ]

    async def leverage(self, symbol: str) -> Decimal:
        await self._call("leverage")
        return self._leverage(symbol)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        await self._call("set_leverage")
        if self.leverage_error is not None:
            raise self.leverage_error
        self.leverages[symbol] = leverage

    async def position_mode(self) -> PositionMode:
        await self._call("position_mode")
        return self.mode

    async def set_position_mode(self, mode: PositionMode) -> None:
        await self._call("set_position_mode")
        self.mode = mode

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        await self._call("place_market_order")
        fault = self.place_faults.pop(0) if self.place_faults else None
        if fault is not None and fault.when == "before" and fault.error is not None:
            raise fault.error
        if fault is not None and fault.when == "hang":
            self.hung.set()
            await asyncio.Event().wait()
        if order.client_order_id in self.orders:
            if self.duplicate_raises:
                raise self.error(ErrorKind.DUPLICATE_CLIENT_ID, f"client id {order.client_order_id} already used")
            return self.orders[order.client_order_id].report
        report = self._fill(order)
        if self.on_place is not None:
            await self.on_place(order)
        if fault is not None and fault.when == "after" and fault.error is not None:
            raise fault.error
        return report

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        await self._call("get_order")
        if self.lookup_error is not None:
            raise self.lookup_error
        placed = self.orders.get(client_order_id)
        return None if placed is None else placed.report

    async def cancel_order(self, symbol: str, client_order_id: str) -> None:
        await self._call("cancel_order")
        raise self.error(ErrorKind.NOT_FOUND, "market orders fill at once")

    async def check_key_permissions(self) -> KeyPermissions:
        await self._call("check_key_permissions")
        return KeyPermissions(valid=True, can_trade_futures=True, can_withdraw=False)

    async def close(self) -> None:
        self.calls.append("close")

    # ----- matching --------------------------------------------------------------------------------------------

    def _leg(self, order: OrderRequest) -> PositionIdx:
        if self.mode is PositionMode.ONE_WAY:
            if order.position_idx is not PositionIdx.ONE_WAY:
                raise self.error(ErrorKind.INVALID_ORDER, "position idx not match position mode")
            return PositionIdx.ONE_WAY
        if order.position_idx is PositionIdx.ONE_WAY:
            raise self.error(ErrorKind.INVALID_ORDER, "position idx not match position mode")
        return order.position_idx

    def _fill(self, order: OrderRequest) -> OrderReport:
        rules = self.rules[order.symbol]
        if order.qty <= 0 or order.qty % rules.qty_step != 0:
            raise self.error(ErrorKind.INVALID_ORDER, f"qty {order.qty} is not on the step {rules.qty_step}")
        leg = self._leg(order)
        mark = self.marks[order.symbol]
        position = self.positions_by_leg.setdefault((order.symbol, leg), FakePosition())
        delta = order.qty * order.side.sign
        qty = order.qty
        if order.reduce_only:
            if position.size == 0 or (position.size > 0) == (delta > 0):
                raise self.error(ErrorKind.INVALID_ORDER, "reduce-only order would increase the position")
            qty = min(qty, abs(position.size))
            delta = qty * order.side.sign
        new_size = position.size + delta
        if leg is not PositionIdx.ONE_WAY and new_size != 0 and (new_size > 0) != (leg is PositionIdx.HEDGE_LONG):
            raise self.error(ErrorKind.INVALID_ORDER, "a hedge leg cannot change sides")
        grows = abs(new_size) > abs(position.size) or (new_size * position.size < 0)
        if grows:
            added = (
                (abs(new_size) if new_size * position.size < 0 else abs(delta)) * mark / self._leverage(order.symbol)
            )
            if added > self._equity() - self._im():
                raise self.error(ErrorKind.INSUFFICIENT_MARGIN, "ab not enough for new order")
        self._apply(position, new_size, mark)
        report = OrderReport(
            client_order_id=order.client_order_id,
            venue_order_id=f"v{next(self._ids)}",
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            state=OrderState.FILLED,
            filled_qty=qty,
            avg_price=mark,
        )
        self.orders[order.client_order_id] = PlacedOrder(order, report)
        return report

    def _apply(self, position: FakePosition, new_size: Decimal, mark: Decimal) -> None:
        old = position.size
        if old != 0 and (new_size == 0 or (new_size > 0) != (old > 0) or abs(new_size) < abs(old)):
            closed = old - new_size if (new_size == 0 or (new_size > 0) == (old > 0)) else old
            self.balance += closed * (mark - position.entry)
        if new_size == 0:
            position.size, position.entry = ZERO, ZERO
        elif old == 0 or (new_size > 0) != (old > 0):
            position.size, position.entry = new_size, mark
        elif abs(new_size) > abs(old):
            position.entry = (abs(old) * position.entry + abs(new_size - old) * mark) / abs(new_size)
            position.size = new_size
        else:
            position.size = new_size
