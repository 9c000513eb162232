from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from moto.server import ThreadedMotoServer

from tests.integration.alerts.capture import CaptureServer, HangingServer, no_content, telegram_ok, twilio_created

BOT_TOKEN = "123456789:AAHsecretBotTokenNeverLogged-xyz_0123"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"


@pytest.fixture
async def telegram_server() -> AsyncIterator[CaptureServer]:
    server = CaptureServer(telegram_ok)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def twilio_server() -> AsyncIterator[CaptureServer]:
    server = CaptureServer(twilio_created)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def webhook_server() -> AsyncIterator[CaptureServer]:
    server = CaptureServer(no_content)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def hanging_server() -> AsyncIterator[HangingServer]:
    server = HangingServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A local AWS (moto server) on a free port, shared by a module's tests."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so boto3 signs requests for moto; never real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, libraries included, so a leak anywhere would show."""
    caplog.set_level(logging.DEBUG)
    return caplog
