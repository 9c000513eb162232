"""Each listed Binance error code, as python-binance raises it; authentication; injected faults."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from binance.client import Client

from runtime.sim.binance import BinanceSimulator
from tests.integration.sim_binance.conftest import admin_post, call, refused, sdk_client

MARKET = {"side": "BUY", "type": "MARKET"}


@pytest.mark.parametrize(
    ("order", "code"),
    [
        ({"symbol": "BTCUSDT", **MARKET}, -1102),  # quantity missing
        ({"symbol": "BTCUSDT", **MARKET, "quantity": "0.0015"}, -1111),  # more decimals than quantityPrecision 3
        ({"symbol": "NOPEUSDT", **MARKET, "quantity": "1"}, -1121),
        ({"symbol": "BTCUSDT", **MARKET, "quantity": "1"}, -2019),  # 60000 notional at 10x needs 6000 > 5000
        ({"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01", "reduceOnly": True}, -2022),
        ({"symbol": "BTCUSDT", **MARKET, "quantity": "0"}, -4003),
        ({"symbol": "SOLUSDT", **MARKET, "quantity": "0.5"}, -4004),  # min qty 1
        ({"symbol": "BTCUSDT", **MARKET, "quantity": "121"}, -4005),  # MARKET_LOT_SIZE maxQty 120
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "50000.05",
          "timeInForce": "GTC"}, -4014),  # tick 0.1, pricePrecision 2
        ({"symbol": "BTCUSDT", **MARKET, "quantity": "0.01", "newClientOrderId": "a" * 37}, -4015),
        ({"symbol": "SOLUSDT", **MARKET, "quantity": "1.55"}, -4023),  # step 0.1 within quantityPrecision 2
        ({"symbol": "BTCUSDT", **MARKET, "quantity": "0.001"}, -4164),  # 60 USDT < MIN_NOTIONAL 100
    ],
)
async def test_order_rule_violations(sim: BinanceSimulator, order: dict[str, Any], code: int) -> None:
    client = sdk_client(sim, sim.register_account("poor", Decimal("5000")))
    error = await refused(client.futures_create_order, **order)
    assert (error.status_code, error.code) == (400, code), error.message
    assert error.message  # every refusal says what went wrong


async def test_min_notional_message_names_the_minimum(client: Client) -> None:
    error = await refused(client.futures_create_order, symbol="BTCUSDT", **MARKET, quantity="0.001")
    assert error.message == "Order's notional must be no smaller than 100 (unless you choose reduce only)."


async def test_bad_signature_is_1022(sim: BinanceSimulator, client: Client) -> None:
    creds = sim.credentials_for_account("alice")
    assert creds is not None
    forged = sdk_client(sim, creds, secret="not-the-secret")
    error = await refused(forged.futures_account)
    assert (error.status_code, error.code, error.message) == (400, -1022, "Signature for this request is not valid.")


async def test_stale_timestamp_is_1021(client: Client) -> None:
    client.timestamp_offset = -15_000  # python-binance sends recvWindow=10000
    error = await refused(client.futures_create_order, symbol="BTCUSDT", **MARKET, quantity="0.01")
    assert (error.code, error.message) == (-1021, "Timestamp for this request is outside of the recvWindow.")
    client.timestamp_offset = 5_000
    assert (await refused(client.futures_account)).code == -1021  # more than 1 s ahead of the server


async def test_unknown_and_missing_api_keys(sim: BinanceSimulator) -> None:
    unknown = await refused(sdk_client(sim, None, key="nobody", secret="x").futures_account)
    assert (unknown.status_code, unknown.code) == (401, -2015)
    missing = await refused(sdk_client(sim, None, key="", secret="x").futures_account)
    assert (missing.status_code, missing.code) == (401, -2014)
    assert (await refused(sdk_client(sim, None, key="nobody", secret="x").futures_stream_get_listen_key)).code == -2015


async def test_unknown_listen_key_is_1125(client: Client) -> None:
    assert (await refused(client.futures_stream_keepalive, listenKey="no-such-key")).code == -1125


async def test_injected_latency_shows_in_call_time(sim: BinanceSimulator, client: Client) -> None:
    status, _ = await call(admin_post, sim, "/admin/faults", {"latency": {"order": {"fixed_s": "0.4"}}})
    assert status == 200
    started = time.monotonic()
    await call(client.futures_create_order, symbol="BTCUSDT", **MARKET, quantity="0.01")
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    await call(client.futures_account)  # another endpoint class: no added latency
    assert time.monotonic() - started < 0.4


async def test_injected_rate_limit_is_429_with_retry_after(sim: BinanceSimulator, client: Client) -> None:
    await call(admin_post, sim, "/admin/faults", {"errors": [{"class": "order", "kind": "rate_limit", "count": 1}]})
    error = await refused(client.futures_create_order, symbol="BTCUSDT", **MARKET, quantity="0.01")
    assert (error.status_code, error.code) == (429, -1003)
    assert error.response.headers["Retry-After"] == "1"
    assert sim.engine.positions("alice") == []  # refused before processing
    placed = await call(client.futures_create_order, symbol="BTCUSDT", **MARKET, quantity="0.01")
    assert placed["status"] == "NEW"  # the rule was used up


async def test_injected_server_error_is_a_5xx(sim: BinanceSimulator, client: Client) -> None:
    await call(admin_post, sim, "/admin/faults", {"errors": [{"class": "read", "kind": "server_error", "count": 1}]})
    error = await refused(client.futures_position_information)
    assert (error.status_code, error.code) == (503, -1001)
    assert await call(client.futures_position_information) == []


async def test_admin_account_with_withdrawal_permission(sim: BinanceSimulator) -> None:
    body = {"name": "risky", "balance": "100", "can_withdraw": True}
    status, creds = await call(admin_post, sim, "/admin/accounts", body)
    assert status == 200
    permissions = await call(sdk_client(sim, None, key=creds["api_key"], secret=creds["api_secret"])
                             .get_account_api_permissions)
    assert permissions["enableWithdrawals"] is True
    status, error = await call(admin_post, sim, "/admin/accounts", {"name": "x", "balance": "1", "can_withdraw": "y"})
    assert (status, error["field"]) == (400, "can_withdraw")
