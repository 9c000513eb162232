"""Bybit follower settings (endpoint, deadlines, rate limits, retries) and the API key pair.

Every URL is overridable: ``base_url`` points pybit's HTTP client anywhere (the simulator, a proxy). pybit builds
its URL from a hard-coded ``https://`` template, so the client sets ``.endpoint`` after construction instead of
passing a domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.adapters.common.redaction import mask
from runtime.adapters.common.retry import RetryPolicy

MAINNET_URL = "https://api.bybit.com"
TESTNET_URL = "https://api-testnet.bybit.com"

# pybit's own per-request timeout is this share of our deadline, so requests gives up (and frees its worker
# thread) just before the caller's deadline abandons the call.
SDK_TIMEOUT_SHARE = 0.8


@dataclass(frozen=True)
class BybitConfig:
    """How to talk to Bybit; nothing secret.

    ``call_timeout_s`` is the deadline of every venue call (an order past it is looked up by client id).
    Bybit's limits are per UID and endpoint (linear order create/cancel 10/s, most reads 50/s on a default
    account); the buckets stay below them so several follower processes on one key keep some headroom.
    """

    base_url: str = MAINNET_URL
    call_timeout_s: float = 10.0
    recv_window_ms: int = 5000
    settle_coin: str = "USDT"
    # Bybit has no "get position mode" endpoint: the mode shows in the legs position/list returns for a symbol
    # (switch-mode applies to every contract of the settle coin, so one symbol tells the mode of all).
    mode_probe_symbol: str = "BTCUSDT"
    order_rate_per_s: float = 8.0
    order_burst: float = 8.0
    read_rate_per_s: float = 20.0
    read_burst: float = 20.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Used when a 10006 answer carries no X-Bapi-Limit-Reset-Timestamp; a longer hint is capped at the maximum.
    default_rate_limit_backoff_s: float = 1.0
    max_rate_limit_backoff_s: float = 10.0
    instruments_ttl_s: float = 3600.0
    # A market order is acknowledged before it fills: look it up this many times, this far apart, for the fill.
    fill_poll_attempts: int = 3
    fill_poll_interval_s: float = 0.05

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"bybit base_url must start with http:// or https://, got {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.call_timeout_s <= 0:
            raise ValueError(f"bybit call_timeout_s must be > 0, got {self.call_timeout_s}")
        if self.fill_poll_attempts < 1:
            raise ValueError(f"bybit fill_poll_attempts must be >= 1, got {self.fill_poll_attempts}")

    @classmethod
    def testnet(cls) -> BybitConfig:
        """Bybit's public testnet (adjust further with ``dataclasses.replace``)."""
        return cls(base_url=TESTNET_URL)

    @property
    def sdk_timeout_s(self) -> float:
        return self.call_timeout_s * SDK_TIMEOUT_SHARE


@dataclass(frozen=True)
class BybitCredentials:
    """An API key and its secret. The secret never appears in a repr; the key only masked."""

    api_key: str
    api_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.api_key.strip() or not self.api_secret.strip():
            # Never echo the values: one of them may be a real secret pasted into the wrong variable.
            raise ValueError(
                "bybit API key and secret must both be set: check the key and secret environment variables"
            )

    def __repr__(self) -> str:
        return f"BybitCredentials(api_key={mask(self.api_key)!r}, api_secret='***')"
