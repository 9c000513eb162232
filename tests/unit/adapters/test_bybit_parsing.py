"""Bybit payload parsing and error mapping, on payloads written from Bybit's documented examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from runtime.adapters.bybit import BybitClient, BybitConfig, BybitCredentials, errors, parsing
from runtime.adapters.bybit.client import build_http
from runtime.adapters.common.redaction import SecretRegistry
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import OrderState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bybit" / "adapter"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return payload


def listed(name: str) -> list[dict[str, Any]]:
    return parsing.list_of(parsing.result_of(load(name), name), name)


# ----- instruments ---------------------------------------------------------------------------------------------


def test_documented_btcusdt_instrument_becomes_rules() -> None:
    by_symbol = {item["symbol"]: parsing.BybitInstrument.parse(item) for item in listed("instruments_info_linear.json")}
    rules = by_symbol["BTCUSDT"].to_rules()
    assert rules.venue is Venue.BYBIT
    assert (rules.qty_step, rules.tick_size, rules.min_qty) == (Decimal("0.001"), Decimal("0.10"), Decimal("0.001"))
    assert (rules.max_qty, rules.max_market_qty) == (Decimal("1190"), Decimal("500"))
    assert (rules.min_notional, rules.max_leverage, rules.unit_multiplier) == (Decimal(5), Decimal(100), Decimal(1))
    assert rules.reduce_only_exempt_min_notional and not rules.reduce_only_exempt_min_qty


def test_pre_market_and_thousand_unit_instruments() -> None:
    by_symbol = {item["symbol"]: parsing.BybitInstrument.parse(item) for item in listed("instruments_info_linear.json")}
    bio = by_symbol["BIOUSDT"]
    assert bio.status == "PreLaunch"
    assert bio.to_rules().max_market_qty == Decimal(14000)
    pepe = by_symbol["1000PEPEUSDT"].to_rules()
    assert (pepe.unit_multiplier, pepe.qty_step, pepe.tick_size) == (Decimal(1000), Decimal(100), Decimal("1E-7"))


@pytest.mark.parametrize(
    ("base_coin", "multiplier"),
    [("BTC", "1"), ("1000PEPE", "1000"), ("SHIB1000", "1000"), ("10000SATS", "10000"), ("1INCH", "1")],
)
def test_unit_multiplier_from_the_base_coin(base_coin: str, multiplier: str) -> None:
    assert parsing.unit_multiplier(base_coin) == Decimal(multiplier)


def test_instrument_without_lot_filter_is_reported_as_malformed() -> None:
    item = dict(listed("instruments_info_linear.json")[0])
    del item["lotSizeFilter"]
    with pytest.raises(ExchangeError) as caught:
        parsing.BybitInstrument.parse(item)
    assert caught.value.kind is ErrorKind.UNKNOWN
    assert "lotSizeFilter" in caught.value.venue_message


def test_missing_market_cap_falls_back_to_the_order_cap() -> None:
    item = json.loads(json.dumps(listed("instruments_info_linear.json")[0]))
    del item["lotSizeFilter"]["maxMktOrderQty"]
    assert parsing.BybitInstrument.parse(item).to_rules().max_market_qty == Decimal("1190")


# ----- positions -----------------------------------------------------------------------------------------------


def test_documented_short_position_is_negative() -> None:
    [row] = [parsing.BybitPositionRow.parse(item) for item in listed("position_list.json")]
    position = row.to_position()
    assert position is not None
    assert (position.symbol, position.size, position.position_idx) == ("BTCUSD", Decimal(-300), PositionIdx.ONE_WAY)
    assert position.entry_price == Decimal("27464.50441675")
    assert (position.leverage, position.initial_margin) == (Decimal(10), Decimal("0.00010923"))
    assert parsing.position_mode_of([row]) is PositionMode.ONE_WAY


def test_hedge_legs_are_signed_and_flat_legs_dropped() -> None:
    rows = [parsing.BybitPositionRow.parse(item) for item in listed("position_list_hedge.json")]
    legs = [row.to_position() for row in rows]
    assert legs[2] is None  # BTCUSDT leg 1 is flat (side "")
    assert [(p.symbol, int(p.position_idx), p.size) for p in legs if p is not None] == [
        ("ETHUSDT", 1, Decimal("1.25")),
        ("ETHUSDT", 2, Decimal("-0.4")),
    ]
    assert rows[0].leverage_value() == Decimal("12.5")
    assert parsing.position_mode_of(rows) is PositionMode.HEDGE


def test_a_float_on_the_wire_is_refused() -> None:
    item = dict(listed("position_list.json")[0], size=0.1)
    with pytest.raises(ExchangeError, match="float"):
        parsing.BybitPositionRow.parse(item)


def test_non_flat_leg_without_side_is_malformed() -> None:
    item = dict(listed("position_list.json")[0], side="")
    with pytest.raises(ExchangeError, match="side"):
        parsing.BybitPositionRow.parse(item).to_position()


# ----- wallet, orders, keys ------------------------------------------------------------------------------------


def test_documented_wallet_equity() -> None:
    [wallet] = [parsing.BybitWallet.parse(item) for item in listed("wallet_balance.json")]
    assert wallet.accountType == "UNIFIED"
    assert wallet.equity() == Decimal("18070.32797922")


def test_documented_open_order_report() -> None:
    [row] = [parsing.BybitOrderRow.parse(item) for item in listed("order_realtime.json")]
    report = row.to_report()
    assert (report.client_order_id, report.venue_order_id) == ("test-000005", "fd4300ae-7847-404e-b947-b46980a4d140")
    assert (report.symbol, report.side, report.qty, report.state) == (
        "ETHUSDT",
        Side.BUY,
        Decimal("0.10"),
        OrderState.NEW,
    )
    assert (report.filled_qty, report.avg_price) == (Decimal(0), Decimal(0))


def test_filled_market_order_report() -> None:
    [row] = [parsing.BybitOrderRow.parse(item) for item in listed("order_realtime_filled.json")]
    report = row.to_report()
    assert (report.state, report.side, report.filled_qty) == (OrderState.FILLED, Side.SELL, Decimal("0.015"))
    assert report.avg_price == Decimal("60012.3")


@pytest.mark.parametrize(
    ("status", "state"),
    [("PartiallyFilled", OrderState.PARTIALLY_FILLED), ("PartiallyFilledCanceled", OrderState.CANCELLED),
     ("Rejected", OrderState.REJECTED), ("Cancelled", OrderState.CANCELLED)],
)  # fmt: skip
def test_order_states(status: str, state: OrderState) -> None:
    item = dict(listed("order_realtime.json")[0], orderStatus=status, avgPrice="")
    report = parsing.BybitOrderRow.parse(item).to_report()
    assert report.state is state
    assert report.avg_price == 0  # UTA's "" for "no average price"


def test_unknown_order_status_is_malformed() -> None:
    item = dict(listed("order_realtime.json")[0], orderStatus="Teleported")
    with pytest.raises(ExchangeError, match="Teleported"):
        parsing.BybitOrderRow.parse(item).to_report()


def test_documented_transfer_only_key_cannot_trade() -> None:
    permissions = parsing.BybitKeyInfo.parse(parsing.result_of(load("query_api.json"), "key")).to_permissions()
    assert permissions.valid and not permissions.can_trade_futures and not permissions.can_withdraw
    assert "Order" in permissions.detail


def test_documented_trading_key_is_safe() -> None:
    permissions = parsing.BybitKeyInfo.parse(parsing.result_of(load("query_api_trading.json"), "key")).to_permissions()
    assert permissions.valid and permissions.can_trade_futures and not permissions.can_withdraw


def test_withdraw_permission_is_detected() -> None:
    permissions = parsing.BybitKeyInfo.parse(parsing.result_of(load("query_api_withdraw.json"), "key")).to_permissions()
    assert permissions.can_withdraw


def test_read_only_key_cannot_trade() -> None:
    result = dict(parsing.result_of(load("query_api_trading.json"), "key"), readOnly=1)
    permissions = parsing.BybitKeyInfo.parse(result).to_permissions()
    assert not permissions.can_trade_futures
    assert permissions.detail == "read-only key"


def test_envelope_without_result_is_malformed() -> None:
    with pytest.raises(ExchangeError) as caught:
        parsing.result_of({"retCode": 0, "retMsg": "OK"}, "wallet-balance")
    assert caught.value.kind is ErrorKind.UNKNOWN


# ----- errors --------------------------------------------------------------------------------------------------


def _invalid(code: int, message: str, headers: dict[str, str] | None = None) -> InvalidRequestError:
    return InvalidRequestError(request="POST /v5/order/create: {}", message=message, status_code=code, time="00:00:00",
                               resp_headers=headers or {})  # fmt: skip


def _failed(status: int, message: str = "HTTP status code is not 200.") -> FailedRequestError:
    return FailedRequestError(request="GET /v5/x", message=message, status_code=status, time="0", resp_headers={})


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (10001, ErrorKind.INVALID_ORDER),
        (10003, ErrorKind.AUTH),
        (10004, ErrorKind.AUTH),
        (10002, ErrorKind.AUTH),
        (10016, ErrorKind.TEMPORARY),
        (110001, ErrorKind.NOT_FOUND),
        (110007, ErrorKind.INSUFFICIENT_MARGIN),
        (110044, ErrorKind.INSUFFICIENT_MARGIN),
        (110017, ErrorKind.INVALID_ORDER),
        (110094, ErrorKind.INVALID_ORDER),
        (110025, ErrorKind.NOT_MODIFIED),
        (110043, ErrorKind.NOT_MODIFIED),
        (110072, ErrorKind.DUPLICATE_CLIENT_ID),
        (987654, ErrorKind.UNKNOWN),
    ],
)
def test_ret_codes_map_to_kinds_keeping_code_and_message(code: int, kind: ErrorKind) -> None:
    error = errors.from_exception(_invalid(code, "venue says no"), what="place order")
    assert (error.kind, error.raw_code, error.venue) == (kind, code, Venue.BYBIT)
    assert "place order: venue says no" in error.venue_message
    assert errors.ADVICE[kind] in error.venue_message


def test_rate_limit_hint_from_the_reset_header() -> None:
    headers = {errors.RATE_LIMIT_RESET_HEADER: "1700000000750"}
    assert errors.rate_limit_hint(headers, default_s=1.0, max_s=10.0, now_ms=1700000000000) == 0.75
    assert errors.rate_limit_hint(headers, default_s=1.0, max_s=10.0, now_ms=1700000001000) == 0.0
    assert errors.rate_limit_hint(headers, default_s=1.0, max_s=0.5, now_ms=1700000000000) == 0.5
    assert errors.rate_limit_hint({}, default_s=1.5, max_s=10.0) == 1.5
    assert errors.rate_limit_hint({errors.RATE_LIMIT_RESET_HEADER: "soon"}, default_s=2.0, max_s=10.0) == 2.0


def test_rate_limited_answer_carries_the_hint() -> None:
    error = errors.from_exception(_invalid(10006, "Too many visits"), what="positions", default_backoff_s=1.25)
    assert error.kind is ErrorKind.RATE_LIMITED and error.retryable
    assert error.retry_after_s == 1.25  # no header: the default


@pytest.mark.parametrize(
    ("status", "kind"),
    [(503, ErrorKind.TEMPORARY), (502, ErrorKind.TEMPORARY), (409, ErrorKind.TEMPORARY), (403, ErrorKind.RATE_LIMITED),
     (401, ErrorKind.AUTH), (404, ErrorKind.UNKNOWN)],
)  # fmt: skip
def test_http_status_failures(status: int, kind: ErrorKind) -> None:
    error = errors.from_exception(_failed(status), what="equity")
    assert (error.kind, error.raw_code) == (kind, status)


def test_lost_answers_are_ambiguous_only_for_orders() -> None:
    for lost in (requests.exceptions.ReadTimeout("read timed out"), requests.exceptions.ConnectionError("reset"),
                 TimeoutError()):  # fmt: skip
        assert errors.from_exception(lost, what="place", order_sent=True).kind is ErrorKind.AMBIGUOUS
        assert errors.from_exception(lost, what="positions").kind is ErrorKind.TEMPORARY
    # A connect timeout never sent anything.
    connect = requests.exceptions.ConnectTimeout("connect timed out")
    assert errors.from_exception(connect, what="place", order_sent=True).kind is ErrorKind.TEMPORARY


def test_secrets_are_scrubbed_from_error_text() -> None:
    secrets = SecretRegistry()
    secrets.add("sekrit-value-123")
    error = errors.from_exception(_invalid(10004, "sign mismatch for sekrit-value-123"), what="x", secrets=secrets)
    assert "sekrit-value-123" not in str(error)
    assert "***" in error.venue_message


def test_unexpected_exception_is_unknown_without_its_text() -> None:
    error = errors.from_exception(RuntimeError("api_secret=abc"), what="equity")
    assert error.kind is ErrorKind.UNKNOWN
    assert "abc" not in str(error)


# ----- configuration -------------------------------------------------------------------------------------------


def test_pybit_session_is_pointed_at_the_override_and_does_not_retry_by_itself() -> None:
    config = BybitConfig(base_url="http://127.0.0.1:9/", call_timeout_s=2.0)
    http = build_http(BybitCredentials("key-123456", "secret-abcdef"), config)
    try:
        assert http.endpoint == "http://127.0.0.1:9"
        assert http.max_retries == 1 and not http.retry_codes and not http.force_retry
        assert 0 < http.timeout < config.call_timeout_s
    finally:
        http.client.close()


async def test_config_and_credentials_validate_and_hide_the_secret() -> None:
    with pytest.raises(ValueError, match="http"):
        BybitConfig(base_url="api.bybit.com")
    with pytest.raises(ValueError, match="must both be set"):
        BybitCredentials("key", " ")
    credentials = BybitCredentials("AbCdEfGhIjKl", "the-secret-value")
    assert "the-secret-value" not in repr(credentials) and "AbCdEfGhIjKl" not in repr(credentials)
    client = BybitClient(credentials, BybitConfig.testnet())
    assert "the-secret-value" not in repr(client) and "api-testnet.bybit.com" in repr(client)
    await client.close()
