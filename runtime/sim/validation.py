"""Generic instrument-rule checks of an order, each failure a ``RejectionKind`` with the numbers involved.

Venue-specific rules (Hyperliquid's 5 significant figures, Binance's client id pattern) stay in the venue layers.
"""

from __future__ import annotations

from decimal import Decimal

from runtime.domain.instruments import InstrumentRules
from runtime.sim.model import OrderRejected, RejectionKind


def on_step(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def check_qty(rules: InstrumentRules, qty: Decimal, *, is_market: bool, reduce_only: bool) -> None:
    if qty <= 0:
        raise OrderRejected(RejectionKind.QTY_NOT_POSITIVE, f"{rules.symbol}: qty must be above 0, got {qty}", qty=qty)
    if not on_step(qty, rules.qty_step):
        raise OrderRejected(
            RejectionKind.QTY_NOT_ON_STEP,
            f"{rules.symbol}: qty {qty} is not a multiple of the qty step {rules.qty_step}",
            qty=qty,
            step=rules.qty_step,
        )
    if qty < rules.min_qty and not (reduce_only and rules.reduce_only_exempt_min_qty):
        raise OrderRejected(
            RejectionKind.BELOW_MIN_QTY,
            f"{rules.symbol}: qty {qty} is below the minimum {rules.min_qty}",
            qty=qty,
            min_qty=rules.min_qty,
        )
    if is_market and qty > rules.max_market_qty:
        raise OrderRejected(
            RejectionKind.ABOVE_MAX_MARKET_QTY,
            f"{rules.symbol}: market qty {qty} is above the maximum {rules.max_market_qty}",
            qty=qty,
            max_qty=rules.max_market_qty,
        )
    if qty > rules.max_qty:
        raise OrderRejected(
            RejectionKind.ABOVE_MAX_QTY,
            f"{rules.symbol}: qty {qty} is above the maximum {rules.max_qty}",
            qty=qty,
            max_qty=rules.max_qty,
        )


def check_price(rules: InstrumentRules, price: Decimal | None) -> Decimal:
    if price is None:
        raise OrderRejected(RejectionKind.PRICE_REQUIRED, f"{rules.symbol}: a limit order needs a price")
    if price <= 0:
        raise OrderRejected(
            RejectionKind.PRICE_NOT_POSITIVE, f"{rules.symbol}: price must be above 0, got {price}", price=price
        )
    if not on_step(price, rules.tick_size):
        raise OrderRejected(
            RejectionKind.PRICE_NOT_ON_TICK,
            f"{rules.symbol}: price {price} is not a multiple of the tick size {rules.tick_size}",
            price=price,
            tick=rules.tick_size,
        )
    return price


def check_notional(rules: InstrumentRules, qty: Decimal, price: Decimal, *, reduce_only: bool) -> None:
    notional = qty * price
    if notional >= rules.min_notional:
        return
    if reduce_only and rules.reduce_only_exempt_min_notional:
        return
    raise OrderRejected(
        RejectionKind.BELOW_MIN_NOTIONAL,
        f"{rules.symbol}: order value {notional} is below the minimum {rules.min_notional}",
        notional=notional,
        min_notional=rules.min_notional,
        qty=qty,
        price=price,
    )
