"""Retries with jittered exponential backoff, for reads and idempotent calls only (never order placement)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from runtime.domain.errors import ErrorKind, ExchangeError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^attempt)]."""
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * (2**attempt)))


async def retry_idempotent(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy = RetryPolicy(),
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call`` and retry it on temporary and rate-limit errors. Only for calls that are safe to repeat."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return await call()
        except ExchangeError as exc:
            attempt += 1
            if not exc.retryable or attempt >= policy.attempts:
                raise
            delay = policy.delay(attempt, rng)
            if exc.kind is ErrorKind.RATE_LIMITED and exc.retry_after_s is not None:
                delay = max(delay, exc.retry_after_s)
            await sleep(delay)
