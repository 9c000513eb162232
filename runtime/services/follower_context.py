"""One follower as the executor sees it: its configuration, its exchange client, and small per-follower caches.

The caches hold what changes rarely and costs a round trip: instrument rules (per venue symbol) and the leverage the
follower was last set to (per venue symbol). A cached leverage is only a hint to skip a redundant ``set_leverage``;
a failed sync forgets it so the next job tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from runtime.config.model import FollowerConfig
from runtime.domain.instruments import InstrumentRules
from runtime.domain.sizing import SizingRule
from runtime.domain.values import PositionMode, Venue
from runtime.ports.exchange import ExchangeClient


@dataclass
class FollowerContext:
    """A follower's config and client. ``position_mode`` is the mode the follower account trades in (Hyperliquid
    is always one-way); it decides whether a hedge master's legs are mirrored or netted."""

    config: FollowerConfig
    client: ExchangeClient
    rules_cache: dict[str, InstrumentRules] = field(default_factory=dict)
    leverage_cache: dict[str, Decimal] = field(default_factory=dict)

    @property
    def follower_id(self) -> str:
        return self.config.id

    @property
    def venue(self) -> Venue:
        return self.config.venue

    @property
    def position_mode(self) -> PositionMode:
        if self.config.venue is Venue.HYPERLIQUID:
            return PositionMode.ONE_WAY
        return self.config.position_mode

    @property
    def is_hedge(self) -> bool:
        return self.position_mode is PositionMode.HEDGE

    @property
    def sizing_rule(self) -> SizingRule:
        return self.config.sizing.rule()

    async def rules(self, venue_symbol: str) -> InstrumentRules:
        """The venue's rules for ``venue_symbol``, read once and cached (the adapter refreshes its own copy)."""
        cached = self.rules_cache.get(venue_symbol)
        if cached is None:
            cached = await self.client.instrument_rules(venue_symbol)
            self.rules_cache[venue_symbol] = cached
        return cached

    def forget_leverage(self, venue_symbol: str) -> None:
        self.leverage_cache.pop(venue_symbol, None)
