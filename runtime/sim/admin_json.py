"""JSON for the admin API: reading admin input (numbers as strings) and rendering accounts, orders and fills."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from runtime.domain.values import decimal_str, to_decimal
from runtime.sim.events import Fill
from runtime.sim.ledger import PositionView, WalletView
from runtime.sim.model import Order


class AdminInputError(ValueError):
    """Bad admin input; answered 400 with the field named."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def require(body: Mapping[str, Any], field: str) -> Any:
    if field not in body or body[field] is None:
        raise AdminInputError(field, "is required")
    return body[field]


def text_field(body: Mapping[str, Any], field: str, *, default: str | None = None) -> str:
    value = body.get(field, default)
    if value is None:
        raise AdminInputError(field, "is required")
    if not isinstance(value, str) or not value:
        raise AdminInputError(field, f"must be a non-empty string, got {value!r}")
    return value


def decimal_field(body: Mapping[str, Any], field: str, *, default: Decimal | None = None) -> Decimal:
    """A number given as a string (or an int); floats are refused so nothing is rounded on the way in."""
    value = body.get(field)
    if value is None:
        if default is None:
            raise AdminInputError(field, 'is required (a number as a string, e.g. "100")')
        return default
    try:
        return to_decimal(value, field=field)
    except (TypeError, ValueError) as exc:
        raise AdminInputError(field, f'must be a number written as a string (e.g. "1.5"): {exc}') from exc


def int_field(body: Mapping[str, Any], field: str, *, default: int | None = None) -> int:
    value = body.get(field)
    if value is None:
        if default is None:
            raise AdminInputError(field, "is required (an integer)")
        return default
    if isinstance(value, bool):
        raise AdminInputError(field, f"must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise AdminInputError(field, f"must be an integer, got {value!r}")


def bool_field(body: Mapping[str, Any], field: str) -> bool:
    value = body.get(field)
    if not isinstance(value, bool):
        raise AdminInputError(field, f"must be true or false, got {value!r}")
    return value


def num(value: Decimal | None) -> str:
    return "" if value is None else decimal_str(value)


def position_json(view: PositionView) -> dict[str, Any]:
    return {
        "symbol": view.symbol,
        "side": view.side.value if view.side is not None else "",
        "size": num(view.size),
        "signed_size": num(view.signed_size),
        "position_idx": view.position_idx,
        "leverage": num(view.leverage),
        "im": num(view.im),
        "entry_price": num(view.entry_price),
        "mark_price": num(view.mark_price),
        "unrealized_pnl": num(view.unrealized_pnl),
        "realized_pnl": num(view.realized_pnl),
        "seq": view.seq,
    }


def order_json(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.order_id),
        "client_id": order.client_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "time_in_force": order.time_in_force.value,
        "qty": num(order.qty),
        "price": num(order.price),
        "reduce_only": order.reduce_only,
        "position_idx": order.position_idx,
        "status": order.status.value,
        "filled_qty": num(order.filled_qty),
        "avg_price": num(order.avg_price),
        "cancel_reason": order.cancel_reason.value if order.cancel_reason is not None else "",
        "origin": order.origin.value,
    }


def fill_json(fill: Fill) -> dict[str, Any]:
    return {
        "exec_id": fill.exec_id,
        "order_id": str(fill.order_id),
        "client_id": fill.client_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "position_idx": fill.position_idx,
        "price": num(fill.price),
        "qty": num(fill.qty),
        "fee": num(fill.fee),
        "exec_type": fill.exec_type.value,
        "closed_size": num(fill.closed_size),
        "realized_pnl": num(fill.realized_pnl),
        "seq": fill.seq,
        "time_ms": fill.time_ms,
    }


def wallet_json(wallet: WalletView) -> dict[str, str]:
    return {
        "balance": num(wallet.wallet_balance),
        "equity": num(wallet.equity),
        "available": num(wallet.available),
        "unrealized_pnl": num(wallet.unrealized_pnl),
        "position_im": num(wallet.position_im),
        "order_im": num(wallet.order_im),
    }
