"""The notifier handler: SNS records -> Telegram (every severity) and Twilio SMS (critical only), with the channel
credentials read from Secrets Manager (moto) and the two APIs replaced by a local capture server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.notifier.handler import handler as notifier
from runtime.hosts.aws_notify import NotificationError
from runtime.services.alerts.model import Alert, Severity
from tests.integration.alerts.capture import CaptureServer, telegram_ok, twilio_created
from tests.integration.aws_handlers.world import HandlerWorld

BOT_TOKEN = "123456789:AAHsecretBotToken-notifier"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
SMS_TO = "+447700900001"


@pytest.fixture
def capture(world: HandlerWorld) -> Iterator[CaptureServer]:
    async def answer(captured: Any) -> Any:
        return await (telegram_ok(captured) if "/bot" in captured.path else twilio_created(captured))

    server = CaptureServer(answer)
    world.sims.run(server.start())
    try:
        yield server
    finally:
        world.sims.run(server.stop())


def configure_channels(world: HandlerWorld, capture: CaptureServer, *, twilio: bool = True) -> None:
    telegram_arn = world.put_secret(f"tg-{world.tag}", {"bot_token": BOT_TOKEN, "chat_id": "-100123"})
    twilio_values = {"account_sid": TWILIO_SID, "auth_token": "tok", "from_number": "+15005550006"}
    twilio_values["to_numbers"] = SMS_TO if twilio else "REPLACE_ME"
    twilio_arn = world.put_secret(f"tw-{world.tag}", twilio_values)
    world.env.update(
        {
            "TELEGRAM_SECRET_ARN": telegram_arn,
            "TWILIO_SECRET_ARN": twilio_arn,
            "TELEGRAM_API_URL": capture.base_url,
            "TWILIO_API_URL": capture.base_url,
        }
    )
    world.install()


def sns_event(message: str, severity: str | None = None, subject: str = "copytrader") -> dict[str, Any]:
    attributes = {"severity": {"Type": "String", "Value": severity}} if severity else {}
    record = {"Message": message, "MessageAttributes": attributes, "Subject": subject, "MessageId": "m-1"}
    return {"Records": [{"EventSource": "aws:sns", "Sns": record}]}


def engine_alert(severity: Severity) -> str:
    alert = Alert("audit:alice:BTCUSDT:0", "MissingPosition", severity, "MissingPosition", "alice is flat", 1, "alice")
    return json.dumps(alert.to_json())


def test_a_critical_alert_goes_to_telegram_and_sms(world: HandlerWorld, capture: CaptureServer) -> None:
    configure_channels(world, capture)

    result = notifier(sns_event(engine_alert(Severity.CRITICAL), "critical"))

    assert result == {"alerts": 1, "sent": 2}
    telegram, sms = sorted(capture.requests, key=lambda r: "/bot" not in r.path)
    assert telegram.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert telegram.json()["chat_id"] == "-100123"
    assert telegram.json()["text"].startswith("[CRITICAL] MissingPosition (follower alice)")
    assert sms.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert sms.form()["To"] == [SMS_TO]


def test_a_warning_goes_to_telegram_only(world: HandlerWorld, capture: CaptureServer) -> None:
    configure_channels(world, capture)

    assert notifier(sns_event(engine_alert(Severity.WARNING), "warning")) == {"alerts": 1, "sent": 1}
    assert [r.path for r in capture.requests] == [f"/bot{BOT_TOKEN}/sendMessage"]


def test_a_cloudwatch_alarm_counts_as_critical(world: HandlerWorld, capture: CaptureServer) -> None:
    configure_channels(world, capture)
    alarm = {"AlarmName": "copytrader-dev-orders-failed", "NewStateValue": "ALARM", "NewStateReason": "1 > 0"}

    assert notifier(sns_event(json.dumps(alarm)))["sent"] == 2
    assert "Alarm copytrader-dev-orders-failed is ALARM" in capture.requests[0].json()["text"]


def test_a_placeholder_secret_keeps_its_channel_off(world: HandlerWorld, capture: CaptureServer) -> None:
    configure_channels(world, capture, twilio=False)

    assert notifier(sns_event(engine_alert(Severity.CRITICAL), "critical"))["sent"] == 1
    assert all("/bot" in r.path for r in capture.requests)


def test_a_channel_that_cannot_deliver_makes_lambda_retry(world: HandlerWorld, capture: CaptureServer) -> None:
    configure_channels(world, capture, twilio=False)
    capture.scripted = [(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})]

    with pytest.raises(NotificationError, match="telegram: 1 failed"):
        notifier(sns_event(engine_alert(Severity.WARNING), "warning"))
