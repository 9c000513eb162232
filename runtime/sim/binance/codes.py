"""Binance USD-M futures error codes, their HTTP statuses and the ``{"code","msg"}`` error body.

Binance answers a refused call with a 4xx status and ``{"code": <negative int>, "msg": "..."}``; python-binance
raises ``BinanceAPIException`` with ``.code``, ``.message`` and ``.status_code`` for every non-2xx answer. The
messages below follow the public USD-M error table; where it has placeholders the simulator fills them in.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ErrorCode(IntEnum):
    UNKNOWN = -1000
    DISCONNECTED = -1001
    TOO_MANY_REQUESTS = -1003
    INVALID_TIMESTAMP = -1021
    INVALID_SIGNATURE = -1022
    ILLEGAL_CHARS = -1100
    MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
    PARAM_NOT_REQUIRED = -1106
    BAD_PRECISION = -1111
    INVALID_TIF = -1115
    INVALID_ORDER_TYPE = -1116
    INVALID_SIDE = -1117
    BAD_SYMBOL = -1121
    INVALID_LISTEN_KEY = -1125
    INVALID_PARAMETER = -1130
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    BAD_API_KEY_FMT = -2014
    REJECTED_MBX_KEY = -2015
    MARGIN_NOT_SUFFICIENT = -2019
    REDUCE_ONLY_REJECT = -2022
    MIN_LEVERAGE_RATIO = -2028
    PRICE_LESS_THAN_ZERO = -4001
    QTY_LESS_THAN_ZERO = -4003
    QTY_LESS_THAN_MIN_QTY = -4004
    QTY_GREATER_THAN_MAX_QTY = -4005
    PRICE_NOT_INCREASED_BY_TICK_SIZE = -4014
    INVALID_CL_ORD_ID_LEN = -4015
    QTY_NOT_INCREASED_BY_STEP_SIZE = -4023
    INVALID_LEVERAGE = -4028
    NO_NEED_TO_CHANGE_MARGIN_TYPE = -4046
    MARGIN_TYPE_EXISTS_OPEN_ORDERS = -4047
    MARGIN_TYPE_EXISTS_QUANTITY = -4048
    NO_NEED_TO_CHANGE_POSITION_SIDE = -4059
    POSITION_SIDE_NOT_MATCH = -4061
    POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS = -4067
    POSITION_SIDE_CHANGE_EXISTS_QUANTITY = -4068
    DUPLICATED_CLIENT_ORDER_ID = -4116
    MIN_NOTIONAL = -4164


DEFAULT_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.UNKNOWN: "An unknown error occured while processing the request.",
    ErrorCode.DISCONNECTED: "Internal error; unable to process your request. Please try again.",
    ErrorCode.TOO_MANY_REQUESTS: "Too many requests; current limit is 2400 requests per minute. "
    "Please use the websocket for live updates to avoid polling the API.",
    ErrorCode.INVALID_TIMESTAMP: "Timestamp for this request is outside of the recvWindow.",
    ErrorCode.INVALID_SIGNATURE: "Signature for this request is not valid.",
    ErrorCode.ILLEGAL_CHARS: "Illegal characters found in a parameter.",
    ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED: "A mandatory parameter was not sent, was empty/null, or malformed.",
    ErrorCode.PARAM_NOT_REQUIRED: "A parameter was sent when not required.",
    ErrorCode.BAD_PRECISION: "Precision is over the maximum defined for this asset.",
    ErrorCode.INVALID_TIF: "Invalid timeInForce.",
    ErrorCode.INVALID_ORDER_TYPE: "Invalid orderType.",
    ErrorCode.INVALID_SIDE: "Invalid side.",
    ErrorCode.BAD_SYMBOL: "Invalid symbol.",
    ErrorCode.INVALID_LISTEN_KEY: "This listenKey does not exist.",
    ErrorCode.INVALID_PARAMETER: "Data sent for a parameter is not valid.",
    ErrorCode.CANCEL_REJECTED: "Unknown order sent.",
    ErrorCode.NO_SUCH_ORDER: "Order does not exist.",
    ErrorCode.BAD_API_KEY_FMT: "API-key format invalid.",
    ErrorCode.REJECTED_MBX_KEY: "Invalid API-key, IP, or permissions for action.",
    ErrorCode.MARGIN_NOT_SUFFICIENT: "Margin is insufficient.",
    ErrorCode.REDUCE_ONLY_REJECT: "ReduceOnly Order is rejected.",
    ErrorCode.MIN_LEVERAGE_RATIO: "Leverage is smaller than permitted: insufficient margin balance.",
    ErrorCode.PRICE_LESS_THAN_ZERO: "Price less than 0.",
    ErrorCode.QTY_LESS_THAN_ZERO: "Quantity less than zero.",
    ErrorCode.QTY_LESS_THAN_MIN_QTY: "Quantity less than min quantity.",
    ErrorCode.QTY_GREATER_THAN_MAX_QTY: "Quantity greater than max quantity.",
    ErrorCode.PRICE_NOT_INCREASED_BY_TICK_SIZE: "Price not increased by tick size.",
    ErrorCode.INVALID_CL_ORD_ID_LEN: "Client order id is not valid.",
    ErrorCode.QTY_NOT_INCREASED_BY_STEP_SIZE: "Qty not increased by step size.",
    ErrorCode.INVALID_LEVERAGE: "Invalid leverage",
    ErrorCode.NO_NEED_TO_CHANGE_MARGIN_TYPE: "No need to change margin type.",
    ErrorCode.MARGIN_TYPE_EXISTS_OPEN_ORDERS: "Margin type cannot be changed if there exists open orders.",
    ErrorCode.MARGIN_TYPE_EXISTS_QUANTITY: "Margin type cannot be changed if there exists position.",
    ErrorCode.NO_NEED_TO_CHANGE_POSITION_SIDE: "No need to change position side.",
    ErrorCode.POSITION_SIDE_NOT_MATCH: "Order's position side does not match user's setting.",
    ErrorCode.POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS: "Position side cannot be changed if there exists open orders.",
    ErrorCode.POSITION_SIDE_CHANGE_EXISTS_QUANTITY: "Position side cannot be changed if there exists position.",
    ErrorCode.DUPLICATED_CLIENT_ORDER_ID: "ClientOrderId is duplicated.",
    ErrorCode.MIN_NOTIONAL: "Order's notional must be no smaller than 5 (unless you choose reduce only).",
}

# Binance answers key problems with 401 and request-rate problems with 429; everything else the client got
# wrong is a 400. (5xx statuses come only from fault injection.)
_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_API_KEY_FMT: 401,
    ErrorCode.REJECTED_MBX_KEY: 401,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.UNKNOWN: 500,
    ErrorCode.DISCONNECTED: 503,
}


class BinanceError(Exception):
    """A refusal the simulator answers with an HTTP error status and ``{"code","msg"}``."""

    def __init__(self, code: ErrorCode, message: str | None = None, *, http_status: int | None = None) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES[code]
        self.http_status = http_status if http_status is not None else _HTTP_STATUS.get(code, 400)
        super().__init__(f"{int(code)}: {self.message}")


def error_body(error: BinanceError) -> dict[str, Any]:
    return {"code": int(error.code), "msg": error.message}


def mandatory_param(name: str) -> BinanceError:
    return BinanceError(
        ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def invalid_param(name: str) -> BinanceError:
    return BinanceError(ErrorCode.INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.")


def param_not_required(name: str) -> BinanceError:
    # Binance lower-cases the name in this message ("Parameter 'reduceonly' sent when not required.").
    return BinanceError(ErrorCode.PARAM_NOT_REQUIRED, f"Parameter '{name.lower()}' sent when not required.")


def min_notional(minimum: str) -> BinanceError:
    return BinanceError(
        ErrorCode.MIN_NOTIONAL, f"Order's notional must be no smaller than {minimum} (unless you choose reduce only)."
    )


def invalid_leverage(leverage: str) -> BinanceError:
    return BinanceError(ErrorCode.INVALID_LEVERAGE, f"Leverage {leverage} is not valid")
