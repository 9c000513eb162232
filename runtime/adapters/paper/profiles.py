"""What a paper venue does that the simulator core leaves to each venue layer.

The core (``runtime.sim.matching.MatchingEngine``) checks every catalogue rule: quantity step, minimum and maximum
quantity, maximum market quantity, minimum notional, reduce-only direction, position index against the mode,
duplicate client ids and margin. A few rules live in the venue layers of the simulators instead; a paper venue
applies the same ones, so paper trading refuses what the simulator (and the venue) would:

- the matching settings: reduce-only orders larger than the position are capped on all three; a client id is
  unique forever on Bybit and Hyperliquid, but only among *open* orders on Binance (a filled market order's id can
  be reused, which is why the executor looks an id up before re-sending);
- whole-number leverage on Binance and Hyperliquid (a fractional value is floored, as their adapters do);
- Hyperliquid has no hedge mode, and a reduce-only order that closes only part of a position must be worth $10.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.values import Venue
from runtime.sim.accounts import EngineSettings
from runtime.sim.model import DuplicateScope, ReduceOnlyPolicy


@dataclass(frozen=True)
class VenueProfile:
    venue: Venue
    duplicate_scope: DuplicateScope
    whole_leverage: bool
    hedge_mode: bool
    partial_reduce_min_value: Decimal | None = None  # Hyperliquid: a partial close must be worth this much

    def engine_settings(self) -> EngineSettings:
        return EngineSettings(reduce_only_policy=ReduceOnlyPolicy.CAP, duplicate_scope=self.duplicate_scope)


PROFILES: dict[Venue, VenueProfile] = {
    Venue.BYBIT: VenueProfile(Venue.BYBIT, DuplicateScope.ALL_ORDERS, whole_leverage=False, hedge_mode=True),
    Venue.BINANCE: VenueProfile(Venue.BINANCE, DuplicateScope.OPEN_ORDERS, whole_leverage=True, hedge_mode=True),
    Venue.HYPERLIQUID: VenueProfile(
        Venue.HYPERLIQUID,
        DuplicateScope.ALL_ORDERS,
        whole_leverage=True,
        hedge_mode=False,
        partial_reduce_min_value=Decimal(10),
    ),
}


def profile_for(venue: Venue) -> VenueProfile:
    return PROFILES[venue]
