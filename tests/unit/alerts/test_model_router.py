from __future__ import annotations

import dataclasses

import pytest

from runtime.services.alerts.model import Alert, Severity
from runtime.services.alerts.router import AlertRouter, Route
from tests.unit.alerts.fakes import FakeChannel, make_alert


def test_severities_are_ordered_info_warning_critical() -> None:
    assert Severity.CRITICAL.at_least(Severity.WARNING)
    assert Severity.WARNING.at_least(Severity.WARNING)
    assert not Severity.INFO.at_least(Severity.WARNING)
    assert not Severity.WARNING.at_least(Severity.CRITICAL)
    assert Severity("critical") is Severity.CRITICAL  # the config's strings parse


def test_alert_is_frozen_and_hashable() -> None:
    alert = make_alert()
    with pytest.raises(dataclasses.FrozenInstanceError):
        alert.title = "changed"  # type: ignore[misc]
    assert {alert: 1}[dataclasses.replace(alert)] == 1


def test_headline_and_text_carry_severity_and_context() -> None:
    alert = Alert(
        "k", "MissingPosition", Severity.CRITICAL, "Position missing", "master holds 1 BTC", 5, "bob", "BTCUSDT"
    )
    assert alert.headline() == "[CRITICAL] Position missing (follower bob, BTCUSDT)"
    assert alert.as_text() == "[CRITICAL] Position missing (follower bob, BTCUSDT)\nmaster holds 1 BTC"
    bare = Alert("k", "EngineStarted", Severity.INFO, "Engine started", "", 5)
    assert bare.as_text() == "[INFO] Engine started"


def test_json_form_uses_plain_types() -> None:
    alert = make_alert(Severity.INFO, key="audit:x")
    assert alert.to_json() == {
        "key": "audit:x",
        "kind": "SizeMismatch",
        "severity": "info",
        "title": alert.title,
        "text": alert.text,
        "follower_id": "alice",
        "symbol": "BTCUSDT",
        "created_ms": alert.created_ms,
    }


def test_router_sends_each_alert_to_channels_at_or_below_its_severity() -> None:
    console, telegram, sms = FakeChannel("console"), FakeChannel("telegram"), FakeChannel("twilio")
    router = AlertRouter(
        [Route(console, Severity.INFO), Route(telegram, Severity.WARNING), Route(sms, Severity.CRITICAL)]
    )
    assert router.channels_for(make_alert(Severity.INFO)) == [console]
    assert router.channels_for(make_alert(Severity.WARNING)) == [console, telegram]
    assert router.channels_for(make_alert(Severity.CRITICAL)) == [console, telegram, sms]


def test_router_refuses_two_channels_with_one_name() -> None:
    with pytest.raises(ValueError, match="repeated: telegram"):
        AlertRouter([Route(FakeChannel("telegram"), Severity.INFO), Route(FakeChannel("telegram"), Severity.INFO)])
