"""Deterministic client order ids (brief section 5): the same order intent always gets the same id.

The id is a sha256 hash of (follower, lifecycle, master seq, master leg, part), formatted per venue, so a retried,
replayed or duplicated job re-sends the same id and the venue (or our store's claim) recognises it:

- Bybit ``orderLinkId``: ``ct`` + 32 lowercase hex = 34 chars, within ``[A-Za-z0-9_-]{1,36}``;
- Binance ``newClientOrderId``: the same text, within ``^[.A-Z:/a-z0-9_-]{1,36}$``;
- Hyperliquid ``cloid``: ``0x`` + 32 lowercase hex (16 bytes).

128 bits of the hash are kept: collisions are out of reach for any number of orders a copier will ever place.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from runtime.domain.positions import LegKey
from runtime.domain.values import Venue

ID_PREFIX = "ct"  # "copy trader": makes our orders recognisable in a venue's order history

_BYBIT_ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_BINANCE_CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_HYPERLIQUID_CLOID = re.compile(r"^0x[0-9a-f]{32}$")


class OrderPhase(StrEnum):
    """Which order of a change: a plain adjustment, the close or open half of a flip, or an audit heal."""

    ADJUST = "adjust"
    CLOSE = "close"
    OPEN = "open"
    SYNC = "sync"  # an audit heal order; ``child`` can carry the attempt so a new heal gets a new id


@dataclass(frozen=True)
class OrderPart:
    """The part of a change an order carries out: its phase and, for a split order, the child index."""

    phase: OrderPhase = OrderPhase.ADJUST
    child: int = 0

    def __post_init__(self) -> None:
        if self.child < 0:
            raise ValueError(f"order part child index must be >= 0, got {self.child}")


@dataclass(frozen=True)
class ClientOrderKey:
    """Everything that makes one follower order unique. ``lifecycle_id`` is None only when the master is flat with
    no lifecycle (an audit heal closing a follower's extra position)."""

    follower_id: str
    lifecycle_id: str | None
    master_seq: int
    leg: LegKey
    part: OrderPart = OrderPart()

    def digest(self) -> bytes:
        # JSON of a list is an unambiguous encoding: no choice of ids can make two keys serialise alike.
        canonical = json.dumps(
            [
                "copytrader-order-v1",
                self.follower_id,
                self.lifecycle_id,
                self.master_seq,
                self.leg.symbol,
                int(self.leg.position_idx),
                self.part.phase.value,
                self.part.child,
            ],
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return hashlib.sha256(canonical.encode("ascii")).digest()


class InvalidClientOrderIdError(ValueError):
    """A client order id does not fit the venue's format."""


def bybit_order_link_id(key: ClientOrderKey) -> str:
    return ID_PREFIX + key.digest()[:16].hex()


def binance_client_order_id(key: ClientOrderKey) -> str:
    return ID_PREFIX + key.digest()[:16].hex()


def hyperliquid_cloid(key: ClientOrderKey) -> str:
    return "0x" + key.digest()[:16].hex()


def client_order_id(key: ClientOrderKey, venue: Venue) -> str:
    """The id for ``key`` in ``venue``'s format."""
    if venue is Venue.BYBIT:
        return bybit_order_link_id(key)
    if venue is Venue.BINANCE:
        return binance_client_order_id(key)
    return hyperliquid_cloid(key)


def is_valid_bybit_order_link_id(value: str) -> bool:
    return _BYBIT_ORDER_LINK_ID.fullmatch(value) is not None


def is_valid_binance_client_order_id(value: str) -> bool:
    return _BINANCE_CLIENT_ORDER_ID.fullmatch(value) is not None


def is_valid_hyperliquid_cloid(value: str) -> bool:
    return _HYPERLIQUID_CLOID.fullmatch(value) is not None


_FORMATS = {
    Venue.BYBIT: (is_valid_bybit_order_link_id, "orderLinkId: 1-36 chars of A-Z a-z 0-9 _ -"),
    Venue.BINANCE: (is_valid_binance_client_order_id, "newClientOrderId: 1-36 chars of A-Z a-z 0-9 . : / _ -"),
    Venue.HYPERLIQUID: (is_valid_hyperliquid_cloid, "cloid: 0x followed by 32 lowercase hex digits"),
}


def validate_client_order_id(value: str, venue: Venue) -> str:
    """Return ``value`` if it fits ``venue``'s client id format, else raise naming the rule it breaks."""
    check, rule = _FORMATS[venue]
    if not check(value):
        raise InvalidClientOrderIdError(f"{venue.value}: client order id {value!r} is not a valid {rule}")
    return value
