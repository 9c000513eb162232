from __future__ import annotations

import logging

import pytest

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.console import ConsoleNotifier
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.config.credentials import MissingSecretError
from runtime.config.sections import AlertsConfig
from runtime.services.alerts.factory import alert_secret_references, build_alert_dispatcher, build_alert_routes
from runtime.services.alerts.model import Severity
from tests.unit.alerts.fakes import make_alert

FULL = {
    "console_min_severity": "warning",
    "telegram": {"chat_id": 42},
    "twilio": {"from_number": "+15005550006", "to_numbers": ["+447700900001"]},
    "sns": {"topic_arn": "arn:aws:sns:eu-west-1:123456789012:copytrader-alerts"},
    "webhook": {"url_env": "ALERT_WEBHOOK_URL", "min_severity": "critical"},
}
ENV = {
    "TELEGRAM_BOT_TOKEN": "123:telegram-token-value",
    "TWILIO_ACCOUNT_SID": "AC-sid-value-0001",
    "TWILIO_AUTH_TOKEN": "twilio-token-value",
    "ALERT_WEBHOOK_URL": "https://hooks.example.com/T0/B0/webhook-secret",
}


async def test_every_configured_channel_is_routed_by_its_min_severity() -> None:
    routes = build_alert_routes(AlertsConfig.model_validate(FULL), ENV)
    assert [(route.channel.name, route.min_severity) for route in routes] == [
        ("console", Severity.WARNING),
        ("telegram", Severity.WARNING),
        ("twilio", Severity.CRITICAL),  # SMS defaults to critical only
        ("sns", Severity.WARNING),
        ("webhook", Severity.CRITICAL),
    ]
    for route in routes:
        await route.channel.close()


async def test_console_can_be_turned_off_and_a_feed_added() -> None:
    feed = AlertFeed()
    dispatcher = build_alert_dispatcher(AlertsConfig(console=False), {}, feed=feed)
    assert dispatcher.channel_names == ["feed"]
    await dispatcher.start()
    dispatcher.notify(alert := make_alert(Severity.INFO))
    assert await dispatcher.drain(1.0)
    await dispatcher.close()
    assert feed.recent() == [alert]


def test_all_missing_secrets_are_named_at_once() -> None:
    config = AlertsConfig.model_validate(FULL)
    with pytest.raises(MissingSecretError) as caught:
        build_alert_routes(config, {"TWILIO_AUTH_TOKEN": "set"})
    assert [ref.env_var for ref in caught.value.missing] == [
        "TELEGRAM_BOT_TOKEN",
        "TWILIO_ACCOUNT_SID",
        "ALERT_WEBHOOK_URL",
    ]
    assert "export it before starting copytrader" in str(caught.value)
    assert [ref.field for ref in alert_secret_references(config)] == [
        "alerts.telegram.bot_token_env",
        "alerts.twilio.account_sid_env",
        "alerts.twilio.auth_token_env",
        "alerts.webhook.url_env",
    ]


async def test_secrets_and_literal_webhook_urls_are_registered_for_redaction() -> None:
    registry = SecretRegistry()
    config = AlertsConfig.model_validate({**FULL, "webhook": {"url": "https://chat.example.com/hook/abcdef123"}})
    routes = build_alert_routes(config, ENV, secrets=registry)
    line = "token 123:telegram-token-value sid AC-sid-value-0001 auth twilio-token-value at /hook/abcdef123"
    assert registry.redact("url https://chat.example.com/hook/abcdef123") == "url ***"
    assert "value" not in registry.redact(line)
    for route in routes:
        await route.channel.close()


async def test_console_logs_at_the_alert_severity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    console = ConsoleNotifier()
    for severity in Severity:
        await console.send(make_alert(severity, key=f"k-{severity.value}"))
    records = [r for r in caplog.records if r.name == "copytrader.alerts"]
    assert [r.levelno for r in records] == [logging.INFO, logging.WARNING, logging.CRITICAL]
    assert records[2].getMessage().startswith("ALERT [CRITICAL] Size mismatch")
    assert records[2].getMessage().endswith("(-16.7%) [k-critical]")


async def test_feed_keeps_the_newest_and_survives_a_broken_listener(caplog: pytest.LogCaptureFixture) -> None:
    feed = AlertFeed(capacity=2)
    seen: list[str] = []

    def broken(alert: object) -> None:
        raise RuntimeError("view bug")

    feed.subscribe(broken)
    feed.subscribe(lambda alert: seen.append(alert.key))
    alerts = [make_alert() for _ in range(3)]
    for alert in alerts:
        await feed.send(alert)
    assert feed.recent() == alerts[1:]
    assert seen == [a.key for a in alerts]
    assert sum("alert feed listener" in r.getMessage() for r in caplog.records) == 1
