"""Why an order was not sent, in a machine code and in a sentence a trader can act on.

Every message names the numbers (quantity, its dollar value, the venue's limit), the venue and symbol, and what to
do about it. The builders here are used by ``runtime.domain.shaping``; callers add reasons of their own (risk
controls, leverage sync) with the same ``Refusal`` shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from runtime.domain.instruments import InstrumentRules
from runtime.domain.values import Side, Venue, decimal_str


class RefusalReason(StrEnum):
    BELOW_MIN_QTY = "below_min_qty"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    ABOVE_MAX_QTY = "above_max_qty"
    ZERO_AFTER_ROUNDING = "zero_after_rounding"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    LEVERAGE_SYNC_FAILED = "leverage_sync_failed"
    # The follower's own risk controls (runtime/domain/risk.py): refusals of growth only, closes always pass.
    COPYING_PAUSED = "copying_paused"
    SYMBOL_NOT_ALLOWED = "symbol_not_allowed"
    MAX_NOTIONAL_EXCEEDED = "max_notional_exceeded"
    LEVERAGE_ABOVE_MAX = "leverage_above_max"


MINIMUM_REASONS = frozenset({RefusalReason.BELOW_MIN_QTY, RefusalReason.BELOW_MIN_NOTIONAL})


@dataclass(frozen=True)
class Refusal:
    """An order the engine decided not to send. ``qty`` is the quantity refused, ``limit`` the venue figure it
    broke (minimum quantity, minimum notional in USDT, maximum quantity, or the follower's available margin),
    ``notional`` the order's value at the mark price when known."""

    reason: RefusalReason
    message: str
    symbol: str = ""
    side: Side | None = None
    qty: Decimal | None = None
    limit: Decimal | None = None
    notional: Decimal | None = None

    @property
    def is_below_minimum(self) -> bool:
        return self.reason in MINIMUM_REASONS


_VENUE_NAMES = {Venue.BYBIT: "Bybit", Venue.BINANCE: "Binance", Venue.HYPERLIQUID: "Hyperliquid"}
_QUOTE_SUFFIXES = ("USDT", "USDC", "PERP", "USD")
_SIZING_HINT = "raise the follower's sizing (margin_pct, multiplier or margin_usdt) or its capital"


def venue_name(venue: Venue) -> str:
    return _VENUE_NAMES.get(venue, venue.value)


def base_asset(symbol: str) -> str:
    """The unit a quantity is counted in, for messages: BTCUSDT -> BTC, 1000PEPEUSDT -> 1000PEPE, BTC -> BTC."""
    for suffix in _QUOTE_SUFFIXES:
        if symbol.endswith(suffix) and len(symbol) > len(suffix):
            return symbol[: -len(suffix)].rstrip("-_/")
    return symbol


def usd(amount: Decimal) -> str:
    """$24.40, $100, $64,000.50; sub-cent amounts keep their digits instead of showing $0.00."""
    if amount == amount.to_integral_value():
        return f"${amount:,.0f}"
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents == 0:
        return f"${decimal_str(amount)}"
    return f"${cents:,.2f}"


def _describe(side: Side, qty: Decimal, reduce_only: bool, symbol: str, notional: Decimal | None) -> str:
    verb = side.value.lower()
    value = f" ({usd(notional)})" if notional is not None else ""
    if reduce_only:
        return f"Reduce-only {verb} of {decimal_str(qty)} {base_asset(symbol)}{value}"
    return f"Order to {verb} {decimal_str(qty)} {base_asset(symbol)}{value}"


def below_minimum(
    reason: RefusalReason,
    rules: InstrumentRules,
    side: Side,
    qty: Decimal,
    notional: Decimal,
    *,
    reduce_only: bool,
    closes_position: bool,
    part_of_split: bool = False,
) -> Refusal:
    """Below the venue's minimum quantity or notional (and not exempt)."""
    venue = venue_name(rules.venue)
    base = base_asset(rules.symbol)
    if reason is RefusalReason.BELOW_MIN_QTY:
        limit = rules.min_qty
        minimum = f"minimum quantity of {decimal_str(limit)} {base}"
    else:
        limit = rules.min_notional
        minimum = f"{usd(limit)} minimum notional"
    what = _describe(side, qty, reduce_only, rules.symbol, notional)
    if part_of_split:
        what = f"{what}, one part of a larger order split to stay within the per-order maximum,"
    head = f"{what} is below {venue}'s {minimum} for {rules.symbol}"
    if not reduce_only:
        tail = f"the follower's capital is too small for this position; {_SIZING_HINT}."
    elif closes_position:
        tail = (
            f"{venue} gives reduce-only orders no exemption, so it cannot be placed and would leave "
            f"{decimal_str(qty)} {base} open as residue; close that position by hand on {venue}."
        )
    else:
        tail = (
            f"{venue} gives reduce-only orders no exemption, so the follower stays {decimal_str(qty)} {base} above "
            f"its target until a later change makes the reduction large enough; reduce it by hand if it must go now."
        )
    return Refusal(reason, f"{head}; {tail}", rules.symbol, side, qty, limit, notional)


def above_max_qty(rules: InstrumentRules, side: Side, qty: Decimal, notional: Decimal) -> Refusal:
    what = _describe(side, qty, False, rules.symbol, notional)
    base = base_asset(rules.symbol)
    message = (
        f"{what} is above {venue_name(rules.venue)}'s maximum of {decimal_str(rules.max_qty)} {base} per order for "
        f"{rules.symbol}; smart reduction can place up to {decimal_str(rules.max_qty)} {base} and record the "
        f"shortfall; lower the follower's sizing if this repeats."
    )
    return Refusal(RefusalReason.ABOVE_MAX_QTY, message, rules.symbol, side, qty, rules.max_qty, notional)


def zero_after_rounding(rules: InstrumentRules, side: Side, requested: Decimal) -> Refusal:
    base = base_asset(rules.symbol)
    message = (
        f"Order to {side.value.lower()} {decimal_str(requested)} {base} rounds to zero at "
        f"{venue_name(rules.venue)}'s quantity step of {decimal_str(rules.qty_step)} {base} for {rules.symbol}; "
        f"nothing was placed; the follower's capital is too small for this change; {_SIZING_HINT}."
    )
    return Refusal(RefusalReason.ZERO_AFTER_ROUNDING, message, rules.symbol, side, requested, rules.qty_step)


def insufficient_margin(
    rules: InstrumentRules,
    side: Side,
    requested: Decimal,
    available_margin: Decimal,
    leverage: Decimal,
    mark_price: Decimal,
    carry: Decimal,
) -> Refusal:
    base = base_asset(rules.symbol)
    message = (
        f"The follower's available margin of {usd(available_margin)} at {decimal_str(leverage)}x carries at most "
        f"{decimal_str(carry)} {base} of {rules.symbol} at {usd(mark_price)}, which rounds to zero at "
        f"{venue_name(rules.venue)}'s quantity step of {decimal_str(rules.qty_step)} {base}; nothing was placed "
        f"(wanted {decimal_str(requested)} {base}); add margin to the follower account or lower its sizing."
    )
    return Refusal(RefusalReason.INSUFFICIENT_MARGIN, message, rules.symbol, side, requested, available_margin)


# ----- the follower's risk controls (runtime/domain/risk.py) ------------------------------------------------------


def copying_paused(follower_id: str, symbol: str, side: Side, qty: Decimal) -> Refusal:
    message = (
        f"Order to {side.value.lower()} {decimal_str(qty)} {base_asset(symbol)} on {symbol} was not sent: copying "
        f"is paused for follower {follower_id} (kill switch); closes and reductions still go through; resume with "
        f"`copytrader follower resume {follower_id} --config FILE`."
    )
    return Refusal(RefusalReason.COPYING_PAUSED, message, symbol, side, qty)


def symbol_not_allowed(
    follower_id: str, master_symbol: str, symbol: str, side: Side, qty: Decimal, *, denied: bool
) -> Refusal:
    rule = "is in its symbols_deny list" if denied else "is not in its symbols_allow list"
    message = (
        f"Order to {side.value.lower()} {decimal_str(qty)} {base_asset(symbol)} on {symbol} was not sent: the "
        f"master's {master_symbol} {rule} for follower {follower_id}; closes still go through; edit the list in "
        f"the config if this symbol should be copied."
    )
    return Refusal(RefusalReason.SYMBOL_NOT_ALLOWED, message, symbol, side, qty)


def max_notional_exceeded(
    follower_id: str, symbol: str, side: Side, qty: Decimal, resulting_notional: Decimal, limit: Decimal
) -> Refusal:
    message = (
        f"Order to {side.value.lower()} {decimal_str(qty)} {base_asset(symbol)} on {symbol} was not sent: the "
        f"position would be worth {usd(resulting_notional)}, above follower {follower_id}'s "
        f"max_notional_per_symbol of {usd(limit)}; raise the cap or lower the follower's sizing."
    )
    return Refusal(RefusalReason.MAX_NOTIONAL_EXCEEDED, message, symbol, side, qty, limit, resulting_notional)


def leverage_above_max(
    follower_id: str, symbol: str, side: Side, qty: Decimal, leverage: Decimal, limit: Decimal
) -> Refusal:
    message = (
        f"Order to {side.value.lower()} {decimal_str(qty)} {base_asset(symbol)} on {symbol} was not sent: the "
        f"position is margined at {decimal_str(leverage)}x, above follower {follower_id}'s max_leverage of "
        f"{decimal_str(limit)}x (setting the leverage down failed or was changed by hand); set it to "
        f"{decimal_str(limit)}x or less on the venue, or raise max_leverage."
    )
    return Refusal(RefusalReason.LEVERAGE_ABOVE_MAX, message, symbol, side, qty, limit)
