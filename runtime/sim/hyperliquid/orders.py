"""The ``order``, ``cancel`` and ``cancelByCloid`` actions: one status per element, as Hyperliquid answers.

Checks in order: asset id, duplicate cloid (first, so a retried order is always recognised), the price rule
("Price must be divisible by tick size."), the size rule, the $10 minimum value (price x size at the order's limit
price), post-only, then the core's reduce-only and margin checks.

Minimum value and reduce-only orders: the venue publishes only "Order must have minimum value of $10.". A
reduce-only order that closes the *whole* position is let through below $10 (otherwise a small position could
never be closed); a reduce-only order that closes only part of it is held to the minimum like any order. This
reading follows public client libraries; the venue does not document it (UNCONFIRMED).

Duplicate cloid: the venue does not document its answer. The simulator keeps the first order and answers the
second with a per-order error (``OrderRejection.DUPLICATE_CLOID``); engines reconcile with ``orderStatus`` by cloid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runtime.domain.values import Side, decimal_str
from runtime.sim.hyperliquid import codes
from runtime.sim.hyperliquid.codes import OrderRejection
from runtime.sim.hyperliquid.wire import OrderWire, Tif, price_is_valid, size_is_valid
from runtime.sim.model import OrderRejected, OrderStatus, OrderType, RejectionKind, TimeInForce

if TYPE_CHECKING:
    from runtime.sim.hyperliquid.server import HyperliquidSimulator

MIN_ORDER_VALUE = Decimal(10)

# Core refusals -> the venue's per-order error strings.
REJECTION_MESSAGES: dict[RejectionKind, str] = {
    RejectionKind.UNKNOWN_SYMBOL: OrderRejection.UNKNOWN_ASSET,
    RejectionKind.QTY_NOT_POSITIVE: OrderRejection.INVALID_SIZE,
    RejectionKind.QTY_NOT_ON_STEP: OrderRejection.INVALID_SIZE,
    RejectionKind.BELOW_MIN_QTY: OrderRejection.INVALID_SIZE,
    RejectionKind.ABOVE_MAX_QTY: OrderRejection.PERP_MAX_POSITION,
    RejectionKind.ABOVE_MAX_MARKET_QTY: OrderRejection.PERP_MAX_POSITION,
    RejectionKind.BELOW_MIN_NOTIONAL: OrderRejection.MIN_TRADE_NTL,
    RejectionKind.PRICE_REQUIRED: OrderRejection.TICK,
    RejectionKind.PRICE_NOT_POSITIVE: OrderRejection.TICK,
    RejectionKind.PRICE_NOT_ON_TICK: OrderRejection.TICK,
    RejectionKind.REDUCE_ONLY_ZERO_POSITION: OrderRejection.REDUCE_ONLY,
    RejectionKind.REDUCE_ONLY_WOULD_INCREASE: OrderRejection.REDUCE_ONLY,
    RejectionKind.REDUCE_ONLY_EXCEEDS_POSITION: OrderRejection.REDUCE_ONLY,
    RejectionKind.INSUFFICIENT_MARGIN: OrderRejection.PERP_MARGIN,
    RejectionKind.DUPLICATE_CLIENT_ID: OrderRejection.DUPLICATE_CLOID,
}


class OrderDesk:
    def __init__(self, sim: HyperliquidSimulator) -> None:
        self.sim = sim

    def place_all(self, account: str, wires: list[OrderWire]) -> dict[str, Any]:
        return codes.ok_orders([self.place(account, wire) for wire in wires])

    def place(self, account: str, wire: OrderWire) -> dict[str, Any]:
        try:
            return self._place(account, wire)
        except OrderRejected as exc:
            message = REJECTION_MESSAGES.get(exc.kind, exc.message)
            return codes.order_error(message)

    def _place(self, account: str, wire: OrderWire) -> dict[str, Any]:
        engine = self.sim.engine
        instrument = self.sim.instrument_by_asset(wire.asset)
        if instrument is None or instrument.sz_decimals is None:
            return codes.order_error(OrderRejection.UNKNOWN_ASSET)
        if wire.cloid is not None and self._known_cloid(account, wire.cloid):
            return codes.order_error(OrderRejection.DUPLICATE_CLOID)
        if not price_is_valid(wire.price, instrument.sz_decimals):
            return codes.order_error(OrderRejection.TICK)
        if not size_is_valid(wire.size, instrument.sz_decimals):
            return codes.order_error(OrderRejection.INVALID_SIZE)
        side = Side.BUY if wire.is_buy else Side.SELL
        if wire.price * wire.size < MIN_ORDER_VALUE and not self._closes_whole_position(account, wire, side):
            return codes.order_error(OrderRejection.MIN_TRADE_NTL)
        mark = engine.mark(instrument.symbol)
        if wire.tif is Tif.ALO and (wire.price >= mark if wire.is_buy else wire.price <= mark):
            # No book: the best bid and ask are both the mark.
            bbo = f"({decimal_str(mark)}, {decimal_str(mark)})"
            return codes.order_error(OrderRejection.BAD_ALO_PX.format(bbo=bbo))
        order = engine.place_order(
            account,
            symbol=instrument.symbol,
            side=side,
            qty=wire.size,
            order_type=OrderType.LIMIT,
            price=wire.price,
            time_in_force=TimeInForce.IOC if wire.tif is Tif.IOC else TimeInForce.GTC,
            reduce_only=wire.reduce_only,
            client_id=wire.cloid or "",
        )
        self.sim.order_tifs[order.order_id] = wire.tif.value
        if order.status is OrderStatus.FILLED:
            return codes.filled(decimal_str(order.filled_qty), decimal_str(order.avg_price), order.order_id, wire.cloid)
        if order.status is OrderStatus.NEW:
            return codes.resting(order.order_id, wire.cloid)
        return codes.order_error(OrderRejection.IOC_CANCEL)

    def _known_cloid(self, account: str, cloid: str) -> bool:
        try:
            self.sim.engine.find_order(account, client_id=cloid)
        except OrderRejected:
            return False
        return True

    def _closes_whole_position(self, account: str, wire: OrderWire, side: Side) -> bool:
        instrument = self.sim.instrument_by_asset(wire.asset)
        assert instrument is not None
        size = self.sim.engine.account(account).position(instrument.symbol, 0).size
        closing = size != 0 and (size > 0) != (side is Side.BUY)
        return wire.reduce_only and closing and wire.size >= abs(size)

    def cancel_all(self, account: str, targets: list[tuple[int, int | None, str]]) -> dict[str, Any]:
        """``targets``: (asset, order id or None, cloid or "") per element."""
        return codes.ok_cancels([self.cancel(account, *target) for target in targets])

    def cancel(self, account: str, asset: int, order_id: int | None, cloid: str) -> Any:
        instrument = self.sim.instrument_by_asset(asset)
        engine = self.sim.engine
        try:
            order = engine.find_order(account, order_id=order_id, client_id=cloid)
            if instrument is None or order.symbol != instrument.symbol:
                return codes.order_error(codes.MISSING_ORDER)
            engine.cancel_order(account, order_id=order.order_id)
        except OrderRejected:
            return codes.order_error(codes.MISSING_ORDER)
        return "success"
