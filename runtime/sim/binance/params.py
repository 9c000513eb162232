"""Parsing of Binance USD-M request parameters into small frozen values, with Binance's refusals.

Parameters arrive in the query string (GET) or as a form-encoded body (POST/PUT/DELETE; python-binance sends DELETE
with a body too); both are merged, the body winning. Only the shape is checked here (presence, enums, numbers,
the client id pattern); rules that need the account or the instrument (position mode, steps, margin) are checked
by the order rules and the REST handlers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl

from runtime.domain.values import Side, to_decimal
from runtime.sim.binance.codes import (
    BinanceError,
    ErrorCode,
    invalid_param,
    mandatory_param,
    param_not_required,
)

CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
ORDER_TYPES = ("MARKET", "LIMIT")
# Binance also knows FOK, GTX (post-only) and GTD; the simulator's matching has resting and immediate-or-cancel.
TIME_IN_FORCE = ("GTC", "IOC")
POSITION_SIDES = ("BOTH", "LONG", "SHORT")
RESPONSE_TYPES = ("ACK", "RESULT")
MARGIN_TYPES = ("ISOLATED", "CROSSED")


def merge_params(raw_query: str, raw_body: str) -> dict[str, str]:
    """Query and form body as one mapping (blank values kept, so "sent but empty" can be told from "not sent")."""
    merged = dict(parse_qsl(raw_query, keep_blank_values=True))
    merged.update(parse_qsl(raw_body, keep_blank_values=True))
    return merged


def text(params: Mapping[str, str], name: str, *, required: bool = False) -> str:
    value = params.get(name, "")
    if value == "" and required:
        raise mandatory_param(name)
    return value


def decimal_param(params: Mapping[str, str], name: str, *, required: bool = False) -> Decimal | None:
    value = params.get(name, "")
    if value == "":
        if required:
            raise mandatory_param(name)
        return None
    try:
        return to_decimal(value, field=name)
    except (TypeError, ValueError):
        raise mandatory_param(name) from None


def bool_param(params: Mapping[str, str], name: str) -> bool | None:
    """ "true"/"false" in any case (python-binance sends Python bools as "True"/"False"); None when not sent."""
    value = params.get(name, "")
    if value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise invalid_param(name)
    return value.lower() == "true"


def _choice(params: Mapping[str, str], name: str, choices: tuple[str, ...], default: str, code: ErrorCode) -> str:
    value = params.get(name, "") or default
    if value not in choices:
        raise BinanceError(code, f"Invalid {name} {value!r}; the simulator accepts {', '.join(choices)}.")
    return value


@dataclass(frozen=True)
class NewOrderParams:
    symbol: str
    side: Side
    order_type: str  # MARKET | LIMIT
    quantity: Decimal
    price: Decimal | None
    time_in_force: str | None
    position_side: str  # BOTH | LONG | SHORT
    reduce_only: bool | None  # None when the parameter was not sent (hedge mode refuses it even as "false")
    client_order_id: str | None  # None: the venue makes one up
    response_type: str  # ACK | RESULT


def parse_new_order(params: Mapping[str, str]) -> NewOrderParams:
    symbol = text(params, "symbol", required=True)
    side_text = text(params, "side", required=True)
    if side_text not in ("BUY", "SELL"):
        raise BinanceError(ErrorCode.INVALID_SIDE)
    order_type = text(params, "type", required=True)
    if order_type not in ORDER_TYPES:
        raise BinanceError(
            ErrorCode.INVALID_ORDER_TYPE,
            f"Invalid orderType {order_type!r}; the simulator's /fapi/v1/order accepts MARKET and LIMIT.",
        )
    quantity = decimal_param(params, "quantity", required=True)
    assert quantity is not None
    if quantity <= 0:
        raise BinanceError(ErrorCode.QTY_LESS_THAN_ZERO)
    price = decimal_param(params, "price", required=order_type == "LIMIT")
    time_in_force: str | None = None
    if order_type == "LIMIT":
        assert price is not None
        if price <= 0:
            raise BinanceError(ErrorCode.PRICE_LESS_THAN_ZERO)
        time_in_force = text(params, "timeInForce", required=True)
        if time_in_force not in TIME_IN_FORCE:
            raise BinanceError(
                ErrorCode.INVALID_TIF, f"Invalid timeInForce {time_in_force!r}; the simulator accepts GTC and IOC."
            )
    elif price is not None:
        raise param_not_required("price")
    client_order_id = params.get("newClientOrderId", "") or None
    if client_order_id is not None and not CLIENT_ORDER_ID.match(client_order_id):
        raise BinanceError(ErrorCode.INVALID_CL_ORD_ID_LEN)
    return NewOrderParams(
        symbol=symbol,
        side=Side.BUY if side_text == "BUY" else Side.SELL,
        order_type=order_type,
        quantity=quantity,
        price=price,
        time_in_force=time_in_force,
        position_side=_choice(params, "positionSide", POSITION_SIDES, "BOTH", ErrorCode.INVALID_PARAMETER),
        reduce_only=bool_param(params, "reduceOnly"),
        client_order_id=client_order_id,
        response_type=_choice(params, "newOrderRespType", RESPONSE_TYPES, "ACK", ErrorCode.INVALID_PARAMETER),
    )


@dataclass(frozen=True)
class OrderRef:
    """An order named by ``orderId`` or ``origClientOrderId`` (orderId wins when both are given)."""

    symbol: str
    order_id: int | None
    client_order_id: str | None


def parse_order_ref(params: Mapping[str, str]) -> OrderRef:
    symbol = text(params, "symbol", required=True)
    order_id_text = params.get("orderId", "")
    client_order_id = params.get("origClientOrderId", "") or None
    if order_id_text == "" and client_order_id is None:
        raise BinanceError(
            ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    order_id: int | None = None
    if order_id_text != "":
        try:
            order_id = int(order_id_text)
        except ValueError:
            raise mandatory_param("orderId") from None
    return OrderRef(symbol=symbol, order_id=order_id, client_order_id=client_order_id)


@dataclass(frozen=True)
class LeverageParams:
    symbol: str
    leverage: int


def parse_leverage(params: Mapping[str, str]) -> LeverageParams:
    symbol = text(params, "symbol", required=True)
    raw = text(params, "leverage", required=True)
    try:
        leverage = int(raw)
    except ValueError:
        raise mandatory_param("leverage") from None
    return LeverageParams(symbol=symbol, leverage=leverage)


@dataclass(frozen=True)
class MarginTypeParams:
    symbol: str
    margin_type: str  # ISOLATED | CROSSED


def parse_margin_type(params: Mapping[str, str]) -> MarginTypeParams:
    symbol = text(params, "symbol", required=True)
    margin_type = text(params, "marginType", required=True).upper()
    if margin_type not in MARGIN_TYPES:
        raise invalid_param("marginType")
    return MarginTypeParams(symbol=symbol, margin_type=margin_type)


def parse_dual_side(params: Mapping[str, str]) -> bool:
    dual = bool_param(params, "dualSidePosition")
    if dual is None:
        raise mandatory_param("dualSidePosition")
    return dual
