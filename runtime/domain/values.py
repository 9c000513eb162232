"""Small value types shared by every part of the engine.

Every price, size, equity, margin and ratio is a ``Decimal``. ``to_decimal`` is the single door through which
wire values (strings, ints) become numbers; it refuses floats so a float can never sneak onto a sizing path.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import IntEnum, StrEnum

ZERO = Decimal(0)


class Venue(StrEnum):
    BYBIT = "bybit"
    BINANCE = "binance"
    HYPERLIQUID = "hyperliquid"


class Side(StrEnum):
    BUY = "Buy"
    SELL = "Sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @staticmethod
    def for_delta(delta: Decimal) -> Side:
        """The side of an order that moves a signed position by ``delta`` (must be non-zero)."""
        if delta == 0:
            raise ValueError("a zero delta has no side")
        return Side.BUY if delta > 0 else Side.SELL


class PositionMode(StrEnum):
    ONE_WAY = "one_way"
    HEDGE = "hedge"


class PositionIdx(IntEnum):
    """Bybit's leg index: 0 one-way, 1 hedge long, 2 hedge short."""

    ONE_WAY = 0
    HEDGE_LONG = 1
    HEDGE_SHORT = 2


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert a wire value to Decimal. Strings, ints and Decimals only: a float is a bug on a money path."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise TypeError(f"{field}: refusing {type(value).__name__} {value!r}; pass a string or Decimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return ZERO
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"{field}: {value!r} is not a number") from exc
        if not result.is_finite():
            raise ValueError(f"{field}: {value!r} is not a finite number")
        return result
    raise TypeError(f"{field}: cannot read a number from {type(value).__name__}")


def decimal_str(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros ("0.001", "12", never "1E+1")."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text
