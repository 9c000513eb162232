"""Binance USD-M payload parsing, request building and error mapping, on Binance's documented examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from binance.exceptions import BinanceAPIException, BinanceRequestException

from runtime.adapters.binance import parsing
from runtime.adapters.binance.config import BinanceConfig, BinanceEndpoints, BinanceRateLimits
from runtime.adapters.binance.errors import kind_for_code, scrub_signatures, translate
from runtime.adapters.binance.sdk import NeverSent, SendGuard, build_sdk_client
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.exchange import OrderRequest, OrderState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "binance" / "adapter"
KEY = "binance-test-key-0123456789abcdef"
SECRET = "binance-test-secret-fedcba9876543210"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def no_scrub(text: str) -> str:
    return text


# ----- instruments ---------------------------------------------------------------------------------------------


def test_documented_symbol_becomes_rules_from_filters_not_precisions() -> None:
    listed = parsing.parse_exchange_info(load("exchange_info.json"), {})
    blz = listed["BLZUSDT"]
    assert (blz.status, blz.contract_type, blz.is_trading) == ("TRADING", "PERPETUAL", True)
    rules = blz.rules
    assert rules.venue is Venue.BINANCE
    # pricePrecision is 5 and quantityPrecision 0: the steps come from PRICE_FILTER and LOT_SIZE instead.
    assert rules.tick_size == Decimal("0.0001")
    assert (rules.qty_step, rules.min_qty, rules.max_qty) == (Decimal(1), Decimal(1), Decimal(10000000))
    assert rules.max_market_qty == Decimal(590119)  # MARKET_LOT_SIZE
    assert rules.min_notional == Decimal("5.0")
    assert rules.max_leverage == parsing.MAX_LEVERAGE_CEILING  # no bracket given for BLZUSDT
    assert rules.unit_multiplier == Decimal(1)
    assert rules.reduce_only_exempt_min_notional and not rules.reduce_only_exempt_min_qty


def test_leverage_brackets_give_max_leverage() -> None:
    brackets = parsing.parse_leverage_brackets(load("leverage_bracket.json"))
    assert brackets == {"ETHUSDT": Decimal(75)}
    single = parsing.parse_leverage_brackets(load("leverage_bracket.json")[0])  # the "if symbol sent" shape
    assert single == brackets
    info = load("exchange_info.json")
    info["symbols"][0]["symbol"] = "ETHUSDT"
    assert parsing.parse_exchange_info(info, brackets)["ETHUSDT"].rules.max_leverage == Decimal(75)


def test_symbol_without_lot_size_is_a_payload_error() -> None:
    entry = load("exchange_info.json")["symbols"][0]
    entry["filters"] = [f for f in entry["filters"] if f["filterType"] != "LOT_SIZE"]
    with pytest.raises(parsing.PayloadError, match="LOT_SIZE"):
        parsing.parse_symbol(entry, None)


def test_market_lot_size_and_min_notional_are_optional() -> None:
    entry = load("exchange_info.json")["symbols"][0]
    entry["filters"] = [f for f in entry["filters"] if f["filterType"] in ("LOT_SIZE", "PRICE_FILTER")]
    rules = parsing.parse_symbol(entry, Decimal(20)).rules
    assert rules.max_market_qty == rules.max_qty == Decimal(10000000)  # no MARKET_LOT_SIZE: LOT_SIZE's max
    assert (rules.min_notional, rules.max_leverage) == (Decimal(0), Decimal(20))


@pytest.mark.parametrize(
    ("base", "multiplier"),
    [("BTC", 1), ("1INCH", 1), ("1000PEPE", 1000), ("1000000MOG", 1_000_000), ("1MBABYDOGE", 1_000_000)],
)
def test_unit_multiplier_from_the_base_asset(base: str, multiplier: int) -> None:
    assert parsing.unit_multiplier_for(base) == Decimal(multiplier)


# ----- account and positions -----------------------------------------------------------------------------------


def test_documented_account_gives_equity_and_no_flat_legs() -> None:
    account = load("account_v2.json")
    assert parsing.parse_equity(account) == Decimal("23.72469206")
    assert parsing.parse_account_positions(account) == []


def test_account_positions_carry_leverage_and_initial_margin() -> None:
    account = load("account_v2.json")
    account["positions"][0].update(positionAmt="-0.010", entryPrice="60000.0", positionInitialMargin="6.0")
    [leg] = parsing.parse_account_positions(account)
    assert (leg.symbol, leg.size, leg.position_idx) == ("BTCUSDT", Decimal("-0.010"), PositionIdx.ONE_WAY)
    assert (leg.entry_price, leg.leverage, leg.initial_margin) == (Decimal(60000), Decimal(100), Decimal(6))


def test_documented_position_risk_v3_one_way() -> None:
    [leg] = parsing.parse_positions(load("position_risk_v3_one_way.json"))
    assert (leg.venue, leg.symbol, leg.position_idx) == (Venue.BINANCE, "ADAUSDT", PositionIdx.ONE_WAY)
    assert leg.size == Decimal(30)
    assert (leg.entry_price, leg.initial_margin) == (Decimal("0.385"), Decimal("0.61571385"))
    assert leg.leverage == 0  # v3 carries no leverage


def test_documented_position_risk_v3_hedge_legs_are_signed() -> None:
    legs = parsing.parse_positions(load("position_risk_v3_hedge.json"))
    assert [(leg.symbol, leg.position_idx, leg.size) for leg in legs] == [
        ("ADAUSDT", PositionIdx.HEDGE_LONG, Decimal(30)),
        ("COMPUSDT", PositionIdx.HEDGE_SHORT, Decimal("-1.000")),
    ]


def test_documented_position_risk_v2_gives_leverage_and_omits_flat_legs() -> None:
    assert parsing.parse_positions(load("position_risk_v2_one_way.json")) == []
    assert parsing.parse_leverage(load("position_risk_v2_one_way.json"), "BTCUSDT") == Decimal(10)
    [long] = parsing.parse_positions(load("position_risk_v2_hedge.json"))
    assert (long.position_idx, long.size, long.leverage) == (PositionIdx.HEDGE_LONG, Decimal("0.001"), Decimal(4))
    with pytest.raises(parsing.PayloadError, match="ETHUSDT"):
        parsing.parse_leverage(load("position_risk_v2_hedge.json"), "ETHUSDT")


def test_a_float_or_a_missing_field_is_refused() -> None:
    rows = load("position_risk_v3_one_way.json")
    rows[0]["positionAmt"] = 30.0
    with pytest.raises(parsing.PayloadError, match="positionAmt"):
        parsing.parse_positions(rows)
    del rows[0]["positionAmt"]
    with pytest.raises(parsing.PayloadError, match="positionAmt"):
        parsing.parse_positions(rows)
    rows = load("position_risk_v3_one_way.json")
    rows[0]["positionSide"] = "SIDEWAYS"
    with pytest.raises(parsing.PayloadError, match="SIDEWAYS"):
        parsing.parse_positions(rows)


def test_position_mode() -> None:
    assert parsing.parse_position_mode(load("position_mode.json")) is PositionMode.HEDGE
    assert parsing.parse_position_mode({"dualSidePosition": False}) is PositionMode.ONE_WAY
    with pytest.raises(parsing.PayloadError):
        parsing.parse_position_mode({"dualSidePosition": "true"})


# ----- orders --------------------------------------------------------------------------------------------------


def test_documented_new_order() -> None:
    report = parsing.parse_order(load("order_new.json"))
    assert (report.client_order_id, report.venue_order_id, report.symbol) == ("testOrder", "22542179", "BTCUSDT")
    assert (report.side, report.qty, report.state) == (Side.BUY, Decimal(10), OrderState.NEW)
    assert (report.filled_qty, report.avg_price) == (Decimal(0), Decimal(0))


def test_documented_filled_order() -> None:
    report = parsing.parse_order(load("order_filled.json"))
    assert (report.state, report.side) == (OrderState.FILLED, Side.SELL)
    assert (report.qty, report.filled_qty, report.avg_price) == (
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("10913.21000"),
    )


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("CANCELED", OrderState.CANCELLED),
        ("EXPIRED", OrderState.CANCELLED),
        ("EXPIRED_IN_MATCH", OrderState.CANCELLED),
        ("PARTIALLY_FILLED", OrderState.PARTIALLY_FILLED),
        ("REJECTED", OrderState.REJECTED),
    ],
)
def test_order_statuses(status: str, state: OrderState) -> None:
    payload = load("order_canceled.json")
    payload["status"] = status
    assert parsing.parse_order(payload).state is state


def test_unknown_order_status_is_a_payload_error() -> None:
    payload = load("order_canceled.json")
    payload["status"] = "TELEPORTED"
    with pytest.raises(parsing.PayloadError, match="TELEPORTED"):
        parsing.parse_order(payload)


def test_one_way_order_params_carry_reduce_only() -> None:
    order = OrderRequest("BTCUSDT", Side.SELL, Decimal("1E-3"), "ct0123", reduce_only=True)
    assert parsing.new_order_params(order) == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "MARKET",
        "quantity": "0.001",
        "positionSide": "BOTH",
        "newClientOrderId": "ct0123",
        "newOrderRespType": "RESULT",
        "reduceOnly": "true",
    }
    assert "reduceOnly" not in parsing.new_order_params(OrderRequest("BTCUSDT", Side.BUY, Decimal(1), "ct1"))


def test_hedge_close_is_position_side_and_opposite_side_without_reduce_only() -> None:
    close_long = OrderRequest("BTCUSDT", Side.SELL, Decimal("0.5"), "ct2", True, PositionIdx.HEDGE_LONG)
    params = parsing.new_order_params(close_long)
    assert (params["positionSide"], params["side"]) == ("LONG", "SELL")
    assert "reduceOnly" not in params
    assert parsing.order_request_problem(close_long) is None
    close_short = OrderRequest("BTCUSDT", Side.BUY, Decimal("0.5"), "ct3", True, PositionIdx.HEDGE_SHORT)
    assert parsing.new_order_params(close_short)["positionSide"] == "SHORT"
    assert parsing.order_request_problem(close_short) is None


@pytest.mark.parametrize(
    ("order", "fragment"),
    [
        (OrderRequest("BTCUSDT", Side.BUY, Decimal(1), "ct:1"), "client order id"),
        (OrderRequest("BTCUSDT", Side.BUY, Decimal(1), "x" * 37), "client order id"),
        (OrderRequest("BTCUSDT", Side.BUY, Decimal(0), "ct1"), "positive"),
        (OrderRequest("BTCUSDT", Side.BUY, Decimal(1), "ct1", True, PositionIdx.HEDGE_LONG), "LONG"),
        (OrderRequest("BTCUSDT", Side.SELL, Decimal(1), "ct1", True, PositionIdx.HEDGE_SHORT), "SHORT"),
    ],
)
def test_orders_refused_before_sending(order: OrderRequest, fragment: str) -> None:
    problem = parsing.order_request_problem(order)
    assert problem is not None and fragment in problem


# ----- key permissions -----------------------------------------------------------------------------------------


def test_documented_key_permissions() -> None:
    permissions = parsing.parse_key_permissions(load("api_restrictions.json"))
    assert (permissions.valid, permissions.can_trade_futures, permissions.can_withdraw) == (True, False, False)
    assert "enableFutures=False" in permissions.detail


def test_key_that_can_withdraw_or_says_nothing_counts_as_withdrawing() -> None:
    payload = load("api_restrictions.json") | {"enableWithdrawals": True, "enableFutures": True}
    assert parsing.parse_key_permissions(payload).can_withdraw
    del payload["enableWithdrawals"]
    assert parsing.parse_key_permissions(payload).can_withdraw
    payload["enableWithdrawals"] = False
    permissions = parsing.parse_key_permissions(payload)
    assert (permissions.can_withdraw, permissions.can_trade_futures) == (False, True)


# ----- errors --------------------------------------------------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.headers = headers or {}
        self.request = None


def api_error(status: int, body: Any, headers: dict[str, str] | None = None) -> BinanceAPIException:
    response = FakeResponse(status, body, headers)
    return BinanceAPIException(response, status, response.text)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("-1021", ErrorKind.AUTH),
        ("-1022", ErrorKind.AUTH),
        ("-2015", ErrorKind.AUTH),
        ("-1111", ErrorKind.INVALID_ORDER),
        ("-2022", ErrorKind.INVALID_ORDER),
        ("-4164", ErrorKind.INVALID_ORDER),
        ("-2019", ErrorKind.INSUFFICIENT_MARGIN),
        ("-2013", ErrorKind.NOT_FOUND),
        ("-4116", ErrorKind.DUPLICATE_CLIENT_ID),
        ("-4046", ErrorKind.NOT_MODIFIED),
        ("-4059", ErrorKind.NOT_MODIFIED),
    ],
)
def test_documented_error_bodies_map_to_kinds(code: str, kind: ErrorKind) -> None:
    body = load("errors.json")[code]
    error = translate(api_error(400, body), no_scrub)
    assert (error.kind, error.raw_code, error.venue) == (kind, int(code), Venue.BINANCE)
    assert body["msg"] in error.venue_message


@pytest.mark.parametrize("code", [-2014, -4003, -4004, -4005, -4014, -4023])
def test_codes_named_in_the_brief(code: int) -> None:
    expected = ErrorKind.AUTH if code == -2014 else ErrorKind.INVALID_ORDER
    assert kind_for_code(code) is expected


def test_429_and_418_are_rate_limited_with_the_retry_after_hint() -> None:
    body = load("errors.json")["-1003"]
    error = translate(api_error(429, body, {"Retry-After": "7"}), no_scrub)
    assert (error.kind, error.raw_code, error.retry_after_s) == (ErrorKind.RATE_LIMITED, -1003, 7.0)
    banned = translate(api_error(418, {"code": -1003, "msg": "Way too many requests; IP banned"}, {}), no_scrub)
    assert (banned.kind, banned.retry_after_s) == (ErrorKind.RATE_LIMITED, None)
    assert "banned" in banned.venue_message


def test_server_errors_are_temporary_and_unknown_codes_keep_their_raw_code() -> None:
    assert translate(api_error(503, "<html>unavailable</html>"), no_scrub).kind is ErrorKind.TEMPORARY
    assert translate(api_error(500, {"code": -1001, "msg": "Internal error"}), no_scrub).kind is ErrorKind.TEMPORARY
    unknown = translate(api_error(400, {"code": -9999, "msg": "Something new"}), no_scrub)
    assert (unknown.kind, unknown.raw_code) == (ErrorKind.UNKNOWN, -9999)
    assert "Something new" in unknown.venue_message
    assert translate(BinanceRequestException("Invalid Response: <html>"), no_scrub).kind is ErrorKind.TEMPORARY


def test_mode_change_refusals_say_what_to_do() -> None:
    error = translate(api_error(400, {"code": -4068, "msg": "Position side cannot be changed..."}), no_scrub)
    assert error.kind is ErrorKind.INVALID_ORDER and "close the follower's positions" in error.venue_message


def test_transport_failures_are_temporary_and_scrubbed() -> None:
    url = f"http://127.0.0.1:1/fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature=abcdef0123 key={KEY}"
    error = translate(requests.ConnectionError(url), lambda text: text.replace(KEY, "***"))
    assert error.kind is ErrorKind.TEMPORARY
    assert "abcdef0123" not in str(error) and KEY not in str(error)
    assert translate(requests.ReadTimeout("read timed out"), no_scrub).kind is ErrorKind.TEMPORARY
    assert translate(TimeoutError(), no_scrub).kind is ErrorKind.TEMPORARY
    assert translate(RuntimeError("boom"), no_scrub).kind is ErrorKind.UNKNOWN
    already = ExchangeError(ErrorKind.AUTH, Venue.BINANCE, "x")
    assert translate(already, no_scrub) is already
    assert scrub_signatures("a=1&signature=ff00") == "a=1&signature=***"


# ----- config and SDK plumbing ---------------------------------------------------------------------------------


def test_config_hides_secrets_and_has_safe_defaults() -> None:
    config = BinanceConfig(KEY, SECRET)
    text = repr(config)
    assert KEY not in text and SECRET not in text and "bina***" in text
    assert config.endpoints == BinanceEndpoints.mainnet()
    assert config.settle_s == 5.0 + 1.5  # recvWindow 5000 ms + clock-skew margin
    assert config.key_id == BinanceConfig(KEY, "other").key_id != BinanceConfig("other-key", SECRET).key_id
    assert KEY not in config.key_id
    assert BinanceEndpoints.testnet().sapi_url is None
    assert BinanceEndpoints.at("http://127.0.0.1:9/") == BinanceEndpoints("http://127.0.0.1:9/fapi", "http://127.0.0.1:9/sapi")


@pytest.mark.parametrize(
    "changes",
    [{"api_key": ""}, {"timeout_s": 0}, {"recv_window_ms": 60001}, {"max_order_attempts": 0}],
)
def test_config_refuses_nonsense(changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {"api_key": KEY, "api_secret": SECRET} | changes
    with pytest.raises(ValueError):
        BinanceConfig(**values)


def test_rate_limits_stay_under_binance_limits() -> None:
    limits = BinanceRateLimits()
    assert limits.ip_key == "binance:ip"
    assert limits.ip_rate == pytest.approx(2400 * 0.8 / 60)
    assert limits.order_rate == pytest.approx(1200 * 0.8 / 60)
    with pytest.raises(ValueError):
        BinanceRateLimits(budget_fraction=1.5)


def test_sdk_client_points_every_url_at_the_override() -> None:
    config = BinanceConfig(KEY, SECRET, endpoints=BinanceEndpoints.at("http://127.0.0.1:9"), recv_window_ms=3000)
    sdk = build_sdk_client(config)
    assert sdk._create_futures_api_uri("order") == "http://127.0.0.1:9/fapi/v1/order"
    assert sdk._create_futures_api_uri("positionRisk", 3) == "http://127.0.0.1:9/fapi/v3/positionRisk"
    assert sdk._create_margin_api_uri("account/apiRestrictions") == "http://127.0.0.1:9/sapi/v1/account/apiRestrictions"
    assert sdk.REQUEST_RECVWINDOW == 3000
    assert sdk._requests_params == {"timeout": pytest.approx(0.8 * config.timeout_s)}  # ends before our deadline
    sdk.close_connection()


def test_send_guard_stops_a_late_start() -> None:
    calls: list[dict[str, Any]] = []
    guard = SendGuard()
    assert guard.abandon() is None  # abandoned before the thread ran
    with pytest.raises(NeverSent):
        guard.wrap(lambda **params: calls.append(params))(symbol="BTCUSDT")
    assert calls == []

    started = SendGuard()
    started.wrap(lambda **params: calls.append(params))(symbol="BTCUSDT")
    assert started.abandon() is not None and calls == [{"symbol": "BTCUSDT"}]
