"""Settings of the master's Bybit private stream: endpoint, topics, heartbeat, backoff and timeouts.

Defaults are Bybit's real endpoints and the documented 20 s ping; every value is overridable (the tests point the
URL at the simulator and shrink the timings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from runtime.adapters.common.redaction import mask
from runtime.listener.stream_health import BackoffPolicy, HeartbeatPolicy

MAINNET_PRIVATE_URL = "wss://stream.bybit.com/v5/private"
TESTNET_PRIVATE_URL = "wss://stream-testnet.bybit.com/v5/private"
# execution + order + position make the two-event correlation; wallet keeps the master's equity current.
PRIVATE_TOPICS = ("execution", "order", "position", "wallet")


@dataclass(frozen=True)
class StreamCredentials:
    """The master's API key pair. The secret never appears in a repr; the key only masked."""

    api_key: str
    api_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_secret:
            raise ValueError(
                "the master's Bybit API key and secret are both required for the private stream; "
                "set them in the environment (or the secret store) and restart"
            )

    def __repr__(self) -> str:
        return f"StreamCredentials(api_key={mask(self.api_key)!r})"


@dataclass(frozen=True)
class MasterStreamConfig:
    url: str = MAINNET_PRIVATE_URL
    topics: tuple[str, ...] = PRIVATE_TOPICS
    heartbeat: HeartbeatPolicy = field(default_factory=HeartbeatPolicy)
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    connect_timeout_s: float = 10.0
    # Both the auth answer and every subscription ack must arrive within this bound, else the socket is replaced.
    ack_timeout_s: float = 10.0
    close_timeout_s: float = 1.0
    auth_expiry_s: float = 10.0
    # Honour HTTPS_PROXY/ALL_PROXY like other clients (websockets' default); off for loopback test servers.
    use_system_proxy: bool = True

    def __post_init__(self) -> None:
        scheme = urlparse(self.url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"the private stream URL must start with ws:// or wss://, got {self.url!r}")
        if not self.topics:
            raise ValueError("the private stream needs at least one topic")
        for name in ("connect_timeout_s", "ack_timeout_s", "close_timeout_s", "auth_expiry_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @classmethod
    def for_network(cls, *, testnet: bool = False, url: str | None = None, **overrides: object) -> MasterStreamConfig:
        """Bybit mainnet or testnet, or an explicit ``url`` (a simulator, a proxy)."""
        chosen = url or (TESTNET_PRIVATE_URL if testnet else MAINNET_PRIVATE_URL)
        return cls(url=chosen, **overrides)  # type: ignore[arg-type]

    @property
    def detection_bound_s(self) -> float:
        """How long a silent (zombie) socket can go unnoticed: see ``HeartbeatPolicy.detection_bound_s``."""
        return self.heartbeat.detection_bound_s

    @property
    def replacement_bound_s(self) -> float:
        """Detection plus the first (reset) backoff delay plus a new handshake, when the venue answers again."""
        return self.detection_bound_s + self.backoff.initial_s + self.connect_timeout_s + self.ack_timeout_s
