from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from runtime.adapters.common.redaction import SecretRegistry
from runtime.services.alerts.dispatcher import AlertDispatcher, ChannelStats, DeliveryPolicy
from runtime.services.alerts.model import Alert, AlertChannel, DeliveryError, Severity
from runtime.services.alerts.router import AlertRouter, Route
from tests.unit.alerts.fakes import HANG, FakeChannel, make_alert

FAST = DeliveryPolicy(send_timeout_s=0.2, attempts=3, base_delay_s=0.01, max_delay_s=0.05, queue_size=10)


async def wait_until(condition: Callable[[], bool], within_s: float = 2.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def started() -> AsyncIterator[list[AlertDispatcher]]:
    """Dispatchers made by a test are closed after it."""
    made: list[AlertDispatcher] = []
    yield made
    for dispatcher in made:
        await dispatcher.close(drain_timeout_s=0)


async def start(
    made: list[AlertDispatcher],
    *channels: FakeChannel,
    policy: DeliveryPolicy = FAST,
    secrets: SecretRegistry | None = None,
) -> AlertDispatcher:
    dispatcher = AlertDispatcher(AlertRouter([Route(c, Severity.INFO) for c in channels]), policy, secrets)
    await dispatcher.start()
    made.append(dispatcher)
    return dispatcher


async def test_notify_returns_at_once_and_the_channel_gets_the_alert(started: list[AlertDispatcher]) -> None:
    channel = FakeChannel("telegram")
    dispatcher = await start(started, channel)
    alert = make_alert()
    before = time.perf_counter()
    dispatcher.notify(alert)
    assert time.perf_counter() - before < 0.01
    assert channel.delivered == []  # nothing was sent inline, on the caller's time
    assert await dispatcher.drain(1.0)
    assert channel.delivered == [alert]
    assert dispatcher.stats()["telegram"] == ChannelStats(sent=1)


async def test_a_failed_send_is_retried_with_backoff_and_logged(
    started: list[AlertDispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    channel = FakeChannel(
        "webhook", [ConnectionRefusedError("refused"), DeliveryError("webhook", "HTTP 503", retryable=True)]
    )
    dispatcher = await start(started, channel)
    dispatcher.notify(alert := make_alert())
    assert await dispatcher.drain(1.0)
    assert channel.attempts == 3 and channel.delivered == [alert]
    assert dispatcher.stats()["webhook"] == ChannelStats(sent=1, retries=2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("(attempt 1 of 3): ConnectionRefusedError: refused" in m for m in warnings)
    assert any("(attempt 2 of 3): HTTP 503" in m for m in warnings)
    assert any("delivered to webhook on attempt 3" in r.getMessage() for r in caplog.records)


async def test_retries_are_bounded_and_the_give_up_is_logged(
    started: list[AlertDispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    channel = FakeChannel("sns", [OSError("down")] * 5)
    dispatcher = await start(started, channel)
    dispatcher.notify(make_alert())
    assert await dispatcher.drain(1.0)
    assert channel.attempts == 3
    assert dispatcher.stats()["sns"] == ChannelStats(failed=1, retries=2)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("to sns failed after 3 attempts, giving up: OSError: down" in m for m in errors)


async def test_a_permanent_error_is_not_retried(
    started: list[AlertDispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    channel = FakeChannel("telegram", [DeliveryError("telegram", "chat not found", retryable=False)])
    dispatcher = await start(started, channel)
    dispatcher.notify(make_alert())
    assert await dispatcher.drain(1.0)
    assert channel.attempts == 1
    assert dispatcher.stats()["telegram"].failed == 1
    assert any("will not be retried: chat not found" in r.getMessage() for r in caplog.records)


async def test_a_hanging_channel_times_out_without_delaying_another(started: list[AlertDispatcher]) -> None:
    policy = DeliveryPolicy(send_timeout_s=0.3, attempts=2, base_delay_s=0.01, max_delay_s=0.01)
    hanging, healthy = FakeChannel("telegram", [HANG, HANG]), FakeChannel("webhook")
    dispatcher = await start(started, hanging, healthy, policy=policy)
    first, second = make_alert(), make_alert()
    dispatcher.notify(first)
    dispatcher.notify(second)
    await wait_until(lambda: len(healthy.delivered) == 2)
    # Both arrived while the hanging channel was still stuck in its first attempt.
    assert hanging.attempts == 1 and dispatcher.stats()["telegram"] == ChannelStats(queued=1)
    assert await dispatcher.drain(2.0)
    # The hanging channel timed out twice on the first alert, then delivered the second (its script ran out).
    assert hanging.attempts == 3 and hanging.delivered == [second]
    assert dispatcher.stats()["telegram"] == ChannelStats(sent=1, failed=1, retries=1)


async def test_a_full_queue_drops_with_a_logged_counter(
    started: list[AlertDispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    policy = DeliveryPolicy(send_timeout_s=5, attempts=1, queue_size=2)
    channel = FakeChannel("twilio", [HANG])
    dispatcher = await start(started, channel, policy=policy)
    dispatcher.notify(make_alert())
    await wait_until(lambda: channel.attempts == 1)  # the worker holds the first alert; the queue is empty
    for _ in range(4):
        dispatcher.notify(make_alert())
    assert dispatcher.stats()["twilio"] == ChannelStats(dropped=2, queued=2)
    assert dispatcher.dropped == 2
    drops = [r.getMessage() for r in caplog.records if "alert queue of twilio is full" in r.getMessage()]
    assert len(drops) == 2 and "(2 dropped on this channel so far)" in drops[-1]


async def test_alerts_queued_before_start_are_sent_after_start(started: list[AlertDispatcher]) -> None:
    channel = FakeChannel("console")
    dispatcher = AlertDispatcher(AlertRouter([Route(channel, Severity.INFO)]), FAST)
    started.append(dispatcher)
    dispatcher.notify(alert := make_alert())
    await dispatcher.start()
    assert await dispatcher.drain(1.0)
    assert channel.delivered == [alert]


async def test_notify_from_another_thread_reaches_the_loop(started: list[AlertDispatcher]) -> None:
    channel = FakeChannel("console")
    dispatcher = await start(started, channel)
    alert = make_alert()
    thread = threading.Thread(target=dispatcher.notify, args=(alert,))
    thread.start()
    thread.join()
    await wait_until(lambda: channel.delivered == [alert])


async def test_notify_never_raises_into_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenRouter(AlertRouter):
        def channels_for(self, alert: Alert) -> list[AlertChannel]:
            raise RuntimeError("router bug")

    dispatcher = AlertDispatcher(BrokenRouter([]), FAST)
    dispatcher.notify(make_alert(key="k1"))  # must not raise
    assert any("could not queue alert k1: RuntimeError: router bug" in r.getMessage() for r in caplog.records)


async def test_close_drains_then_closes_channels_and_counts_later_alerts_as_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = FakeChannel("console")
    dispatcher = AlertDispatcher(AlertRouter([Route(channel, Severity.INFO)]), FAST)
    await dispatcher.start()
    dispatcher.notify(make_alert())
    await dispatcher.close(drain_timeout_s=1.0)
    assert len(channel.delivered) == 1 and channel.closed
    dispatcher.notify(make_alert())
    assert dispatcher.stats()["console"].dropped == 1
    assert any("the alert dispatcher is closed" in r.getMessage() for r in caplog.records)


async def test_close_gives_up_on_a_hanging_channel_after_the_drain_timeout(caplog: pytest.LogCaptureFixture) -> None:
    channel = FakeChannel("sns", [HANG])
    dispatcher = AlertDispatcher(AlertRouter([Route(channel, Severity.INFO)]), DeliveryPolicy(send_timeout_s=10))
    await dispatcher.start()
    dispatcher.notify(make_alert())
    dispatcher.notify(make_alert())
    began = time.monotonic()
    await dispatcher.close(drain_timeout_s=0.1)
    assert time.monotonic() - began < 1.0
    assert channel.closed
    assert any("closed with 1 alerts undelivered on sns" in r.getMessage() for r in caplog.records)


async def test_error_texts_are_redacted_before_logging(
    started: list[AlertDispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    secrets = SecretRegistry()
    secrets.add("s3cr3t-token-value")
    channel = FakeChannel("webhook", [OSError("GET /hook/s3cr3t-token-value failed")] * 3)
    dispatcher = await start(started, channel, secrets=secrets)
    dispatcher.notify(make_alert())
    assert await dispatcher.drain(1.0)
    assert "s3cr3t-token-value" not in caplog.text
    assert "GET /hook/*** failed" in caplog.text


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = DeliveryPolicy(base_delay_s=0.5, max_delay_s=3.0)
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    "kwargs", [{"send_timeout_s": 0}, {"attempts": 0}, {"queue_size": 0}, {"base_delay_s": 2, "max_delay_s": 1}]
)
def test_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="DeliveryPolicy needs"):
        DeliveryPolicy(**kwargs)  # type: ignore[arg-type]
