"""Position snapshots: what a follower holds on one leg, and the key of a master leg."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.values import ZERO, PositionIdx, Venue


@dataclass(frozen=True)
class LegKey:
    """One leg of the master: a symbol and Bybit's positionIdx (0 one-way, 1 hedge long, 2 hedge short)."""

    symbol: str
    position_idx: PositionIdx = PositionIdx.ONE_WAY

    def __str__(self) -> str:
        return f"{self.symbol}:{int(self.position_idx)}"


@dataclass(frozen=True)
class FollowerPosition:
    """A follower's live position on one leg, signed: long > 0, short < 0, flat = 0. In venue units."""

    venue: Venue
    symbol: str
    size: Decimal
    position_idx: PositionIdx = PositionIdx.ONE_WAY
    entry_price: Decimal = ZERO
    leverage: Decimal = ZERO
    initial_margin: Decimal = ZERO

    @property
    def is_flat(self) -> bool:
        return self.size == 0
