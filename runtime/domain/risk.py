"""A follower's own risk controls, checked on every planned order (issue 6). Pure, Decimal only.

The controls: the kill switch (paused), symbol allow/deny lists, a maximum notional per symbol (on the position the
order would leave), a maximum leverage, and whether leverage follows the master or is fixed.

One rule runs through all of them: **they only ever stop growth**. A reduce-only order, or one that shrinks the
position without crossing zero, always passes, even when paused and even on a denied symbol: a control that could
trap a trader in a position would be a risk of its own. (A flip's closing half passes; its opening half is growth
and is checked.)

Each check returns None (passes) or a ``Refusal`` with its own ``RefusalReason``, so the refusal is recorded in the
order log with a message saying what to do. ``check_order`` runs them all, cheapest and most decisive first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from runtime.domain import refusals
from runtime.domain.refusals import Refusal
from runtime.domain.values import ZERO, Side


class LeverageMode(StrEnum):
    FOLLOW = "follow"  # the master's leverage, capped
    FIXED = "fixed"  # always ``fixed_leverage``, capped


@dataclass(frozen=True)
class RiskLimits:
    """One follower's limits. Symbols are the master's (Bybit) names, upper case; an empty allow list allows all,
    and deny wins over allow. ``max_notional_per_symbol`` is in USDT; None = no cap."""

    follower_id: str
    symbols_allow: frozenset[str] = frozenset()
    symbols_deny: frozenset[str] = frozenset()
    max_notional_per_symbol: Decimal | None = None
    max_leverage: Decimal | None = None
    leverage_mode: LeverageMode = LeverageMode.FOLLOW
    fixed_leverage: Decimal | None = None
    paused: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols_allow", _upper(self.symbols_allow))
        object.__setattr__(self, "symbols_deny", _upper(self.symbols_deny))
        for name in ("max_notional_per_symbol", "max_leverage", "fixed_leverage"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Decimal) or value <= 0):
                raise ValueError(f"follower {self.follower_id}: {name} must be a positive Decimal, got {value!r}")
        if self.leverage_mode is LeverageMode.FIXED and self.fixed_leverage is None:
            raise ValueError(f"follower {self.follower_id}: leverage mode fixed needs fixed_leverage")

    def allows_symbol(self, master_symbol: str) -> bool:
        symbol = master_symbol.upper()
        if symbol in self.symbols_deny:
            return False
        return not self.symbols_allow or symbol in self.symbols_allow


def _upper(symbols: Iterable[str]) -> frozenset[str]:
    return frozenset(symbol.strip().upper() for symbol in symbols)


@dataclass(frozen=True)
class PlannedOrder:
    """An order the executor is about to send, with what the controls need to judge it.

    ``current_size`` is the follower leg's signed size *before this order* (for a flip's opening half: 0, the
    close having gone first). ``mark_price`` is per venue unit, in USDT. ``venue_leverage`` is the leverage the
    venue will margin the position at (after leverage sync), when known.
    """

    master_symbol: str
    symbol: str  # the follower venue's symbol
    side: Side
    qty: Decimal
    current_size: Decimal
    mark_price: Decimal
    reduce_only: bool = False
    venue_leverage: Decimal | None = None

    @property
    def resulting_size(self) -> Decimal:
        return self.current_size + self.qty * self.side.sign

    @property
    def is_reduction(self) -> bool:
        """Reduce-only, or shrinking without crossing zero: such an order never adds risk."""
        if self.reduce_only:
            return True
        after = self.resulting_size
        return abs(after) <= abs(self.current_size) and after * self.current_size >= 0

    @property
    def resulting_notional(self) -> Decimal:
        return abs(self.resulting_size) * self.mark_price


def check_kill_switch(limits: RiskLimits, order: PlannedOrder) -> Refusal | None:
    """Paused: no new exposure at all; closes and reductions pass so the trader can always get out."""
    if not limits.paused or order.is_reduction:
        return None
    return refusals.copying_paused(limits.follower_id, order.symbol, order.side, order.qty)


def check_symbol(limits: RiskLimits, order: PlannedOrder) -> Refusal | None:
    """A symbol outside the allow list or on the deny list is never grown; a position already held there (the list
    edited while it was open) can still be reduced and closed."""
    if order.is_reduction or limits.allows_symbol(order.master_symbol):
        return None
    denied = order.master_symbol.upper() in limits.symbols_deny
    return refusals.symbol_not_allowed(
        limits.follower_id, order.master_symbol, order.symbol, order.side, order.qty, denied=denied
    )


def check_max_notional(limits: RiskLimits, order: PlannedOrder) -> Refusal | None:
    """The position this order leaves may not be worth more than ``max_notional_per_symbol`` at the mark."""
    cap = limits.max_notional_per_symbol
    if cap is None or order.is_reduction:
        return None
    notional = order.resulting_notional
    if notional <= cap:
        return None
    return refusals.max_notional_exceeded(limits.follower_id, order.symbol, order.side, order.qty, notional, cap)


def check_leverage(limits: RiskLimits, order: PlannedOrder) -> Refusal | None:
    """Growth is refused while the venue margins the position above ``max_leverage`` (leverage sync could not
    bring it down, or someone raised it by hand): the cap would otherwise be a promise the venue does not keep."""
    cap = limits.max_leverage
    leverage = order.venue_leverage
    if cap is None or leverage is None or leverage <= cap or order.is_reduction:
        return None
    return refusals.leverage_above_max(limits.follower_id, order.symbol, order.side, order.qty, leverage, cap)


def check_order(limits: RiskLimits, order: PlannedOrder) -> Refusal | None:
    """Every control, in order: kill switch, symbol lists, leverage, notional. The first refusal wins."""
    for check in (check_kill_switch, check_symbol, check_leverage, check_max_notional):
        refusal = check(limits, order)
        if refusal is not None:
            return refusal
    return None


def max_growth_qty(limits: RiskLimits, order: PlannedOrder, qty_step: Decimal) -> Decimal | None:
    """The largest part of a growth order that keeps the position within ``max_notional_per_symbol``, rounded
    down to the step (0 when nothing fits); None when there is no cap or the order is a reduction.

    For an executor that would rather place what fits (and record the shortfall) than refuse the whole order.
    """
    cap = limits.max_notional_per_symbol
    if cap is None or order.is_reduction:
        return None
    if qty_step <= 0 or order.mark_price <= 0:
        raise ValueError("max_growth_qty needs a positive qty_step and mark_price")
    max_size = cap / order.mark_price
    # Growth moves away from zero on the order's side; the current size counts only if it is on that side.
    held = order.current_size * order.side.sign
    room = max_size - max(held, ZERO)
    if room <= 0:
        return ZERO
    steps = (room / qty_step).to_integral_value(rounding=ROUND_DOWN)
    return min(order.qty, steps * qty_step)


def leverage_to_set(
    limits: RiskLimits, master_leverage: Decimal, venue_max_leverage: Decimal | None = None
) -> Decimal | None:
    """The leverage leverage-sync should set: the master's (follow) or the fixed value, capped by the follower's
    ``max_leverage`` and the venue's maximum. None when following a master whose leverage is unknown (0)."""
    if limits.leverage_mode is LeverageMode.FIXED:
        desired = limits.fixed_leverage
    else:
        desired = master_leverage if master_leverage > 0 else None
    if desired is None:
        return None
    for cap in (limits.max_leverage, venue_max_leverage):
        if cap is not None and cap > 0:
            desired = min(desired, cap)
    return desired
