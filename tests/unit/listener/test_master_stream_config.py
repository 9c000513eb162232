"""Stream settings, credentials hygiene, the login signature and the wiring defaults."""

from __future__ import annotations

import pytest

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.listener.build import build_master_feed
from runtime.listener.master_stream import auth_signature
from runtime.listener.master_stream_config import (
    MAINNET_PRIVATE_URL,
    TESTNET_PRIVATE_URL,
    MasterStreamConfig,
    StreamCredentials,
)
from runtime.sim.bybit.auth import sign_ws


def test_defaults_are_bybit_mainnet_with_a_20_s_ping() -> None:
    config = MasterStreamConfig()
    assert config.url == "wss://stream.bybit.com/v5/private" == MAINNET_PRIVATE_URL
    assert config.topics == ("execution", "order", "position", "wallet")
    assert config.heartbeat.ping_interval_s == 20.0
    assert config.detection_bound_s == 30.0


def test_testnet_and_explicit_urls() -> None:
    assert MasterStreamConfig.for_network(testnet=True).url == TESTNET_PRIVATE_URL
    assert MasterStreamConfig.for_network(url="ws://127.0.0.1:9/v5/private").url == "ws://127.0.0.1:9/v5/private"


@pytest.mark.parametrize("url", ["https://stream.bybit.com/v5/private", "stream.bybit.com"])
def test_a_url_that_is_not_a_websocket_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="must start with ws:// or wss://"):
        MasterStreamConfig(url=url)


def test_non_positive_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="ack_timeout_s must be positive"):
        MasterStreamConfig(ack_timeout_s=0)


def test_credentials_are_required_and_never_shown() -> None:
    with pytest.raises(ValueError, match="API key and secret are both required"):
        StreamCredentials("key", "")
    credentials = StreamCredentials("ABCDEFGHIJ", "very-secret-value")
    assert "very-secret-value" not in repr(credentials) and "ABCDEFGHIJ" not in repr(credentials)
    assert "ABCD***" in repr(credentials)


def test_the_login_signature_is_the_one_bybit_verifies() -> None:
    assert auth_signature("secret", 1_700_000_000_000) == sign_ws("secret", 1_700_000_000_000)
    assert len(auth_signature("secret", 1)) == 64


def test_the_wiring_defaults_to_mainnet_and_does_no_io() -> None:
    async def sink(change: object) -> None:
        return None

    runner = BlockingCallRunner(max_workers=1)
    try:
        feed = build_master_feed("m1", StreamCredentials("k" * 10, "s" * 20), sink, runner=runner)
        assert feed.stream is not None and feed.stream.config.url == MAINNET_PRIVATE_URL
        testnet = build_master_feed("m1", StreamCredentials("k" * 10, "s" * 20), sink, runner=runner, testnet=True)
        assert testnet.stream is not None and testnet.stream.config.url == TESTNET_PRIVATE_URL
        assert testnet.rest.config.testnet is True  # type: ignore[attr-defined]
        assert "s" * 20 not in repr(feed.stream) + repr(feed.rest)
    finally:
        runner.shutdown()
