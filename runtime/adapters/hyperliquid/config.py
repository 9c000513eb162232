"""Hyperliquid follower settings: endpoint, timeouts, rate limits, market-order slippage, and the credentials.

Hyperliquid has no API keys. An account *is* a wallet address, and the engine trades it through an **agent (API)
wallet** the account approved: the agent's private key signs, the account address says whose account it is. An
agent can trade but cannot withdraw; the account's own private key could, so it is refused at start-up.

Endpoints: the SDK signs for mainnet only when the base URL is exactly ``MAINNET_API_URL`` (phantom-agent source
"a"); any other URL (testnet, a simulator) signs as "b". That rule is the SDK's, mirrored by ``is_mainnet``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from hyperliquid.utils import constants

from runtime.adapters.common.retry import RetryPolicy

MAINNET_API_URL: str = constants.MAINNET_API_URL  # "https://api.hyperliquid.xyz"
TESTNET_API_URL: str = constants.TESTNET_API_URL  # "https://api.hyperliquid-testnet.xyz"

ADDRESS_PATTERN = re.compile(r"^0x[0-9a-fA-F]{40}$")
PRIVATE_KEY_PATTERN = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")

# No published per-order size cap on Hyperliquid (margin tiers bound positions instead): large enough never to bind.
NO_SIZE_CAP = Decimal("1000000000")


@dataclass(frozen=True)
class HyperliquidConfig:
    """Everything about *how* to talk to Hyperliquid; nothing secret.

    ``request_timeout_s`` is handed to the SDK (requests' timeout per HTTP call); the blocking-call deadline is that
    plus ``deadline_margin_s`` so the SDK's own timeout normally fires first. Hyperliquid limits REST traffic to
    1200 weight per minute per IP (an order weighs 1, most info requests 2-20), so the default bucket (8/s, burst 20)
    stays under it with room for the other followers behind the same egress.
    """

    base_url: str = MAINNET_API_URL
    request_timeout_s: float = 10.0
    deadline_margin_s: float = 2.0
    # Market orders are IOC limits this far through the mid (the SDK's DEFAULT_SLIPPAGE is 5%).
    slippage: Decimal = Decimal("0.05")
    rate_per_s: float = 8.0
    rate_burst: float = 20.0
    instruments_ttl_s: float = 300.0
    min_order_value: Decimal = Decimal(10)
    max_order_qty: Decimal = NO_SIZE_CAP
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"hyperliquid base_url must start with http:// or https://, got {self.base_url!r}")
        if self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not isinstance(self.slippage, Decimal) or not Decimal(0) < self.slippage < Decimal(1):
            raise ValueError(
                f"hyperliquid slippage must be a Decimal between 0 and 1 (0.05 = 5%), got {self.slippage!r}"
            )
        if self.request_timeout_s <= 0 or self.deadline_margin_s < 0:
            raise ValueError("hyperliquid request_timeout_s must be > 0 and deadline_margin_s >= 0")

    @classmethod
    def testnet(cls) -> HyperliquidConfig:
        """Hyperliquid's public testnet (adjust further with ``dataclasses.replace``)."""
        return cls(base_url=TESTNET_API_URL)

    @property
    def is_mainnet(self) -> bool:
        return self.base_url == MAINNET_API_URL

    @property
    def call_deadline_s(self) -> float:
        return self.request_timeout_s + self.deadline_margin_s


@dataclass(frozen=True)
class HyperliquidCredentials:
    """The account address and the agent wallet's private key. The key never appears in a repr or an error."""

    account_address: str
    agent_private_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not ADDRESS_PATTERN.match(self.account_address):
            raise ValueError(
                f"hyperliquid account address must be 0x followed by 40 hex characters, got {self.account_address!r}: "
                "set it to the address of the trading account (the main wallet), not the agent's"
            )
        if not PRIVATE_KEY_PATTERN.match(self.agent_private_key):
            # Never echo the value: it may be a real key with a typo.
            raise ValueError(
                "hyperliquid agent private key must be 64 hex characters (optionally 0x-prefixed); "
                "check the agent key environment variable"
            )
        object.__setattr__(self, "account_address", self.account_address.lower())

    def __repr__(self) -> str:
        return f"HyperliquidCredentials(account_address={self.account_address!r}, agent_private_key='***')"
