"""The SMS channel through the real twilio SDK, pointed at a local server speaking Twilio's REST shape."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from twilio.http.http_client import TwilioHttpClient

from runtime.adapters.notifiers.twilio_sms import TwilioSmsNotifier
from runtime.services.alerts.model import DeliveryError, Severity
from tests.integration.alerts.capture import CaptureServer, refused_port
from tests.integration.alerts.conftest import TWILIO_SID, TWILIO_TOKEN
from tests.unit.alerts.fakes import make_alert

FROM = "+15005550006"
TO = ("+447700900001", "+447700900002")
MESSAGES_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
TWILIO_ERROR_500 = {"code": 20500, "message": "Internal Server Error", "more_info": "", "status": 500}


def sms_channel(base_url: str) -> TwilioSmsNotifier:
    return TwilioSmsNotifier(SecretStr(TWILIO_SID), SecretStr(TWILIO_TOKEN), FROM, TO, base_url, request_timeout_s=2)


@pytest.fixture
async def notifier(twilio_server: CaptureServer) -> AsyncIterator[TwilioSmsNotifier]:
    channel = sms_channel(twilio_server.base_url)
    yield channel
    await channel.close()


async def test_one_message_resource_per_number_with_basic_auth(
    notifier: TwilioSmsNotifier, twilio_server: CaptureServer
) -> None:
    alert = make_alert(Severity.CRITICAL)
    await notifier.send(alert)
    assert [r.path for r in twilio_server.requests] == [MESSAGES_PATH, MESSAGES_PATH]
    expected_auth = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    for request, number in zip(twilio_server.requests, TO, strict=True):
        assert request.method == "POST"
        assert request.headers["Authorization"] == expected_auth
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert request.form() == {"To": [number], "From": [FROM], "Body": [alert.as_text()]}


async def test_a_retry_texts_only_the_numbers_that_missed_the_alert(
    notifier: TwilioSmsNotifier, twilio_server: CaptureServer
) -> None:
    twilio_server.scripted.append((500, TWILIO_ERROR_500))  # the first number's request fails
    alert = make_alert(Severity.CRITICAL)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(alert)
    assert caught.value.retryable
    assert f"to {TO[0]}: HTTP 500 (Twilio error 20500)" in str(caught.value)
    await notifier.send(alert)
    assert [r.form()["To"][0] for r in twilio_server.requests] == [TO[0], TO[1], TO[0]]


async def test_refused_credentials_are_permanent_and_secret_free(
    notifier: TwilioSmsNotifier, twilio_server: CaptureServer
) -> None:
    refusal = {"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003"}
    twilio_server.scripted.extend([(401, {**refusal, "status": 401})] * 2)
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(make_alert(Severity.CRITICAL))
    assert not caught.value.retryable
    assert "Twilio refused the credentials, HTTP 401 (Twilio error 20003)" in str(caught.value)
    assert "auth_token_env" in str(caught.value)
    assert TWILIO_TOKEN not in str(caught.value) and TWILIO_SID not in str(caught.value)


async def test_an_invalid_number_is_permanent(notifier: TwilioSmsNotifier, twilio_server: CaptureServer) -> None:
    invalid = {"code": 21211, "message": "The 'To' number is not valid.", "status": 400}
    twilio_server.scripted.extend([(400, invalid)] * 2)
    with pytest.raises(DeliveryError, match=r"Twilio error 21211.*check alerts\.twilio\.from_number") as caught:
        await notifier.send(make_alert(Severity.CRITICAL))
    assert not caught.value.retryable


async def test_a_gateway_that_is_down_is_retryable_and_nothing_secret_is_logged(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    channel = sms_channel(f"http://127.0.0.1:{refused_port()}")
    try:
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_alert(Severity.CRITICAL))
    finally:
        await channel.close()
    assert caught.value.retryable
    assert "ConnectionError" in str(caught.value)
    for text in (str(caught.value), all_logs.text):
        assert TWILIO_TOKEN not in text and TWILIO_SID not in text


async def test_a_base_url_path_prefix_is_kept(twilio_server: CaptureServer) -> None:
    channel = sms_channel(f"{twilio_server.base_url}/proxy/twilio/")
    try:
        await channel.send(make_alert(Severity.CRITICAL))
    finally:
        await channel.close()
    assert twilio_server.requests[0].path == f"/proxy/twilio{MESSAGES_PATH}"


async def test_the_real_api_base_leaves_the_sdk_untouched() -> None:
    channel = sms_channel("https://api.twilio.com/")
    try:
        assert type(channel._client.http_client) is TwilioHttpClient  # edge/region settings keep working
    finally:
        await channel.close()
