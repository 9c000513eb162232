"""Fitting an order intent to a venue's rules (design brief section 4): step, minimums, maximums, splits, and the
smart reduction that shrinks a growth order to what the follower can carry.

``shape_order`` either returns the order to send (split into children of at most the venue's market-order maximum)
or an honest ``Refusal`` saying why not. Reduce-only orders are never refused for size above a maximum (they are
split instead) and are exempt from the minimums exactly where the venue says so in ``InstrumentRules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runtime.domain import refusals
from runtime.domain.instruments import InstrumentRules
from runtime.domain.planning import OrderIntent, OrderPhase
from runtime.domain.refusals import Refusal, RefusalReason
from runtime.domain.rounding import floor_to_step, steps_in, toward_zero_to_step
from runtime.domain.values import Side


@dataclass(frozen=True)
class ShapedOrder:
    """An order ready to send: ``qty`` in ``child_qtys`` parts, each on the step and within the per-order maximum.

    ``requested_qty`` is what the plan asked for; ``shortfall`` is what smart reduction (or a step re-check)
    left out, to be recorded.
    """

    symbol: str
    side: Side
    qty: Decimal
    reduce_only: bool
    phase: OrderPhase
    child_qtys: tuple[Decimal, ...]
    mark_price: Decimal
    requested_qty: Decimal
    closes_position: bool = False

    @property
    def notional(self) -> Decimal:
        return self.qty * self.mark_price

    @property
    def shortfall(self) -> Decimal:
        return self.requested_qty - self.qty

    @property
    def signed_qty(self) -> Decimal:
        return self.qty * self.side.sign


def child_order_cap(rules: InstrumentRules) -> Decimal:
    """The largest single market order: the smaller of the two venue maxima, on the step."""
    cap = floor_to_step(min(rules.max_market_qty, rules.max_qty), rules.qty_step)
    if cap <= 0:
        raise ValueError(
            f"{rules.venue.value} {rules.symbol}: max market qty {rules.max_market_qty} is below one quantity step "
            f"{rules.qty_step}; the instrument rules are wrong, refresh them from the venue"
        )
    return cap


def split_quantity(qty: Decimal, cap: Decimal, step: Decimal) -> tuple[Decimal, ...]:
    """Split ``qty`` (on the step) into the fewest parts of at most ``cap``, as equal as the step allows.

    Equal parts rather than full parts plus a remainder: a remainder can be tiny and fall under the venue's
    minimum, equal parts are each at least about half the cap. Largest parts first.
    """
    total_steps = steps_in(qty, step)
    cap_steps = steps_in(cap, step)
    if total_steps <= cap_steps:
        return (qty,)
    parts = -(-total_steps // cap_steps)  # ceiling division on ints: exact
    base, extra = divmod(total_steps, parts)
    return tuple(step * (base + 1) for _ in range(extra)) + tuple(step * base for _ in range(parts - extra))


def _check_mark(mark_price: Decimal) -> None:
    if not isinstance(mark_price, Decimal) or not mark_price.is_finite() or mark_price <= 0:
        raise ValueError(f"a positive mark price is required to check notional limits, got {mark_price!r}")


def _below_minimum(
    intent: OrderIntent, qty: Decimal, rules: InstrumentRules, mark_price: Decimal, *, part_of_split: bool
) -> Refusal | None:
    notional = qty * mark_price
    exempt_qty = intent.reduce_only and rules.reduce_only_exempt_min_qty
    exempt_notional = intent.reduce_only and rules.reduce_only_exempt_min_notional
    for reason, below, exempt in (
        (RefusalReason.BELOW_MIN_QTY, qty < rules.min_qty, exempt_qty),
        (RefusalReason.BELOW_MIN_NOTIONAL, notional < rules.min_notional, exempt_notional),
    ):
        if below and not exempt:
            return refusals.below_minimum(
                reason,
                rules,
                intent.side,
                qty,
                notional,
                reduce_only=intent.reduce_only,
                closes_position=intent.closes_position,
                part_of_split=part_of_split,
            )
    return None


def _shape(intent: OrderIntent, qty: Decimal, rules: InstrumentRules, mark_price: Decimal) -> ShapedOrder | Refusal:
    """Shape ``qty`` of ``intent`` (``qty`` may be smaller than the intent's: smart reduction)."""
    qty = toward_zero_to_step(qty, rules.qty_step)  # the plan already rounded; a re-check never grows an order
    if qty <= 0:
        return refusals.zero_after_rounding(rules, intent.side, intent.qty)
    if not intent.reduce_only and qty > rules.max_qty:
        return refusals.above_max_qty(rules, intent.side, qty, qty * mark_price)
    whole = _below_minimum(intent, qty, rules, mark_price, part_of_split=False)
    if whole is not None:
        return whole
    children = split_quantity(qty, child_order_cap(rules), rules.qty_step)
    smallest = _below_minimum(intent, children[-1], rules, mark_price, part_of_split=True)
    if smallest is not None:
        return smallest
    return ShapedOrder(
        symbol=rules.symbol,
        side=intent.side,
        qty=qty,
        reduce_only=intent.reduce_only,
        phase=intent.phase,
        child_qtys=children,
        mark_price=mark_price,
        requested_qty=intent.qty,
        closes_position=intent.closes_position and qty == intent.qty,
    )


def shape_order(intent: OrderIntent, rules: InstrumentRules, mark_price: Decimal) -> ShapedOrder | Refusal:
    """The order to send for ``intent`` on this venue, or why it cannot be sent.

    Checks, in order: the step (re-rounded toward zero), the maximum quantity (growth only), the minimum quantity
    and minimum notional (``qty x mark_price``; reduce-only orders exempt where the venue exempts them), then splits
    into parts of at most the per-order market maximum.
    """
    _check_mark(mark_price)
    return _shape(intent, intent.qty, rules, mark_price)


def smart_reduce(
    intent: OrderIntent,
    rules: InstrumentRules,
    mark_price: Decimal,
    available_margin: Decimal,
    leverage: Decimal,
    *,
    headroom: Decimal = Decimal(1),
) -> ShapedOrder | Refusal:
    """Shrink a growth order the venue refused (for margin or maximum size) to the largest the follower can carry.

    The largest quantity is ``available_margin x leverage x headroom / mark_price``, at most the venue's maximum
    quantity and at most what was asked, rounded DOWN to the step. ``headroom`` (default 1, the plain formula) lets
    a caller keep a margin for fees and slippage, e.g. 0.98. The result's ``shortfall`` is what could not be placed.
    A Refusal when nothing is left after rounding, or what is left is below the venue's minimums.
    Reduce-only orders are never shrunk this way: a close must take what it was asked to.
    """
    if intent.reduce_only:
        raise ValueError("smart reduction only shrinks growth orders; a reduce-only order must close what it was asked")
    _check_mark(mark_price)
    for name, value in (("leverage", leverage), ("headroom", headroom)):
        if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
            raise ValueError(f"smart reduction needs a positive {name}, got {value!r}")
    margin = max(available_margin, Decimal(0))
    carry = margin * leverage * headroom / mark_price
    largest = floor_to_step(min(carry, rules.max_qty, intent.qty), rules.qty_step)
    if largest <= 0:
        if carry < rules.qty_step:
            return refusals.insufficient_margin(
                rules, intent.side, intent.qty, available_margin, leverage, mark_price, carry
            )
        return refusals.zero_after_rounding(rules, intent.side, intent.qty)
    return _shape(intent, largest, rules, mark_price)
