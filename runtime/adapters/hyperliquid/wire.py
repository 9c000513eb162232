"""What the engine sends to Hyperliquid: valid prices and sizes, cloids, nonces and signed actions.

Precision (perps): a size has at most ``szDecimals`` decimals; a price has at most 5 significant figures and at most
``6 - szDecimals`` decimals, and an integer price is always allowed. There is no fixed tick: the smallest step a
price may take depends on the price itself. ``price_tick`` gives that step at a given price (it is what
``InstrumentRules.tick_size`` carries, computed at the mid when the rules are read), and ``round_price`` rounds to
it, which satisfies both rules at once.

Actions are built with Decimal strings (the SDK's ``Exchange.order`` takes floats) and with their keys in the
SDK's order: the signature hashes msgpack of the action as sent, so key order is part of the wire format. Nonces
come from ``NonceSource``, not the SDK's ``get_timestamp_ms()``, which repeats for two actions signed by one agent
in the same millisecond.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from hyperliquid.utils.signing import sign_l1_action
from hyperliquid.utils.types import Cloid

from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Venue, decimal_str

VENUE = Venue.HYPERLIQUID
PERP_MAX_DECIMALS = 6
SIGNIFICANT_FIGURES = 5
CLOID_PATTERN = re.compile(r"^0x[0-9a-fA-F]{32}$")

# ----- precision -----------------------------------------------------------------------------------------------


def qty_step(sz_decimals: int) -> Decimal:
    return Decimal(1).scaleb(-sz_decimals)


def price_tick(price: Decimal, sz_decimals: int) -> Decimal:
    """The smallest price step allowed at ``price``: 5 significant figures, at most ``6 - szDecimals`` decimals,
    never coarser than 1 (integers are always valid). BTC (szDecimals 5) at 60000 -> 1; ETH (4) at 3000 -> 0.1."""
    max_decimals = PERP_MAX_DECIMALS - sz_decimals
    if price <= 0:
        return Decimal(1).scaleb(-max_decimals)
    exponent = price.adjusted() - (SIGNIFICANT_FIGURES - 1)
    return Decimal(1).scaleb(min(0, max(exponent, -max_decimals)))


def round_price(price: Decimal, sz_decimals: int, *, up: bool) -> Decimal:
    """``price`` rounded to a valid perp price, up or down (never to nearest: the caller picks the safe side)."""
    rounded = price.quantize(price_tick(price, sz_decimals), rounding=ROUND_UP if up else ROUND_DOWN)
    return rounded.normalize() if rounded != 0 else rounded


def slippage_price(mid: Decimal, is_buy: bool, slippage: Decimal, sz_decimals: int) -> Decimal:
    """The limit price of a market order: the mid moved ``slippage`` against us, rounded away from the mid so the
    bound is never tighter than asked (the SDK's ``_slippage_price`` rounds to nearest, in floats)."""
    raw = mid * (1 + slippage) if is_buy else mid * (1 - slippage)
    price = round_price(raw, sz_decimals, up=is_buy)
    if price <= 0:
        raise ExchangeError(ErrorKind.INVALID_ORDER, VENUE, f"no valid limit price below mid {mid} at {slippage}")
    return price


def size_is_valid(size: Decimal, sz_decimals: int) -> bool:
    return size > 0 and size == size.quantize(qty_step(sz_decimals), rounding=ROUND_DOWN)


# ----- client ids and nonces ----------------------------------------------------------------------------------


def normalize_cloid(client_order_id: str) -> str:
    """A request's client id as Hyperliquid's cloid ("0x" + 32 hex, lower case), validated by the SDK's Cloid."""
    if not CLOID_PATTERN.match(client_order_id):
        raise ExchangeError(
            ErrorKind.INVALID_ORDER,
            VENUE,
            f"client order id {client_order_id!r} is not a Hyperliquid cloid: it must be 0x followed by 32 hex "
            "characters (use runtime.domain.client_ids for Venue.HYPERLIQUID)",
        )
    return str(Cloid(client_order_id.lower()).to_raw())


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceSource:
    """Strictly increasing millisecond nonces for one signer: ``max(now, last + 1)``, thread-safe.

    Hyperliquid keeps each signer's 100 highest nonces and refuses a repeat. Running ahead of the clock under a
    burst is harmless: the venue accepts nonces up to a day ahead."""

    def __init__(self, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._clock_ms = clock_ms
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._clock_ms(), self._last + 1)
            return self._last


_SHARED_NONCES: dict[str, NonceSource] = {}
_SHARED_NONCES_LOCK = threading.Lock()


def shared_nonce_source(signer_address: str) -> NonceSource:
    """The process-wide nonce source of a signer, so two clients of one agent never reuse a nonce."""
    with _SHARED_NONCES_LOCK:
        return _SHARED_NONCES.setdefault(signer_address.lower(), NonceSource())


# ----- outgoing actions (key order = the SDK's, the signature depends on it) -----------------------------------


def order_action(
    asset: int, is_buy: bool, price: Decimal, size: Decimal, reduce_only: bool, cloid: str
) -> dict[str, Any]:
    """An IOC limit order (Hyperliquid's market order) as ``order_wires_to_order_action`` shapes it."""
    wire = {
        "a": asset,
        "b": is_buy,
        "p": decimal_str(price),
        "s": decimal_str(size),
        "r": reduce_only,
        "t": {"limit": {"tif": "Ioc"}},
        "c": cloid,
    }
    return {"type": "order", "orders": [wire], "grouping": "na"}


def update_leverage_action(asset: int, leverage: int, *, is_cross: bool = True) -> dict[str, Any]:
    return {"type": "updateLeverage", "asset": asset, "isCross": is_cross, "leverage": leverage}


def cancel_by_cloid_action(asset: int, cloid: str) -> dict[str, Any]:
    return {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid}]}


def signed_request(wallet: LocalAccount, action: dict[str, Any], nonce: int, *, is_mainnet: bool) -> dict[str, Any]:
    """The ``/exchange`` body: the action signed by ``wallet`` (the agent) as an L1 action, no vault, no expiry."""
    signature = sign_l1_action(wallet, action, None, nonce, None, is_mainnet)
    return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None, "expiresAfter": None}
