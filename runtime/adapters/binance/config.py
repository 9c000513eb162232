"""Settings of the Binance USD-M follower adapter: endpoints, timeouts, rate limits, the ambiguous-order guard.

Every URL can be overridden (that is how the simulator is used). Secrets are held here but never shown: the repr
names the key by a mask only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from runtime.adapters.common.redaction import mask
from runtime.adapters.common.retry import RetryPolicy

MAINNET_FUTURES_URL = "https://fapi.binance.com/fapi"
MAINNET_SAPI_URL = "https://api.binance.com/sapi"
TESTNET_FUTURES_URL = "https://testnet.binancefuture.com/fapi"

# Binance's documented limits (GET /fapi/v1/exchangeInfo rateLimits): request weight per IP, orders per account.
IP_WEIGHT_PER_MINUTE = 2400
ORDERS_PER_MINUTE = 1200

# Request weights of the endpoints the adapter calls (USD-M docs, "Request Weight"). A new order costs no IP
# weight, only order count.
WEIGHTS: dict[str, int] = {
    "exchange_info": 1,
    "leverage_bracket": 1,
    "account": 5,
    "position_risk": 5,
    "position_mode": 30,
    "change_position_mode": 1,
    "change_leverage": 1,
    "new_order": 0,
    "get_order": 1,
    "cancel_order": 1,
    "api_restrictions": 1,
}


@dataclass(frozen=True)
class BinanceEndpoints:
    """Where the USD-M REST API lives, and the wallet API (``/sapi``) that reports key permissions.

    ``sapi_url`` is None on the futures testnet, which has no wallet API: the key check then only proves the key
    works (a testnet key cannot withdraw real funds).
    """

    futures_url: str
    sapi_url: str | None

    @staticmethod
    def mainnet() -> BinanceEndpoints:
        return BinanceEndpoints(MAINNET_FUTURES_URL, MAINNET_SAPI_URL)

    @staticmethod
    def testnet() -> BinanceEndpoints:
        return BinanceEndpoints(TESTNET_FUTURES_URL, None)

    @staticmethod
    def at(base_url: str) -> BinanceEndpoints:
        """Both APIs under one host, as the simulator serves them: ``http://127.0.0.1:PORT``."""
        base = base_url.rstrip("/")
        return BinanceEndpoints(f"{base}/fapi", f"{base}/sapi")


@dataclass(frozen=True)
class BinanceRateLimits:
    """Client-side token buckets, kept under the venue's limits by ``budget_fraction``.

    Binance counts request weight per **IP**: every follower behind one egress address draws on the same budget,
    so the weight bucket is keyed by ``ip_key`` (give each egress its own key when followers use several).
    Orders are counted per account, so that bucket is keyed by a hash of the API key.
    """

    ip_key: str = "binance:ip"
    ip_weight_per_minute: int = IP_WEIGHT_PER_MINUTE
    orders_per_minute: int = ORDERS_PER_MINUTE
    budget_fraction: float = 0.8
    burst_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.budget_fraction <= 1:
            raise ValueError(f"budget_fraction must be in (0, 1], got {self.budget_fraction}")
        if self.ip_weight_per_minute <= 0 or self.orders_per_minute <= 0 or self.burst_s <= 0:
            raise ValueError("Binance rate limits and burst_s must be positive")

    @property
    def ip_rate(self) -> float:
        return self.ip_weight_per_minute * self.budget_fraction / 60

    @property
    def order_rate(self) -> float:
        return self.orders_per_minute * self.budget_fraction / 60

    def burst(self, rate: float) -> float:
        return max(1.0, rate * self.burst_s)


@dataclass(frozen=True)
class BinanceConfig:
    """One follower's Binance connection. ``api_key``/``api_secret`` come from the environment or a secret store.

    ``timeout_s`` bounds every read; ``order_timeout_s`` bounds an order placement, after which its outcome is
    ambiguous and is resolved by looking the order up. A look-up that does not find the order is trusted only once
    Binance can no longer accept the lost request: ``recv_window_ms`` after it was signed, plus a margin for clock
    skew (``ambiguous_settle_s``; None = recvWindow + 1.5 s).
    """

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    endpoints: BinanceEndpoints = field(default_factory=BinanceEndpoints.mainnet)
    timeout_s: float = 10.0
    order_timeout_s: float = 10.0
    recv_window_ms: int = 5000
    ambiguous_settle_s: float | None = None
    max_order_attempts: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: BinanceRateLimits = field(default_factory=BinanceRateLimits)
    instruments_ttl_s: float = 3600.0

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret:
            raise ValueError(
                "Binance API key and secret are required: set them in the follower's environment variables"
            )
        if self.timeout_s <= 0 or self.order_timeout_s <= 0:
            raise ValueError("Binance timeouts must be positive seconds")
        if not 0 < self.recv_window_ms <= 60000:
            raise ValueError(f"recv_window_ms must be in 1..60000 (Binance's maximum), got {self.recv_window_ms}")
        if self.max_order_attempts < 1:
            raise ValueError(f"max_order_attempts must be >= 1, got {self.max_order_attempts}")

    @property
    def settle_s(self) -> float:
        if self.ambiguous_settle_s is not None:
            return self.ambiguous_settle_s
        return self.recv_window_ms / 1000 + 1.5

    @property
    def key_id(self) -> str:
        """A stable, non-reversible name for the key (bucket keys, logs)."""
        return hashlib.sha256(self.api_key.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return (
            f"BinanceConfig(api_key={mask(self.api_key)!r}, futures_url={self.endpoints.futures_url!r}, "
            f"sapi_url={self.endpoints.sapi_url!r}, timeout_s={self.timeout_s}, order_timeout_s={self.order_timeout_s})"
        )
