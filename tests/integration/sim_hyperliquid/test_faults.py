"""Injected latency and errors as the SDK experiences them: slower calls, ClientError 429, ServerError 5xx."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.types import Cloid

from tests.integration.sim_hyperliquid.conftest import Admin, HlAccount, call

GTC = {"limit": {"tif": "Gtc"}}


async def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await call(fn, *args)
    return result, time.monotonic() - started


async def test_injected_order_latency_shows_in_the_measured_call_time(
    exchange: Exchange, info: Info, admin: Admin, alice: HlAccount
) -> None:
    _, baseline = await timed(exchange.order, "BTC", True, 0.001, 50000, GTC)
    await admin.faults(latency={"order": {"fixed_s": "0.4"}})
    result, slow = await timed(exchange.order, "BTC", True, 0.001, 50000, GTC)
    assert "resting" in result["response"]["data"]["statuses"][0]
    assert slow >= 0.4 > baseline
    _, read = await timed(info.user_state, alice.address)
    assert read < 0.4  # reads are another endpoint class


async def test_injected_rate_limit_is_a_client_error_429_and_the_order_is_not_placed(
    exchange: Exchange, info: Info, admin: Admin, alice: HlAccount
) -> None:
    await admin.faults(errors=[{"class": "order", "kind": "rate_limit", "count": 1}])
    with pytest.raises(ClientError) as caught:
        await call(exchange.market_open, "BTC", True, 0.001)
    assert caught.value.status_code == 429
    assert (await call(info.user_state, alice.address))["assetPositions"] == []
    assert "filled" in (await call(exchange.market_open, "BTC", True, 0.001))["response"]["data"]["statuses"][0]


async def test_injected_server_error_is_a_server_error(info: Info, admin: Admin, alice: HlAccount) -> None:
    await admin.faults(errors=[{"class": "read", "kind": "server_error", "count": 1}])
    with pytest.raises(ServerError) as caught:
        await call(info.user_state, alice.address)
    assert caught.value.status_code == 500
    assert (await call(info.user_state, alice.address))["assetPositions"] == []


async def test_server_error_after_processing_leaves_the_order_placed(
    exchange: Exchange, info: Info, admin: Admin, alice: HlAccount
) -> None:
    # The venue took the order but the answer was lost: the engine must find it by cloid.
    cloid = Cloid.from_int(5)
    await admin.faults(errors=[{"class": "order", "kind": "server_error", "count": 1, "process_first": True}])
    with pytest.raises(ServerError):
        await call(exchange.market_open, "ETH", True, 0.01, None, 0.05, cloid)
    found = await call(info.query_order_by_cloid, alice.address, cloid)
    assert found["order"]["status"] == "filled"


async def test_unreadable_body_is_a_422_client_error(exchange: Exchange) -> None:
    with pytest.raises(ClientError) as caught:
        await call(exchange.post, "/exchange", {"action": {"type": "order"}, "nonce": "soon"})
    assert caught.value.status_code == 422
    assert "Failed to deserialize" in caught.value.error_message
