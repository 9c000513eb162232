"""The core's rejection kinds in Bybit's words: each ``OrderRejected`` becomes the retCode Bybit answers with."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from runtime.sim.bybit.codes import BybitError, RetCode
from runtime.sim.model import OrderRejected, RejectionKind

_CODES: dict[RejectionKind, RetCode] = {
    RejectionKind.UNKNOWN_ACCOUNT: RetCode.INVALID_KEY,
    RejectionKind.UNKNOWN_SYMBOL: RetCode.PARAMS,
    RejectionKind.QTY_NOT_POSITIVE: RetCode.PARAMS,
    RejectionKind.QTY_NOT_ON_STEP: RetCode.PARAMS,
    RejectionKind.BELOW_MIN_QTY: RetCode.PARAMS,
    RejectionKind.ABOVE_MAX_QTY: RetCode.PARAMS,
    RejectionKind.ABOVE_MAX_MARKET_QTY: RetCode.PARAMS,
    RejectionKind.BELOW_MIN_NOTIONAL: RetCode.NOTIONAL_TOO_LOW,
    RejectionKind.PRICE_REQUIRED: RetCode.PARAMS,
    RejectionKind.PRICE_NOT_POSITIVE: RetCode.PARAMS,
    RejectionKind.PRICE_NOT_ON_TICK: RetCode.PARAMS,
    RejectionKind.REDUCE_ONLY_ZERO_POSITION: RetCode.QTY_TRUNCATED_OR_REDUCE_ONLY,
    RejectionKind.REDUCE_ONLY_WOULD_INCREASE: RetCode.QTY_TRUNCATED_OR_REDUCE_ONLY,
    RejectionKind.REDUCE_ONLY_EXCEEDS_POSITION: RetCode.QTY_TRUNCATED_OR_REDUCE_ONLY,
    RejectionKind.POSITION_IDX_MISMATCH: RetCode.PARAMS,
    RejectionKind.INSUFFICIENT_MARGIN: RetCode.INSUFFICIENT_AVAILABLE,
    RejectionKind.DUPLICATE_CLIENT_ID: RetCode.DUPLICATE_ORDER_LINK_ID,
    RejectionKind.ORDER_NOT_FOUND: RetCode.ORDER_NOT_EXISTS,
    RejectionKind.LEVERAGE_OUT_OF_RANGE: RetCode.PARAMS,
    RejectionKind.MODE_CHANGE_WITH_POSITION: RetCode.HAS_POSITION_CANNOT_SWITCH,
    RejectionKind.MODE_CHANGE_WITH_ORDERS: RetCode.OPEN_ORDERS_CANNOT_SWITCH,
    RejectionKind.NO_POSITION: RetCode.PARAMS,
}

# Bybit's own wording where it is known; the core's message (with the numbers) follows after a colon.
_PREFIXES: dict[RejectionKind, str] = {
    RejectionKind.POSITION_IDX_MISMATCH: "position idx not match position mode",
    RejectionKind.QTY_NOT_ON_STEP: "Qty invalid",
    RejectionKind.BELOW_MIN_QTY: "Qty invalid",
    RejectionKind.ABOVE_MAX_MARKET_QTY: "The quantity of a single market order must be less than the maximum allowed",
    RejectionKind.ABOVE_MAX_QTY: "The quantity of a single order must be less than the maximum allowed",
    RejectionKind.BELOW_MIN_NOTIONAL: "The order value is below the minimum order value",
    RejectionKind.INSUFFICIENT_MARGIN: "ab not enough for new order",
    RejectionKind.DUPLICATE_CLIENT_ID: "OrderLinkedID is duplicate",
    RejectionKind.ORDER_NOT_FOUND: "order not exists or too late to cancel",
    RejectionKind.REDUCE_ONLY_ZERO_POSITION: "current position is zero, cannot fix reduce-only order qty",
    RejectionKind.REDUCE_ONLY_WOULD_INCREASE: "Reduce-only rule not satisfied",
    RejectionKind.MODE_CHANGE_WITH_POSITION: "You have an existing position, so position mode cannot be switched",
    RejectionKind.MODE_CHANGE_WITH_ORDERS: "Open orders exist, so you cannot change position mode",
    RejectionKind.LEVERAGE_OUT_OF_RANGE: "leverage invalid",
    RejectionKind.UNKNOWN_SYMBOL: "params error: symbol invalid",
}


def to_bybit(rejected: OrderRejected) -> BybitError:
    if _truncates_to_zero(rejected):
        message = f"orderQty will be truncated to zero: {rejected.message}"
        return BybitError(RetCode.QTY_TRUNCATED_OR_REDUCE_ONLY, message)
    code = _CODES.get(rejected.kind, RetCode.PARAMS)
    prefix = _PREFIXES.get(rejected.kind)
    message = f"{prefix}: {rejected.message}" if prefix else rejected.message
    return BybitError(code, message)


def _truncates_to_zero(rejected: OrderRejected) -> bool:
    """A qty below one step rounds down to nothing: Bybit answers 110017 there, 10001 for other off-step sizes."""
    if rejected.kind is not RejectionKind.QTY_NOT_ON_STEP:
        return False
    try:
        return Decimal(rejected.details["qty"]) < Decimal(rejected.details["step"])
    except (KeyError, InvalidOperation):
        return False
