"""Leverage sync (design brief section 4): before growing a position, set the follower's leverage for the symbol.

The leverage wanted is the master's (``leverage = "follow"``) or the configured fixed value, capped by the venue's
maximum for the symbol and the follower's ``max_leverage``. The call is skipped when the follower was already set to
that value by this process (cached per follower and symbol); the venues' "not modified" answers are success (the
adapters absorb them). When the call fails, growth orders are held back with the reason and reductions and closes
still go through: a follower must never be trapped in a position because its leverage could not be changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.errors import ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.refusals import Refusal, RefusalReason
from runtime.domain.values import ZERO, Side, decimal_str
from runtime.services.follower_context import FollowerContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeverageState:
    """The outcome of a sync: the leverage the follower is set to (ZERO = unknown), and whether growth is blocked."""

    leverage: Decimal = ZERO
    blocked: bool = False
    message: str = ""
    called: bool = False  # a set_leverage call went out (False when cached or not needed)

    def refusal(self, symbol: str, side: Side, qty: Decimal) -> Refusal:
        """The refusal of a growth order while the sync is blocked."""
        return Refusal(RefusalReason.LEVERAGE_SYNC_FAILED, self.message, symbol, side, qty)


def desired_leverage(ctx: FollowerContext, master_leverage: Decimal, rules: InstrumentRules) -> Decimal | None:
    """The leverage to set, or None when following a master whose leverage is unknown (0)."""
    settings = ctx.config.leverage
    following = master_leverage if master_leverage > 0 else None
    desired = settings.value if settings.mode == "fixed" else following
    if desired is None:
        return None
    for cap in (ctx.config.max_leverage, rules.max_leverage):
        if cap is not None and cap > 0:
            desired = min(desired, cap)
    return desired


async def sync_leverage(
    ctx: FollowerContext, venue_symbol: str, master_leverage: Decimal, rules: InstrumentRules
) -> LeverageState:
    """Set the follower's leverage for ``venue_symbol`` when it differs from what this process last set."""
    desired = desired_leverage(ctx, master_leverage, rules)
    if desired is None:
        return LeverageState(ctx.leverage_cache.get(venue_symbol, ZERO))
    if ctx.leverage_cache.get(venue_symbol) == desired:
        return LeverageState(desired)
    try:
        await ctx.client.set_leverage(venue_symbol, desired)
    except Exception as exc:  # any failure blocks growth; the reason is recorded, never raised
        ctx.forget_leverage(venue_symbol)
        detail = str(exc) if isinstance(exc, ExchangeError) else f"{type(exc).__name__}: {exc}"
        message = (
            f"Could not set {ctx.venue.value} {venue_symbol} leverage to {decimal_str(desired)}x for follower "
            f"{ctx.follower_id} ({detail}); opens and increases are held back until it succeeds, closes still go "
            f"through. Check the follower's margin mode, open orders and key permissions on {ctx.venue.value}."
        )
        log.warning("%s", message)
        return LeverageState(ZERO, blocked=True, message=message, called=True)
    ctx.leverage_cache[venue_symbol] = desired
    return LeverageState(desired, called=True)
