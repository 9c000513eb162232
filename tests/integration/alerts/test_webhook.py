"""The generic webhook channel against a local capture server."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from runtime.adapters.notifiers.webhook import WebhookNotifier
from runtime.services.alerts.model import DeliveryError, Severity
from tests.integration.alerts.capture import CaptureServer
from tests.unit.alerts.fakes import make_alert

SECRET_PATH = "/hooks/T000/B000/XXXXsecretXXXX"


async def test_posts_the_alert_as_json(webhook_server: CaptureServer) -> None:
    channel = WebhookNotifier(SecretStr(webhook_server.base_url + SECRET_PATH))
    alert = make_alert(Severity.INFO)
    try:
        await channel.send(alert)
    finally:
        await channel.close()
    [request] = webhook_server.requests
    assert (request.method, request.path) == ("POST", SECRET_PATH)
    assert request.json() == alert.to_json()


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (404, False), (410, False)])
async def test_failures_name_the_host_but_not_the_secret_url(
    webhook_server: CaptureServer, status: int, retryable: bool
) -> None:
    webhook_server.scripted.append((status, {"error": f"no hook at {SECRET_PATH}"}))
    channel = WebhookNotifier(SecretStr(webhook_server.base_url + SECRET_PATH))
    try:
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_alert())
    finally:
        await channel.close()
    assert caught.value.retryable is retryable
    expected = f"127.0.0.1 answered HTTP {status}" if retryable else f"127.0.0.1 refused the alert (HTTP {status}"
    assert expected in str(caught.value)
    assert "XXXXsecretXXXX" not in str(caught.value)
