"""Parsing Hyperliquid order wires and checking them against the venue's precision rules.

Perp prices: at most 5 significant figures and at most ``6 - szDecimals`` decimals; an integer price is always
valid whatever its number of figures. Sizes: at most ``szDecimals`` decimals. Both arrive as decimal strings (the
SDK's ``float_to_wire``), and are read as ``Decimal`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

MAX_SIGNIFICANT_FIGURES = 5
PERP_MAX_DECIMALS = 6
CLOID_PATTERN = re.compile(r"^0x[0-9a-fA-F]{32}$")


class Tif(StrEnum):
    GTC = "Gtc"
    IOC = "Ioc"
    ALO = "Alo"


class WireError(Exception):
    """An order or cancel element that cannot be read; the message says which field."""


@dataclass(frozen=True)
class OrderWire:
    """One element of ``action.orders``, with numbers as Decimal."""

    asset: int
    is_buy: bool
    price: Decimal
    size: Decimal
    reduce_only: bool
    tif: Tif
    cloid: str | None


def _decimal(value: object, name: str) -> Decimal:
    if not isinstance(value, str):
        raise WireError(f"order field '{name}' must be a decimal string, got {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise WireError(f"order field '{name}' is not a number: {value!r}") from None
    if not number.is_finite():
        raise WireError(f"order field '{name}' must be finite: {value!r}")
    return number


def parse_order_wire(raw: object) -> OrderWire:
    if not isinstance(raw, dict):
        raise WireError("each order must be an object with a, b, p, s, r, t")
    asset, is_buy, reduce_only = raw.get("a"), raw.get("b"), raw.get("r")
    if isinstance(asset, bool) or not isinstance(asset, int):
        raise WireError("order field 'a' (asset id) must be an integer")
    if not isinstance(is_buy, bool) or not isinstance(reduce_only, bool):
        raise WireError("order fields 'b' (is buy) and 'r' (reduce only) must be booleans")
    order_type = raw.get("t")
    if not isinstance(order_type, dict) or not isinstance(order_type.get("limit"), dict):
        raise WireError("only limit orders ('t': {'limit': {'tif': ...}}) are simulated; trigger orders are not")
    tif_raw = order_type["limit"].get("tif")
    try:
        tif = Tif(tif_raw)
    except ValueError:
        raise WireError(f"unknown tif {tif_raw!r}: use Gtc, Ioc or Alo") from None
    cloid = raw.get("c")
    if cloid is not None and (not isinstance(cloid, str) or not CLOID_PATTERN.match(cloid)):
        raise WireError(f"cloid must be '0x' followed by 32 hex characters, got {cloid!r}")
    return OrderWire(
        asset=asset,
        is_buy=is_buy,
        price=_decimal(raw.get("p"), "p"),
        size=_decimal(raw.get("s"), "s"),
        reduce_only=reduce_only,
        tif=tif,
        cloid=cloid.lower() if cloid is not None else None,
    )


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite numbers only
    return max(0, -exponent)


def significant_figures(value: Decimal) -> int:
    return len(value.normalize().as_tuple().digits)


def price_is_valid(price: Decimal, sz_decimals: int) -> bool:
    """True when ``price`` is a positive perp price the venue accepts for an asset with ``sz_decimals``."""
    if price <= 0:
        return False
    if price == price.to_integral_value():
        return True
    return significant_figures(price) <= MAX_SIGNIFICANT_FIGURES and decimals_of(price) <= (
        PERP_MAX_DECIMALS - sz_decimals
    )


def size_is_valid(size: Decimal, sz_decimals: int) -> bool:
    return size > 0 and decimals_of(size) <= sz_decimals


def parse_cancel(raw: object) -> tuple[int, int]:
    """One element of a ``cancel`` action: ``{"a": asset, "o": oid}``."""
    if not isinstance(raw, dict):
        raise WireError("each cancel must be an object with a and o")
    asset, oid = raw.get("a"), raw.get("o")
    if isinstance(asset, bool) or not isinstance(asset, int) or isinstance(oid, bool) or not isinstance(oid, int):
        raise WireError("cancel fields 'a' (asset id) and 'o' (order id) must be integers")
    return asset, oid


def parse_cancel_by_cloid(raw: object) -> tuple[int, str]:
    """One element of a ``cancelByCloid`` action: ``{"asset": asset, "cloid": "0x..."}``."""
    if not isinstance(raw, dict):
        raise WireError("each cancel must be an object with asset and cloid")
    asset, cloid = raw.get("asset"), raw.get("cloid")
    if isinstance(asset, bool) or not isinstance(asset, int):
        raise WireError("cancel field 'asset' must be an integer")
    if not isinstance(cloid, str) or not CLOID_PATTERN.match(cloid):
        raise WireError(f"cloid must be '0x' followed by 32 hex characters, got {cloid!r}")
    return asset, cloid.lower()


def list_field(action: dict[str, Any], name: str) -> list[Any]:
    value = action.get(name)
    if not isinstance(value, list) or not value:
        raise WireError(f"action field '{name}' must be a non-empty list")
    return value
