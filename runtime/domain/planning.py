"""From an ideal follower target to order intents: the rounding directions of design brief section 3.

The order is always ``target - current`` with ``current`` read live, so nothing accumulates: a failed or partial
earlier order is corrected by the next change. The directions:

- growth of |position| rounds toward zero (never over-expose);
- a reduction rounds away from zero, is capped at the current size and is reduce-only (never leave residue);
- ideal 0 closes the whole position;
- a sign change (flip) closes the whole position reduce-only, then opens the new side rounded toward zero.

On a venue that does not exempt reduce-only orders from its minimum quantity, a reduction is also rounded up to that
minimum, and widened to a full close when it would leave less than the minimum behind (a remainder the venue would
never let us close). Either adjustment is flagged on the plan so it can be recorded.

The ideal is first snapped onto a step boundary when it lies within a trillionth of a step of one
(``rounding.SNAP_TOLERANCE``): that distance is Decimal's 28-digit noise, not a size anyone asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from runtime.domain.instruments import InstrumentRules
from runtime.domain.rounding import away_from_zero_to_step, snap_to_step, toward_zero_to_step
from runtime.domain.values import ZERO, Side


class OrderPhase(StrEnum):
    CLOSE = "close"  # reduce-only: shrinks or closes the current position
    OPEN = "open"  # grows the position (or opens the new side after a flip's close)


@dataclass(frozen=True)
class OrderIntent:
    """One order the plan wants: side, a positive quantity on the step, whether it is reduce-only, and its phase.

    ``closes_position`` marks a reduce-only order that takes the whole current position (a full close or a flip's
    first half): refusing it would leave the position open, which shaping says in its message.
    """

    side: Side
    qty: Decimal
    reduce_only: bool
    phase: OrderPhase
    closes_position: bool = False

    @property
    def signed_qty(self) -> Decimal:
        return self.qty * self.side.sign


@dataclass(frozen=True)
class OrderPlan:
    """The orders that move ``current`` to ``target`` (the ideal rounded by the rules above), in execution order.

    ``ideal`` is the target asked for, after the snap onto a step boundary described above.
    ``intents`` is empty when there is nothing to do. ``min_qty_adjusted`` says a reduction was rounded up to the
    venue's minimum quantity or widened to a full close, so the follower sits further below the ideal than one step.
    """

    ideal: Decimal
    current: Decimal
    target: Decimal
    intents: tuple[OrderIntent, ...]
    min_qty_adjusted: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.intents

    @property
    def is_flip(self) -> bool:
        """The ideal is on the other side of the current position (the open half may have rounded to nothing)."""
        return self.ideal != 0 and self.current != 0 and (self.ideal > 0) != (self.current > 0)

    @property
    def growth_below_one_step(self) -> bool:
        """The ideal asks for more than the follower holds, but less than one step more: nothing can be sent."""
        same_side = self.current == 0 or (self.ideal > 0) == (self.current > 0)
        return self.is_empty and same_side and abs(self.ideal) > abs(self.current)


def _close_all(current: Decimal) -> OrderIntent:
    return OrderIntent(Side.for_delta(-current), abs(current), True, OrderPhase.CLOSE, closes_position=True)


def _open(ideal: Decimal, already: Decimal, step: Decimal) -> OrderIntent | None:
    """Growth from ``already`` (same sign or zero) toward ``ideal``, rounded toward zero; None below one step."""
    qty = toward_zero_to_step(abs(ideal) - abs(already), step)
    if qty <= 0:
        return None
    return OrderIntent(Side.for_delta(ideal), qty, False, OrderPhase.OPEN)


def _reduction_qty(ideal: Decimal, current: Decimal, rules: InstrumentRules) -> tuple[Decimal, bool]:
    """How much to take off ``current`` (same sign as ``ideal``, larger), and whether min qty changed it."""
    held = abs(current)
    qty = min(away_from_zero_to_step(held - abs(ideal), rules.qty_step), held)
    if qty == held or rules.reduce_only_exempt_min_qty:
        return qty, False
    adjusted = max(qty, rules.min_qty)  # below the minimum the venue refuses it: round further away from zero
    if held - adjusted < rules.min_qty:  # the remainder could never be closed on its own: take it all
        adjusted = held
    return adjusted, adjusted != qty


def plan_orders(ideal_target: Decimal, current: Decimal, rules: InstrumentRules) -> OrderPlan:
    """The orders that bring a follower holding ``current`` to ``ideal_target`` (both signed, venue units).

    On a flip, ``ideal_target`` must already use the new lifecycle's fresh k: the caller computes k for the new
    side (``copy_ratio`` with the follower's equity now and the new lifecycle's open figures) before calling. The
    plan then holds the reduce-only close of the old side followed by the open of the new side.
    """
    step = rules.qty_step
    ideal_target = snap_to_step(ideal_target, step)  # 28-digit noise must not cost a whole step (see rounding)
    if ideal_target == 0:
        if current == 0:
            return OrderPlan(ideal_target, current, ZERO, ())
        return OrderPlan(ideal_target, current, ZERO, (_close_all(current),))

    if current != 0 and (current > 0) != (ideal_target > 0):
        opening = _open(ideal_target, ZERO, step)
        intents = (_close_all(current),) if opening is None else (_close_all(current), opening)
        target = ZERO if opening is None else opening.signed_qty
        return OrderPlan(ideal_target, current, target, intents)

    if abs(ideal_target) >= abs(current):
        growth = _open(ideal_target, current, step)
        if growth is None:
            return OrderPlan(ideal_target, current, current, ())
        return OrderPlan(ideal_target, current, current + growth.signed_qty, (growth,))

    qty, adjusted = _reduction_qty(ideal_target, current, rules)
    closing = OrderIntent(Side.for_delta(-current), qty, True, OrderPhase.CLOSE, closes_position=qty == abs(current))
    return OrderPlan(ideal_target, current, current + closing.signed_qty, (closing,), min_qty_adjusted=adjusted)
