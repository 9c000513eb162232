"""Client-side rate limiting: one token bucket per (venue, API key), so many followers never trip a venue's limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. ``acquire`` waits (without blocking the loop)."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got rate={self.rate} burst={self.burst}")
        self._tokens = self.burst
        self._updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self, cost: float = 1.0) -> bool:
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    async def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, sleeping as long as needed. Returns the seconds waited."""
        waited = 0.0
        async with self._lock:  # FIFO fairness between waiters on the same key
            while not self.try_acquire(cost):
                delay = (cost - self._tokens) / self.rate
                await asyncio.sleep(delay)
                waited += delay
        return waited

    def penalize(self, seconds: float) -> None:
        """The venue said "rate limited, retry after N s": spend the bucket so callers back off for that long."""
        self._refill()
        self._tokens = min(self._tokens, -seconds * self.rate)


@dataclass
class RateLimiterRegistry:
    """One bucket per key (e.g. ``"binance:<key id>"``); keys sharing a venue limit share a bucket."""

    default_rate: float
    default_burst: float
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def bucket(self, key: str, rate: float | None = None, burst: float | None = None) -> TokenBucket:
        existing = self._buckets.get(key)
        if existing is None:
            existing = TokenBucket(rate or self.default_rate, burst or self.default_burst)
            self._buckets[key] = existing
        return existing
