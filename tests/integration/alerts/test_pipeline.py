"""The whole pipeline, built from an ``[alerts]`` config: routing by severity over real HTTP (and SNS on moto), and
channels that are down or hang while the copy path and the healthy channels carry on."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import boto3
import pytest

from runtime.config.sections import AlertsConfig
from runtime.services.alerts.dispatcher import AlertDispatcher, ChannelStats, DeliveryPolicy
from runtime.services.alerts.factory import build_alert_dispatcher
from runtime.services.alerts.model import Severity
from tests.integration.alerts.capture import CaptureServer, HangingServer, refused_port
from tests.integration.alerts.conftest import BOT_TOKEN, TWILIO_SID, TWILIO_TOKEN
from tests.unit.alerts.fakes import make_alert

ENV = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
FAST = DeliveryPolicy(send_timeout_s=0.3, attempts=2, base_delay_s=0.05, max_delay_s=0.05)  # for hanging channels
PATIENT = DeliveryPolicy(send_timeout_s=5, attempts=2, base_delay_s=0.05, max_delay_s=0.05)  # for answering ones


def alerts_config(telegram_url: str, twilio_url: str, webhook_url: str, **extra: Any) -> AlertsConfig:
    return AlertsConfig.model_validate(
        {
            "telegram": {"chat_id": -1001234567890, "base_url": telegram_url},
            "twilio": {"from_number": "+15005550006", "to_numbers": ["+447700900001"], "base_url": twilio_url},
            "webhook": {"url": webhook_url + "/hook"},
            **extra,
        }
    )


@pytest.fixture
async def dispatchers() -> AsyncIterator[list[AlertDispatcher]]:
    made: list[AlertDispatcher] = []
    yield made
    for dispatcher in made:
        await dispatcher.close(drain_timeout_s=0)


async def started(
    made: list[AlertDispatcher], config: AlertsConfig, policy: DeliveryPolicy = FAST, **kwargs: Any
) -> AlertDispatcher:
    dispatcher = build_alert_dispatcher(config, ENV, policy=policy, **kwargs)
    made.append(dispatcher)
    await dispatcher.start()
    return dispatcher


async def wait_until(condition: Callable[[], bool], within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def test_each_channel_gets_the_severities_it_asked_for(
    dispatchers: list[AlertDispatcher],
    telegram_server: CaptureServer,
    twilio_server: CaptureServer,
    webhook_server: CaptureServer,
    moto_endpoint: str,
    aws_env: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="copytrader.alerts")
    sns, sqs = (
        boto3.session.Session().client(s, region_name="eu-west-1", endpoint_url=moto_endpoint) for s in ("sns", "sqs")
    )
    topic_arn = sns.create_topic(Name="routing-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="routing-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    config = alerts_config(
        telegram_server.base_url, twilio_server.base_url, webhook_server.base_url, sns={"topic_arn": topic_arn}
    )
    dispatcher = await started(dispatchers, config, PATIENT, sns_endpoint_url=moto_endpoint)
    assert dispatcher.channel_names == ["console", "telegram", "twilio", "sns", "webhook"]

    info, warning, critical = (make_alert(s) for s in (Severity.INFO, Severity.WARNING, Severity.CRITICAL))
    for alert in (info, warning, critical):
        dispatcher.notify(alert)
    assert await dispatcher.drain(5.0)

    assert [r.json()["text"] for r in telegram_server.requests] == [warning.as_text(), critical.as_text()]
    assert [r.form()["Body"][0] for r in twilio_server.requests] == [critical.as_text()]  # SMS: critical only
    assert [r.json()["key"] for r in webhook_server.requests] == [info.key, warning.key, critical.key]
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert sorted(json.loads(json.loads(m["Body"])["Message"])["key"] for m in received) == sorted(
        [warning.key, critical.key]
    )
    console = [r for r in caplog.records if r.name == "copytrader.alerts"]
    assert [r.levelno for r in console] == [logging.INFO, logging.WARNING, logging.CRITICAL]
    assert all(stats == ChannelStats(sent=stats.sent) for stats in dispatcher.stats().values())


async def test_down_and_hanging_channels_delay_neither_the_copy_nor_the_healthy_channel(
    dispatchers: list[AlertDispatcher],
    hanging_server: HangingServer,
    webhook_server: CaptureServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Telegram hangs (accepts, never answers); the SMS gateway is down (connection refused); the webhook works.
    config = alerts_config(hanging_server.base_url, f"http://127.0.0.1:{refused_port()}", webhook_server.base_url)
    dispatcher = await started(dispatchers, config)
    alert = make_alert(Severity.CRITICAL)

    async def copy_one_change() -> float:
        """Stands in for the copy path: it raises an alert mid-copy and carries on with its own work."""
        began = time.perf_counter()
        dispatcher.notify(alert)
        notify_s = time.perf_counter() - began
        await asyncio.sleep(0.01)  # the rest of the copy (orders, store writes)
        return notify_s

    began = time.monotonic()
    notify_s = await asyncio.wait_for(copy_one_change(), timeout=0.2)
    assert notify_s < 0.01  # notify only queued
    assert time.monotonic() - began < 0.2  # the copy completed while Telegram hangs

    await webhook_server.wait_for(1, within_s=2)
    assert webhook_server.requests[0].json()["key"] == alert.key
    assert dispatcher.stats()["telegram"].sent == 0 and dispatcher.stats()["telegram"].failed == 0  # still hanging

    assert await dispatcher.drain(5.0)
    stats = dispatcher.stats()
    assert stats["webhook"] == ChannelStats(sent=1)
    assert stats["telegram"] == ChannelStats(failed=1, retries=1)
    assert stats["twilio"] == ChannelStats(failed=1, retries=1)
    assert hanging_server.connections == 2  # the hang was retried once
    messages = [r.getMessage() for r in caplog.records]
    assert any("to telegram failed (attempt 1 of 2): " in m and "no answer within 0.3 s" in m for m in messages)
    assert any("to telegram failed after 2 attempts, giving up" in m for m in messages)
    assert any("to twilio failed (attempt 1 of 2): to +447700900001: ConnectionError" in m for m in messages)


async def test_secrets_never_reach_the_logs(
    dispatchers: list[AlertDispatcher],
    telegram_server: CaptureServer,
    twilio_server: CaptureServer,
    webhook_server: CaptureServer,
    hanging_server: HangingServer,
    all_logs: pytest.LogCaptureFixture,
) -> None:
    # Hostile answers that echo the secrets back, plus every way a send can fail.
    telegram_server.scripted.append((500, {"ok": False, "description": f"boom at /bot{BOT_TOKEN}/sendMessage"}))
    telegram_server.scripted.append((401, {"ok": False, "description": f"Unauthorized {BOT_TOKEN}"}))
    twilio_server.scripted.append((500, {"code": 20500, "message": f"bad {TWILIO_TOKEN}", "status": 500}))
    twilio_server.scripted.append((401, {"code": 20003, "message": f"Authenticate {TWILIO_TOKEN}", "status": 401}))
    answering = await started(
        dispatchers, alerts_config(telegram_server.base_url, twilio_server.base_url, webhook_server.base_url), PATIENT
    )
    down = await started(
        dispatchers,
        alerts_config(f"http://127.0.0.1:{refused_port()}", hanging_server.base_url, hanging_server.base_url),
    )
    for dispatcher in (answering, down):
        dispatcher.notify(make_alert(Severity.CRITICAL))
    assert await answering.drain(5.0) and await down.drain(5.0)

    assert answering.stats()["telegram"].failed == 1 and answering.stats()["twilio"].failed == 1
    assert down.stats()["telegram"].failed == 1 and down.stats()["twilio"].failed == 1
    logged = all_logs.text + "".join(r.exc_text or "" for r in all_logs.records)
    assert "giving up" in logged and "will not be retried" in logged  # the failures were logged...
    for secret in (BOT_TOKEN, TWILIO_TOKEN):
        assert secret not in logged  # ...without the secrets
    # The account SID is an identifier, not a credential: urllib3's DEBUG lines show it in the URL path (a
    # RedactingFilter on the handlers hides it); our own lines never do.
    ours = [r.getMessage() for r in all_logs.records if r.name.startswith(("runtime.", "copytrader."))]
    assert ours and not any(TWILIO_SID in m for m in ours)
