"""Rate limiting, blocking-call deadlines, retries and redaction shared by the venue adapters."""

import asyncio
import logging
import random
import threading
import time

import pytest

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.rate_limit import RateLimiterRegistry, TokenBucket
from runtime.adapters.common.redaction import RedactingFilter, SecretRegistry, mask
from runtime.adapters.common.retry import RetryPolicy, retry_idempotent
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Venue


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_spends_burst_then_refills_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5  # one token back at 2/s
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False


def test_token_bucket_penalty_blocks_for_the_venue_hint() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=10, clock=clock)
    bucket.penalize(2.0)
    clock.now = 1.9
    assert bucket.try_acquire() is False
    clock.now = 2.2
    assert bucket.try_acquire() is True


async def test_token_bucket_acquire_waits_without_blocking_the_loop() -> None:
    bucket = TokenBucket(rate=50, burst=1)
    await bucket.acquire()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    waited = await bucket.acquire()
    task.cancel()
    assert waited > 0
    assert ticks >= 2


def test_registry_shares_a_bucket_per_key() -> None:
    registry = RateLimiterRegistry(default_rate=5, default_burst=5)
    assert registry.bucket("binance:ip") is registry.bucket("binance:ip")
    assert registry.bucket("binance:ip") is not registry.bucket("bybit:key1")


async def test_blocking_runner_enforces_the_deadline() -> None:
    runner = BlockingCallRunner(max_workers=2)
    release = threading.Event()
    try:
        with pytest.raises(TimeoutError):
            await runner.call(0.05, release.wait, 5)
        assert await runner.call(1.0, lambda a, b: a + b, 2, 3) == 5
    finally:
        release.set()
        runner.shutdown()


async def test_blocking_runner_runs_calls_in_parallel() -> None:
    runner = BlockingCallRunner(max_workers=8)
    started = time.monotonic()
    await asyncio.gather(*(runner.call(2.0, time.sleep, 0.1) for _ in range(8)))
    runner.shutdown()
    assert time.monotonic() - started < 0.6  # 8 x 0.1 s sequentially would be 0.8 s


async def test_retry_retries_temporary_errors_then_succeeds() -> None:
    calls = 0
    sleeps: list[float] = []

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ExchangeError(ErrorKind.TEMPORARY, Venue.BYBIT, "502")
        return "ok"

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    assert await retry_idempotent(flaky, RetryPolicy(attempts=3), random.Random(1), fake_sleep) == "ok"
    assert calls == 3 and len(sleeps) == 2


async def test_retry_honours_rate_limit_hint_and_never_retries_invalid_orders() -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def limited() -> None:
        raise ExchangeError(ErrorKind.RATE_LIMITED, Venue.BINANCE, "429", retry_after_s=7.0)

    with pytest.raises(ExchangeError):
        await retry_idempotent(limited, RetryPolicy(attempts=2), random.Random(1), fake_sleep)
    assert sleeps == [7.0]

    calls = 0

    async def invalid() -> None:
        nonlocal calls
        calls += 1
        raise ExchangeError(ErrorKind.INVALID_ORDER, Venue.BINANCE, "-4164")

    with pytest.raises(ExchangeError):
        await retry_idempotent(invalid, RetryPolicy(attempts=5), random.Random(1), fake_sleep)
    assert calls == 1


def test_redacting_filter_removes_secrets_from_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    registry = SecretRegistry()
    registry.add("s3cr3t-value-123")
    registry.add("abc")  # too short to be a key: ignored rather than redacting ordinary words
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter(registry))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("signing with %s for abc", "s3cr3t-value-123")
    assert "s3cr3t-value-123" not in caplog.text
    assert "*** for abc" in caplog.text
    assert mask("AKIA1234567") == "AKIA***"
