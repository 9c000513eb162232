"""Rounding a quantity to a venue's step and a price to its tick, with the direction always spelled out.

Each helper works on the exact integer quotient and remainder of ``value / step`` (Decimal ``divmod`` is exact), in a
wide local context, so a value a hair below a step boundary can never be pushed over it by the context's own
rounding. The direction is never implied: a size that grows a position and one that shrinks it round differently,
and the caller says which.
"""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext
from enum import StrEnum

from runtime.domain.values import ZERO

# Enough digits for any quantity or price a venue lists divided by the finest step (1e-8) with room to spare.
_WIDE_PRECISION = 60

# A computed target closer than this fraction of a step to a step boundary is taken as on it. Decimal keeps 28
# significant digits, so k = 200/1200 is stored as 0.1666...667 and a target that is mathematically exactly on a
# step can land 1e-27 beside it; rounded toward zero, that hair would cost the follower a whole step. A trillionth
# of a step is far below anything a venue can fill and far above 28-digit noise.
SNAP_TOLERANCE = Decimal("1e-12")


class Rounding(StrEnum):
    FLOOR = "floor"  # toward minus infinity
    CEILING = "ceiling"  # toward plus infinity
    TOWARD_ZERO = "toward_zero"  # shrinks the magnitude: growth orders, never over-expose
    AWAY_FROM_ZERO = "away_from_zero"  # grows the magnitude: reductions, never leave residue
    HALF_UP = "half_up"  # nearest, ties away from zero: only the naive baseline uses it


def _check_step(step: Decimal, what: str) -> None:
    if not isinstance(step, Decimal) or not step.is_finite() or step <= 0:
        raise ValueError(f"{what} must be a positive Decimal, got {step!r}")


def round_to_step(value: Decimal, step: Decimal, rounding: Rounding) -> Decimal:
    """``value`` rounded to a whole multiple of ``step`` in the given direction. Exact, Decimal in, Decimal out."""
    _check_step(step, "step")
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"cannot round {value!r}: a finite Decimal is required")
    with localcontext() as ctx:
        ctx.prec = _WIDE_PRECISION
        ctx.traps[Inexact] = True  # any inexact step in here would be a silent error: make it loud instead
        quotient, remainder = divmod(value, step)  # quotient truncated toward zero, remainder has value's sign
        if remainder == 0:
            return _clean_zero(quotient * step)
        toward_zero = quotient * step
        away = toward_zero + (step if value > 0 else -step)
        if rounding is Rounding.TOWARD_ZERO:
            return _clean_zero(toward_zero)
        if rounding is Rounding.AWAY_FROM_ZERO:
            return away
        if rounding is Rounding.FLOOR:
            return _clean_zero(toward_zero) if value > 0 else away
        if rounding is Rounding.CEILING:
            return away if value > 0 else _clean_zero(toward_zero)
        if rounding is Rounding.HALF_UP:
            return away if abs(remainder) * 2 >= step else _clean_zero(toward_zero)
    raise ValueError(f"unknown rounding {rounding!r}")


def _clean_zero(value: Decimal) -> Decimal:
    # "-0.000" compares equal to zero but prints badly in messages and logs.
    return ZERO if value == 0 else value


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    return round_to_step(value, step, Rounding.FLOOR)


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    return round_to_step(value, step, Rounding.CEILING)


def toward_zero_to_step(value: Decimal, step: Decimal) -> Decimal:
    return round_to_step(value, step, Rounding.TOWARD_ZERO)


def away_from_zero_to_step(value: Decimal, step: Decimal) -> Decimal:
    return round_to_step(value, step, Rounding.AWAY_FROM_ZERO)


def half_up_to_step(value: Decimal, step: Decimal) -> Decimal:
    return round_to_step(value, step, Rounding.HALF_UP)


def snap_to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` moved onto the nearest step boundary when it is within ``SNAP_TOLERANCE`` steps of it, else
    unchanged. Applied to computed targets only, before the directional rounding."""
    nearest = round_to_step(value, step, Rounding.HALF_UP)
    with localcontext() as ctx:
        ctx.prec = _WIDE_PRECISION
        return nearest if abs(value - nearest) <= step * SNAP_TOLERANCE else value


def is_on_step(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole multiple of ``step`` (zero included)."""
    _check_step(step, "step")
    with localcontext() as ctx:
        ctx.prec = _WIDE_PRECISION
        return value % step == ZERO


def steps_in(value: Decimal, step: Decimal) -> int:
    """How many whole steps ``value`` holds; ``value`` must already be on the step (used for exact splitting)."""
    if not is_on_step(value, step):
        raise ValueError(f"{value} is not a multiple of the step {step}")
    with localcontext() as ctx:
        ctx.prec = _WIDE_PRECISION
        return int(value // step)


def round_price_to_tick(price: Decimal, tick: Decimal, rounding: Rounding) -> Decimal:
    """A price on the venue's tick. The caller picks the direction: e.g. a buy's protective limit rounds up
    (CEILING) so it still crosses the book, a sell's rounds down (FLOOR)."""
    _check_step(tick, "tick size")
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise ValueError(f"price must be a positive Decimal, got {price!r}")
    rounded = round_to_step(price, tick, rounding)
    if rounded <= 0:
        raise ValueError(f"price {price} rounds to {rounded} at tick {tick}; a price must stay above zero")
    return rounded
