"""The simulator core's refusals, answered with Binance's codes and messages."""

from __future__ import annotations

from runtime.sim.binance.codes import (
    BinanceError,
    ErrorCode,
    invalid_leverage,
    mandatory_param,
    min_notional,
)
from runtime.sim.model import OrderRejected, RejectionKind

_PLAIN: dict[RejectionKind, ErrorCode] = {
    RejectionKind.UNKNOWN_ACCOUNT: ErrorCode.REJECTED_MBX_KEY,
    RejectionKind.UNKNOWN_SYMBOL: ErrorCode.BAD_SYMBOL,
    RejectionKind.QTY_NOT_POSITIVE: ErrorCode.QTY_LESS_THAN_ZERO,
    RejectionKind.QTY_NOT_ON_STEP: ErrorCode.QTY_NOT_INCREASED_BY_STEP_SIZE,
    RejectionKind.BELOW_MIN_QTY: ErrorCode.QTY_LESS_THAN_MIN_QTY,
    RejectionKind.ABOVE_MAX_QTY: ErrorCode.QTY_GREATER_THAN_MAX_QTY,
    RejectionKind.ABOVE_MAX_MARKET_QTY: ErrorCode.QTY_GREATER_THAN_MAX_QTY,
    RejectionKind.PRICE_NOT_POSITIVE: ErrorCode.PRICE_LESS_THAN_ZERO,
    RejectionKind.PRICE_NOT_ON_TICK: ErrorCode.PRICE_NOT_INCREASED_BY_TICK_SIZE,
    RejectionKind.REDUCE_ONLY_ZERO_POSITION: ErrorCode.REDUCE_ONLY_REJECT,
    RejectionKind.REDUCE_ONLY_WOULD_INCREASE: ErrorCode.REDUCE_ONLY_REJECT,
    RejectionKind.REDUCE_ONLY_EXCEEDS_POSITION: ErrorCode.REDUCE_ONLY_REJECT,
    RejectionKind.NO_POSITION: ErrorCode.REDUCE_ONLY_REJECT,
    RejectionKind.POSITION_IDX_MISMATCH: ErrorCode.POSITION_SIDE_NOT_MATCH,
    RejectionKind.INSUFFICIENT_MARGIN: ErrorCode.MARGIN_NOT_SUFFICIENT,
    RejectionKind.DUPLICATE_CLIENT_ID: ErrorCode.DUPLICATED_CLIENT_ORDER_ID,
    RejectionKind.ORDER_NOT_FOUND: ErrorCode.NO_SUCH_ORDER,
    RejectionKind.MODE_CHANGE_WITH_POSITION: ErrorCode.POSITION_SIDE_CHANGE_EXISTS_QUANTITY,
    RejectionKind.MODE_CHANGE_WITH_ORDERS: ErrorCode.POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS,
}


def binance_error(rejection: OrderRejected) -> BinanceError:
    """The Binance answer to a refusal by the matching engine."""
    kind = rejection.kind
    if kind is RejectionKind.BELOW_MIN_NOTIONAL:
        return min_notional(rejection.details.get("min_notional", "5"))
    if kind is RejectionKind.LEVERAGE_OUT_OF_RANGE:
        return invalid_leverage(rejection.details.get("leverage", "?"))
    if kind is RejectionKind.PRICE_REQUIRED:
        return mandatory_param("price")
    code = _PLAIN.get(kind)
    if code is None:
        return BinanceError(ErrorCode.UNKNOWN, rejection.message)
    return BinanceError(code)
