"""A venue's trading rules for one instrument, as the engine needs them to shape orders."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.values import Venue


@dataclass(frozen=True)
class InstrumentRules:
    """Quantity and price rules of one instrument on one venue, in that venue's own units.

    ``unit_multiplier`` is how many tokens of the base asset one unit of quantity stands for
    (1000 for 1000PEPEUSDT and kPEPE, 1 for BTCUSDT). The reduce-only exemptions say whether the venue lets a
    reduce-only order through below the minimum notional or minimum quantity (Binance: -4164 "unless reduce only").
    """

    venue: Venue
    symbol: str
    qty_step: Decimal
    tick_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    max_market_qty: Decimal
    min_notional: Decimal
    max_leverage: Decimal
    unit_multiplier: Decimal = Decimal(1)
    reduce_only_exempt_min_notional: bool = True
    reduce_only_exempt_min_qty: bool = False

    def __post_init__(self) -> None:
        for name in ("qty_step", "tick_size", "max_qty", "max_market_qty", "max_leverage", "unit_multiplier"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value <= 0:
                raise ValueError(f"{self.venue.value} {self.symbol}: {name} must be a positive Decimal, got {value!r}")
        for name in ("min_qty", "min_notional"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value < 0:
                raise ValueError(f"{self.venue.value} {self.symbol}: {name} must be a Decimal >= 0, got {value!r}")
