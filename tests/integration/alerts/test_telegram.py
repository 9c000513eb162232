"""The Telegram channel against a local server speaking the Bot API's sendMessage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from pydantic import SecretStr

from runtime.adapters.notifiers.telegram import TelegramNotifier
from runtime.services.alerts.model import DeliveryError, Severity
from tests.integration.alerts.capture import CaptureServer, refused_port
from tests.integration.alerts.conftest import BOT_TOKEN
from tests.unit.alerts.fakes import make_alert


@pytest.fixture
async def notifier(telegram_server: CaptureServer) -> AsyncIterator[TelegramNotifier]:
    channel = TelegramNotifier(SecretStr(BOT_TOKEN), "-1001234567890", telegram_server.base_url, request_timeout_s=2)
    yield channel
    await channel.close()


async def test_posts_chat_id_and_text_to_the_bot_path(
    notifier: TelegramNotifier, telegram_server: CaptureServer
) -> None:
    alert = make_alert(Severity.CRITICAL)
    await notifier.send(alert)
    [request] = telegram_server.requests
    assert request.method == "POST"
    assert request.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == {"chat_id": "-1001234567890", "text": alert.as_text()}


async def test_long_text_is_cut_to_the_bot_api_limit(
    notifier: TelegramNotifier, telegram_server: CaptureServer
) -> None:
    await notifier.send(replace(make_alert(), text="x" * 5000))
    text = telegram_server.requests[0].json()["text"]
    assert len(text) == 4096 and text.endswith("…")


async def test_a_refused_token_is_permanent_and_its_text_is_scrubbed(
    notifier: TelegramNotifier, telegram_server: CaptureServer
) -> None:
    # A hostile answer that echoes the token: it must still not reach the error text.
    telegram_server.scripted.append(
        (401, {"ok": False, "error_code": 401, "description": f"Unauthorized: bot{BOT_TOKEN} revoked"})
    )
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(make_alert())
    assert not caught.value.retryable
    assert "refused the bot token (HTTP 401" in str(caught.value)
    assert "bot_token_env" in str(caught.value)
    assert BOT_TOKEN not in str(caught.value)


async def test_an_unknown_chat_is_permanent(notifier: TelegramNotifier, telegram_server: CaptureServer) -> None:
    telegram_server.scripted.append(
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    )
    with pytest.raises(DeliveryError, match=r"chat not found.*check alerts\.telegram\.chat_id") as caught:
        await notifier.send(make_alert())
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (
            429,
            {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 3}},
            "HTTP 429: Too Many Requests; Telegram asks to wait 3 s",
        ),
        (502, {"ok": False, "description": "Bad Gateway"}, "HTTP 502: Bad Gateway"),
    ],
)
async def test_throttling_and_server_errors_are_retryable(
    notifier: TelegramNotifier, telegram_server: CaptureServer, status: int, answer: dict[str, object], expected: str
) -> None:
    telegram_server.scripted.append((status, answer))
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(make_alert())
    assert caught.value.retryable
    assert expected in str(caught.value)


async def test_connection_refused_is_retryable_and_names_no_token() -> None:
    channel = TelegramNotifier(SecretStr(BOT_TOKEN), "42", f"http://127.0.0.1:{refused_port()}")
    try:
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_alert())
    finally:
        await channel.close()
    assert caught.value.retryable
    assert "Cannot connect" in str(caught.value) or "refused" in str(caught.value).lower()
    assert BOT_TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
