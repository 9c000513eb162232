"""The copy ratio k and the ideal follower target (design brief section 3). Pure, Decimal only.

k is computed once per (follower, lifecycle) when the master's leg opens (or flips), persisted, and reused for every
later change of that lifecycle. The ideal target of a change is ``master_size x k x unit_ratio``; turning it into
orders (rounding, reduce-only, flips) is ``runtime.domain.planning``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.events import Lifecycle
from runtime.domain.values import ZERO, decimal_str


class SizingError(ValueError):
    """A copy ratio cannot be computed: the message names the missing or impossible input and what to do."""


def _require_positive(value: Decimal, what: str, hint: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise SizingError(f"{what} must be a positive number, got {value!r}; {hint}")


@dataclass(frozen=True)
class MarginRatio:
    """The original system's rule (the default): the follower puts ``margin_pct`` of its equity behind a position
    the master opened with its initial margin, so ``k = follower_equity x margin_pct / open_im``.

    ``margin_pct`` is a fraction of equity: 0.10 means 10%. More than 1 (100%) is refused: no account can put more
    than its whole equity up as margin, and the usual cause is writing 10 for 10%.
    """

    margin_pct: Decimal

    def __post_init__(self) -> None:
        _require_positive(self.margin_pct, "margin_ratio.margin_pct", "use a fraction of equity such as 0.10 for 10%")
        if self.margin_pct > 1:
            raise SizingError(
                f"margin_ratio.margin_pct is a fraction of equity (0.10 = 10%), got {decimal_str(self.margin_pct)}; "
                f"did you mean {decimal_str(self.margin_pct / 100)}?"
            )


@dataclass(frozen=True)
class EquityRatio:
    """Mirror the master's exposure relative to account size: ``k = multiplier x follower_equity / open_equity``
    (multiplier 1 = the same fraction of equity as the master; 2 = twice as aggressive)."""

    multiplier: Decimal

    def __post_init__(self) -> None:
        _require_positive(self.multiplier, "equity_ratio.multiplier", "1 copies the master's exposure per dollar")


@dataclass(frozen=True)
class FixedMargin:
    """Put a fixed USDT margin behind every copied position: ``k = margin_usdt / open_im``."""

    margin_usdt: Decimal

    def __post_init__(self) -> None:
        _require_positive(self.margin_usdt, "fixed_margin.margin_usdt", "give the USDT margin per copied position")


SizingRule = MarginRatio | EquityRatio | FixedMargin


def copy_ratio(rule: SizingRule, follower_equity: Decimal, lifecycle: Lifecycle) -> Decimal:
    """The follower's copy ratio k for one master lifecycle (computed at the open or flip, then kept).

    Raises ``SizingError`` when the follower's equity or the master's figure the rule divides by is not positive.
    """
    _require_positive(
        follower_equity,
        "follower equity",
        "the follower account has no usable balance; fund it or check that the API key reads the right account",
    )
    if isinstance(rule, EquityRatio):
        _require_positive(
            lifecycle.open_equity,
            f"the master's equity at the open of lifecycle {lifecycle.id}",
            "the listener did not record it; use margin_ratio or fixed_margin, or re-sync the master",
        )
        return rule.multiplier * follower_equity / lifecycle.open_equity
    _require_positive(
        lifecycle.open_im,
        f"the master's initial margin at the open of lifecycle {lifecycle.id}",
        "the position message carried no positionIM; re-sync the master before copying this position",
    )
    if isinstance(rule, MarginRatio):
        return follower_equity * rule.margin_pct / lifecycle.open_im
    return rule.margin_usdt / lifecycle.open_im


def unit_ratio_for(master_unit_multiplier: Decimal, follower_unit_multiplier: Decimal) -> Decimal:
    """Follower units per master unit: tokens per master unit / tokens per follower unit.

    Master 1000PEPEUSDT (1000 tokens per unit) into a venue listing raw PEPE (1 token per unit) -> 1000; master
    PEPE into Hyperliquid kPEPE -> 0.001.
    """
    _require_positive(master_unit_multiplier, "the master's unit multiplier", "check the symbol mapping")
    _require_positive(follower_unit_multiplier, "the follower's unit multiplier", "check the symbol mapping")
    return master_unit_multiplier / follower_unit_multiplier


def ideal_target(master_size: Decimal, k: Decimal, unit_ratio: Decimal = Decimal(1)) -> Decimal:
    """The exact (unrounded) signed follower position for a signed master size, in follower venue units."""
    _require_positive(k, "the copy ratio k", "compute it with copy_ratio at the lifecycle's open")
    _require_positive(unit_ratio, "the unit ratio", "compute it with unit_ratio_for from the two venues' multipliers")
    if master_size == 0:
        return ZERO
    return master_size * k * unit_ratio


@dataclass(frozen=True)
class LegTarget:
    """One master leg's contribution to a follower target: its signed size and that leg's lifecycle k."""

    master_size: Decimal
    k: Decimal
    unit_ratio: Decimal = Decimal(1)

    @property
    def ideal(self) -> Decimal:
        return ideal_target(self.master_size, self.k, self.unit_ratio)


def net_target(legs: Iterable[LegTarget]) -> Decimal:
    """A one-way follower of a hedge-mode master holds the net of both legs: ``sum(leg_size x k_leg x unit_ratio)``.

    Each leg keeps its own k (its own lifecycle); the sum is rounded once, by the plan, not leg by leg, so the two
    legs' rounding cannot add up. Leave flat legs out (they have no lifecycle and contribute nothing).
    """
    total = ZERO
    for leg in legs:
        total += leg.ideal
    return total
