"""Parsing of Bybit v5 request parameters into small frozen values, with Bybit's 10001 refusals.

Only the shape is checked here (types, enums, lengths); rules that need the account or the instrument
(position mode, qty step, margin) are checked by the REST handlers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.domain.values import Side, to_decimal
from runtime.sim.bybit.codes import BybitError, RetCode

ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")


def _params_error(message: str) -> BybitError:
    return BybitError(RetCode.PARAMS, message)


def require_linear(params: Mapping[str, Any]) -> None:
    category = params.get("category")
    if category is None or category == "":
        raise _params_error("params error: category is required (this simulator serves category=linear)")
    if category != "linear":
        raise _params_error(f"params error: category {category!r} is not supported; use category=linear")


def _text(params: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _params_error(f"params error: {name} is required")
        return ""
    if not isinstance(value, str):
        raise _params_error(f"params error: {name} must be a string, got {type(value).__name__}")
    return value


def _required_decimal(params: Mapping[str, Any], name: str) -> Decimal:
    number = _decimal(params, name)
    if number is None:
        raise _params_error(f"params error: {name} is required")
    return number


def _decimal(params: Mapping[str, Any], name: str) -> Decimal | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, float):  # pybit casts qty/price to str; other clients may send JSON numbers
        value = repr(value)
    try:
        number = to_decimal(value, field=name)
    except (TypeError, ValueError):
        raise _params_error(f"params error: {name} {value!r} is not a number") from None
    return number


def _bool(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None:
        return False
    raise _params_error(f"params error: {name} must be true or false, got {value!r}")


def _int(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool):
        raise _params_error(f"params error: {name} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _params_error(f"params error: {name} must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class CreateOrderParams:
    symbol: str
    side: Side
    order_type: str  # "Market" | "Limit"
    qty: Decimal
    price: Decimal | None
    time_in_force: str
    position_idx: int
    order_link_id: str
    reduce_only: bool


def parse_create_order(params: Mapping[str, Any]) -> CreateOrderParams:
    require_linear(params)
    symbol = _text(params, "symbol", required=True)
    side_text = _text(params, "side", required=True)
    if side_text not in ("Buy", "Sell"):
        raise _params_error(f"params error: side must be Buy or Sell, got {side_text!r}")
    order_type = _text(params, "orderType", required=True)
    if order_type not in ("Market", "Limit"):
        raise _params_error(f"params error: orderType must be Market or Limit, got {order_type!r}")
    qty = _required_decimal(params, "qty")
    if qty <= 0:
        raise _params_error(f"params error: qty must be positive, got {params.get('qty')!r}")
    price = _decimal(params, "price")
    if order_type == "Limit" and (price is None or price <= 0):
        raise _params_error("params error: a Limit order needs a positive price")
    # Bybit treats every market order as IOC whatever was sent.
    tif = _text(params, "timeInForce") or ("IOC" if order_type == "Market" else "GTC")
    if tif not in TIME_IN_FORCE:
        raise _params_error(f"params error: timeInForce must be one of {', '.join(TIME_IN_FORCE)}, got {tif!r}")
    if order_type == "Market":
        tif = "IOC"
    position_idx = _int(params, "positionIdx", 0)
    if position_idx not in (0, 1, 2):
        raise _params_error(f"params error: positionIdx must be 0, 1 or 2, got {position_idx}")
    link_id = _text(params, "orderLinkId")
    if link_id and not ORDER_LINK_ID.match(link_id):
        raise _params_error("params error: orderLinkId must be 1-36 characters of letters, digits, '_' or '-'")
    return CreateOrderParams(
        symbol=symbol,
        side=Side(side_text),
        order_type=order_type,
        qty=qty,
        price=price if order_type == "Limit" else None,
        time_in_force=tif,
        position_idx=position_idx,
        order_link_id=link_id,
        reduce_only=_bool(params, "reduceOnly"),
    )


@dataclass(frozen=True)
class OrderRef:
    """An order named by ``orderId`` or ``orderLinkId`` (orderId wins when both are given, as on Bybit)."""

    symbol: str
    order_id: str
    order_link_id: str


def parse_order_ref(params: Mapping[str, Any], *, symbol_required: bool) -> OrderRef:
    require_linear(params)
    return OrderRef(
        symbol=_text(params, "symbol", required=symbol_required),
        order_id=_text(params, "orderId"),
        order_link_id=_text(params, "orderLinkId"),
    )


@dataclass(frozen=True)
class SetLeverageParams:
    symbol: str
    buy_leverage: Decimal
    sell_leverage: Decimal


def parse_set_leverage(params: Mapping[str, Any]) -> SetLeverageParams:
    require_linear(params)
    symbol = _text(params, "symbol", required=True)
    buy = _required_decimal(params, "buyLeverage")
    sell = _required_decimal(params, "sellLeverage")
    return SetLeverageParams(symbol=symbol, buy_leverage=buy, sell_leverage=sell)


@dataclass(frozen=True)
class SwitchModeParams:
    symbol: str
    coin: str
    hedge: bool


def parse_switch_mode(params: Mapping[str, Any]) -> SwitchModeParams:
    require_linear(params)
    symbol = _text(params, "symbol")
    coin = _text(params, "coin")
    if not symbol and not coin:
        raise _params_error("params error: either symbol or coin is required")
    mode = _int(params, "mode", -1)
    if mode not in (0, 3):
        raise _params_error(f"params error: mode must be 0 (one-way) or 3 (hedge), got {params.get('mode')!r}")
    return SwitchModeParams(symbol=symbol, coin=coin, hedge=mode == 3)
