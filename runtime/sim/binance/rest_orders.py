"""Order endpoints: POST/DELETE/GET /fapi/v1/order and GET /fapi/v1/openOrders.

Binance-only rules are checked here before the matching engine sees the order: precision (-1111), the position
side against the account's mode (-4061), ``reduceOnly`` in hedge mode (-1106). Everything else (client id
duplicates among open orders, steps, ticks, limits, notional, reduce-only, margin) is the engine's, mapped to
Binance's codes. A MARKET order answered with ``newOrderRespType=ACK`` (the default) shows the order as accepted
(status NEW); ``RESULT`` shows it filled.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.domain.values import ZERO, PositionMode
from runtime.sim.binance.codes import BinanceError, ErrorCode, param_not_required
from runtime.sim.binance.endpoint import Call, Security, endpoint
from runtime.sim.binance.params import NewOrderParams, parse_new_order, parse_order_ref, text
from runtime.sim.binance.payloads import order_payload
from runtime.sim.binance.symbols import IDX_OF_POSITION_SIDE, decimals
from runtime.sim.model import Order, OrderRejected, OrderStatus, OrderType, RejectionKind, TimeInForce

if TYPE_CHECKING:
    from runtime.sim.binance.server import BinanceSimulator


class OrderEndpoints:
    def __init__(self, sim: BinanceSimulator) -> None:
        self.sim = sim
        self.engine = sim.engine

    def register(self, app: web.Application) -> None:
        sim = self.sim
        app.router.add_post("/fapi/v1/order", endpoint(sim, Security.SIGNED, self.place))
        app.router.add_delete("/fapi/v1/order", endpoint(sim, Security.SIGNED, self.cancel))
        app.router.add_get("/fapi/v1/order", endpoint(sim, Security.SIGNED, self.query))
        app.router.add_get("/fapi/v1/openOrders", endpoint(sim, Security.SIGNED, self.open_orders))

    def place(self, call: Call) -> dict[str, Any]:
        request = parse_new_order(call.params)
        self._check_precision(request)
        position_idx = self._position_idx(call.who, request)
        order = self.engine.place_order(
            call.who,
            symbol=request.symbol,
            side=request.side,
            qty=request.quantity,
            order_type=OrderType.MARKET if request.order_type == "MARKET" else OrderType.LIMIT,
            price=request.price,
            time_in_force=TimeInForce.IOC if request.time_in_force == "IOC" else TimeInForce.GTC,
            reduce_only=bool(request.reduce_only),
            position_idx=position_idx,
            client_id=request.client_order_id or secrets.token_urlsafe(16)[:22],
        )
        if request.response_type == "ACK":
            order = _as_accepted(order)
        return order_payload(order)

    def cancel(self, call: Call) -> dict[str, Any]:
        ref = parse_order_ref(call.params)
        self.engine.instrument(ref.symbol)
        try:
            order = self.engine.find_order(call.who, order_id=ref.order_id, client_id=ref.client_order_id or "")
            if order.symbol != ref.symbol or not order.is_open:
                raise BinanceError(ErrorCode.CANCEL_REJECTED)
            cancelled = self.engine.cancel_order(call.who, order_id=order.order_id)
        except OrderRejected as exc:
            if exc.kind is RejectionKind.ORDER_NOT_FOUND:
                raise BinanceError(ErrorCode.CANCEL_REJECTED) from None
            raise
        return order_payload(cancelled)

    def query(self, call: Call) -> dict[str, Any]:
        """Look-up by orderId or origClientOrderId (the latest order that used the client id)."""
        ref = parse_order_ref(call.params)
        self.engine.instrument(ref.symbol)
        order = self.engine.find_order(call.who, order_id=ref.order_id, client_id=ref.client_order_id or "")
        if order.symbol != ref.symbol:
            raise BinanceError(ErrorCode.NO_SUCH_ORDER)
        return order_payload(order, with_time=True)

    def open_orders(self, call: Call) -> list[dict[str, Any]]:
        symbol = text(call.params, "symbol") or None
        if symbol is not None:
            self.engine.instrument(symbol)
        return [order_payload(o, with_time=True) for o in self.engine.open_orders(call.who, symbol)]

    # ----- Binance-only rules ------------------------------------------------------------------------------------

    def _check_precision(self, request: NewOrderParams) -> None:
        self.engine.instrument(request.symbol)  # -1121 before anything about the symbol's numbers
        precision = self.sim.precisions[request.symbol]
        # Trailing zeros do not count: "0.0100" is as precise as "0.01".
        too_fine = decimals(request.quantity.normalize()) > precision.quantity
        if request.price is not None and decimals(request.price.normalize()) > precision.price:
            too_fine = True
        if too_fine:
            raise BinanceError(ErrorCode.BAD_PRECISION)

    def _position_idx(self, account: str, request: NewOrderParams) -> int:
        hedge = self.engine.account(account).position_mode is PositionMode.HEDGE
        if hedge and request.reduce_only is not None:
            raise param_not_required("reduceOnly")
        if hedge == (request.position_side == "BOTH"):
            raise BinanceError(ErrorCode.POSITION_SIDE_NOT_MATCH)
        return IDX_OF_POSITION_SIDE[request.position_side]


def _as_accepted(order: Order) -> Order:
    """The order as the venue acknowledged it, before any fill (what an ACK response shows)."""
    return replace(
        order,
        status=OrderStatus.NEW,
        filled_qty=ZERO,
        avg_price=Decimal(0),
        cancel_reason=None,
        updated_ms=order.created_ms,
    )
