"""Bybit v5 return codes and the response envelope.

Bybit answers every REST call with HTTP 200 and a ``retCode`` (0 = success); pybit raises ``InvalidRequestError``
with ``status_code=retCode`` for anything else. The messages follow the public error table; where the exact real
text is unknown they say plainly what went wrong.
"""

from __future__ import annotations

import time
from enum import IntEnum
from typing import Any


class RetCode(IntEnum):
    OK = 0
    PARAMS = 10001
    TIME_WINDOW = 10002
    INVALID_KEY = 10003
    BAD_SIGN = 10004
    PERMISSION_DENIED = 10005
    RATE_LIMIT = 10006
    INTERNAL = 10016
    ROUTE_NOT_FOUND = 10017
    ORDER_NOT_EXISTS = 110001
    INSUFFICIENT_WALLET = 110004
    INSUFFICIENT_AVAILABLE = 110007
    QTY_TRUNCATED_OR_REDUCE_ONLY = 110017
    HAS_POSITION_CANNOT_SWITCH = 110024
    MODE_NOT_MODIFIED = 110025
    OPEN_ORDERS_CANNOT_SWITCH = 110028
    LEVERAGE_NOT_MODIFIED = 110043
    INSUFFICIENT_MARGIN = 110044
    DUPLICATE_ORDER_LINK_ID = 110072
    NOTIONAL_TOO_LOW = 110094


DEFAULT_MESSAGES: dict[RetCode, str] = {
    RetCode.OK: "OK",
    RetCode.PARAMS: "params error",
    RetCode.TIME_WINDOW: "invalid request, please check your server timestamp or recv_window param",
    RetCode.INVALID_KEY: "API key is invalid.",
    RetCode.BAD_SIGN: "error sign! please check your signature generation algorithm",
    RetCode.PERMISSION_DENIED: "Permission denied, please check your API key permissions.",
    RetCode.RATE_LIMIT: "Too many visits. Exceeded the API Rate Limit.",
    RetCode.INTERNAL: "Internal System Error.",
    RetCode.ROUTE_NOT_FOUND: "Route not found.",
    RetCode.ORDER_NOT_EXISTS: "Order does not exist.",
    RetCode.INSUFFICIENT_WALLET: "Insufficient wallet balance",
    RetCode.INSUFFICIENT_AVAILABLE: "ab not enough for new order",
    RetCode.QTY_TRUNCATED_OR_REDUCE_ONLY: "current position is zero, cannot fix reduce-only order qty",
    RetCode.HAS_POSITION_CANNOT_SWITCH: "You have an existing position, so position mode cannot be switched",
    RetCode.MODE_NOT_MODIFIED: "Position mode is not modified",
    RetCode.OPEN_ORDERS_CANNOT_SWITCH: "Open orders exist, so you cannot change position mode",
    RetCode.LEVERAGE_NOT_MODIFIED: "leverage not modified",
    RetCode.INSUFFICIENT_MARGIN: "Insufficient available margin",
    RetCode.DUPLICATE_ORDER_LINK_ID: "OrderLinkedID is duplicate",
    RetCode.NOTIONAL_TOO_LOW: "Order does not meet minimum order value",
}


class BybitError(Exception):
    """A refusal the simulator answers with a non-zero retCode (still HTTP 200, as Bybit does)."""

    def __init__(self, code: RetCode, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES.get(code, code.name)
        super().__init__(f"{int(code)}: {self.message}")


def now_ms() -> int:
    return int(time.time() * 1000)


def envelope(result: dict[str, Any] | None = None, *, code: int = 0, message: str = "OK") -> dict[str, Any]:
    """The v5 response body: ``{"retCode","retMsg","result","retExtInfo","time"}``."""
    return {
        "retCode": int(code),
        "retMsg": message,
        "result": result if result is not None else {},
        "retExtInfo": {},
        "time": now_ms(),
    }


def error_envelope(error: BybitError) -> dict[str, Any]:
    return envelope({}, code=int(error.code), message=error.message)
