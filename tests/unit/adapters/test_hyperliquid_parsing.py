"""Hyperliquid adapter, pure parts: payload parsing (on the venue's documented examples), precision, wire actions,
nonces, error mapping and the secret-free config. No network."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.signing import action_hash, order_request_to_order_wire, order_wires_to_order_action
from hyperliquid.utils.types import Cloid
from hypothesis import given
from hypothesis import strategies as st

from runtime.adapters.hyperliquid import errors, parsing, wire
from runtime.adapters.hyperliquid.config import HyperliquidConfig, HyperliquidCredentials
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Side
from runtime.ports.exchange import OrderState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hyperliquid" / "adapter"
D = Decimal


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# ----- meta, mids and rules ------------------------------------------------------------------------------------


def test_meta_from_the_documented_example_keeps_index_as_asset_id_and_flags():
    assets = parsing.parse_meta(fixture("meta.json"))
    assert list(assets) == ["BTC", "ETH", "HPOS", "LOOM"]
    assert (assets["BTC"].asset, assets["BTC"].sz_decimals, assets["BTC"].max_leverage) == (0, 5, 50)
    assert assets["ETH"].asset == 1
    assert assets["HPOS"].only_isolated and not assets["HPOS"].is_delisted
    assert assets["LOOM"].is_delisted


def test_all_mids_are_decimals_from_strings():
    assert parsing.parse_mids(fixture("all_mids.json")) == {"APE": D("4.33245"), "ARB": D("1.21695")}


def test_rules_map_sz_decimals_to_step_and_the_price_rule_to_a_tick_at_the_mid():
    assets = parsing.parse_meta(fixture("meta.json"))
    btc = parsing.instrument_rules(assets["BTC"], D("60000"), min_notional=D(10), max_qty=D(10**9))
    assert (btc.qty_step, btc.min_qty, btc.tick_size) == (D("0.00001"), D("0.00001"), D(1))
    assert (btc.min_notional, btc.max_leverage, btc.unit_multiplier) == (D(10), D(50), D(1))
    assert btc.reduce_only_exempt_min_notional and not btc.reduce_only_exempt_min_qty
    eth = parsing.instrument_rules(assets["ETH"], D("3000"), min_notional=D(10), max_qty=D(10**9))
    assert (eth.qty_step, eth.tick_size) == (D("0.0001"), D("0.1"))
    no_mid = parsing.instrument_rules(assets["ETH"], None, min_notional=D(10), max_qty=D(10**9))
    assert no_mid.tick_size == D("0.01")  # the finest step 6 - szDecimals decimals allow


@pytest.mark.parametrize(
    ("coin", "multiplier"), [("kPEPE", 1000), ("kSHIB", 1000), ("BTC", 1), ("k", 1), ("kava", 1), ("K", 1)]
)
def test_thousand_unit_coins_are_named_k_plus_ticker(coin, multiplier):
    assert parsing.unit_multiplier(coin) == D(multiplier)


# ----- precision -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "sz_decimals", "tick"),
    [
        ("60000", 5, "1"),  # 5 figures reach the units
        ("123456.7", 5, "1"),  # integers are always valid, never coarser than 1
        ("3000", 4, "0.1"),
        ("150.25", 2, "0.01"),
        ("0.6", 0, "0.00001"),
        ("0.012", 0, "0.000001"),  # 6 - 0 decimals
        ("0.012", 2, "0.0001"),  # only 6 - 2 decimals
        ("25", 5, "0.1"),  # 5 figures would allow 0.001, 6 - 5 decimals allow 0.1
    ],
)
def test_price_tick(price, sz_decimals, tick):
    assert wire.price_tick(D(price), sz_decimals) == D(tick)


def test_slippage_price_moves_through_the_mid_and_rounds_away_from_it():
    assert wire.slippage_price(D("60000"), True, D("0.05"), 5) == D("63000")
    assert wire.slippage_price(D("60000"), False, D("0.05"), 5) == D("57000")
    assert wire.slippage_price(D("3012.34"), True, D("0.05"), 4) == D("3163")  # 3162.957 -> up to 0.1 -> 3163.0
    assert wire.slippage_price(D("3012.34"), False, D("0.05"), 4) == D("2861.7")  # 2861.723 -> down


def _valid_perp_price(price: Decimal, sz_decimals: int) -> bool:
    """Independent statement of the venue's rule."""
    if price == price.to_integral_value():
        return True
    exponent = price.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return len(price.normalize().as_tuple().digits) <= 5 and -exponent <= 6 - sz_decimals


@given(
    mid=st.decimals(min_value=D("0.000001"), max_value=D("500000"), places=6, allow_nan=False, allow_infinity=False),
    sz_decimals=st.integers(min_value=0, max_value=5),
    is_buy=st.booleans(),
)
def test_slippage_price_is_always_valid_and_never_tighter_than_asked(mid, sz_decimals, is_buy):
    if mid <= 0:
        return
    slippage = D("0.05")
    target = mid * (1 + slippage) if is_buy else mid * (1 - slippage)
    try:
        price = wire.slippage_price(mid, is_buy, slippage, sz_decimals)
    except ExchangeError:
        assert not is_buy and target < wire.price_tick(target, sz_decimals)  # no valid price above zero
        return
    assert _valid_perp_price(price, sz_decimals)
    assert (price >= target) if is_buy else (price <= target)
    assert abs(price - target) < wire.price_tick(target, sz_decimals)


@pytest.mark.parametrize(
    ("size", "sz_decimals", "valid"), [("0.001", 3, True), ("0.0015", 3, False), ("10", 0, True), ("0", 2, False)]
)
def test_size_rule(size, sz_decimals, valid):
    assert wire.size_is_valid(D(size), sz_decimals) is valid


# ----- account state -------------------------------------------------------------------------------------------


def test_clearinghouse_state_from_the_documented_example():
    state = parsing.parse_clearinghouse_state(fixture("clearinghouse_state.json"))
    assert state.account_value == D("13109.482328")
    assert state.withdrawable == D("13104.514502")
    (eth,) = state.positions
    assert (eth.coin, eth.szi, eth.entry_px) == ("ETH", D("0.0335"), D("2986.3"))
    assert (eth.leverage_type, eth.leverage, eth.margin_used) == ("isolated", D(20), D("4.967826"))
    position = eth.to_follower_position()
    assert (position.symbol, position.size, position.leverage, position.initial_margin) == (
        "ETH",
        D("0.0335"),
        D(20),
        D("4.967826"),
    )
    assert int(position.position_idx) == 0


def test_a_short_is_negative_szi():
    payload = fixture("clearinghouse_state.json")
    payload["assetPositions"][0]["position"]["szi"] = "-1.5"
    assert parsing.parse_clearinghouse_state(payload).positions[0].to_follower_position().size == D("-1.5")


def test_a_float_on_the_wire_is_refused_not_guessed():
    payload = fixture("clearinghouse_state.json")
    payload["marginSummary"]["accountValue"] = 13109.48
    with pytest.raises(ExchangeError) as caught:
        parsing.parse_clearinghouse_state(payload)
    assert caught.value.kind is ErrorKind.UNKNOWN


# ----- orders --------------------------------------------------------------------------------------------------


def test_order_status_from_the_documented_example():
    order = parsing.parse_order_status(fixture("order_status_filled.json"))
    assert order is not None
    assert (order.coin, order.side, order.oid, order.cloid) == ("ETH", Side.SELL, 1, None)
    assert (order.orig_sz, order.filled_sz) == (D("0.0076"), D("0.0076"))
    assert order.state_for(order.filled_sz) is OrderState.FILLED
    report = order.report("0x" + "a" * 32, order.filled_sz, D("2412.5"))
    assert (report.venue_order_id, report.filled_qty, report.avg_price) == ("1", D("0.0076"), D("2412.5"))


def test_unknown_oid_is_none():
    assert parsing.parse_order_status(fixture("order_status_unknown.json")) is None


@pytest.mark.parametrize(
    ("status", "remaining", "state"),
    [
        ("open", "0.0076", OrderState.NEW),
        ("open", "0.0050", OrderState.PARTIALLY_FILLED),
        ("canceled", "0.0076", OrderState.CANCELLED),
        ("marginCanceled", "0.0076", OrderState.CANCELLED),
        ("canceled", "0.0026", OrderState.PARTIALLY_FILLED),  # an IOC whose remainder was cancelled
        ("iocCancelRejected", "0.0076", OrderState.REJECTED),
        ("minTradeNtlRejected", "0.0076", OrderState.REJECTED),
        ("rejected", "0.0076", OrderState.REJECTED),
    ],
)
def test_order_status_words_map_to_states(status, remaining, state):
    payload = fixture("order_status_filled.json")
    payload["order"]["status"] = status
    payload["order"]["order"]["sz"] = remaining
    order = parsing.parse_order_status(payload)
    assert order is not None and order.state_for(order.filled_sz) is state


def test_a_closed_order_takes_its_filled_quantity_from_the_fills():
    payload = fixture("order_status_filled.json")
    payload["order"]["status"] = "canceled"  # sz "0.0": as if all filled, but the fills say otherwise
    order = parsing.parse_order_status(payload)
    assert order is not None and not order.is_live
    report = order.report("0x" + "a" * 32, D(0), D(0))
    assert (report.state, report.filled_qty, report.avg_price) == (OrderState.CANCELLED, D(0), D(0))


def test_order_answers_from_the_documented_examples():
    (resting,) = parsing.parse_order_statuses(fixture("exchange_order_resting.json"))
    assert resting.resting and resting.oid == 77738308
    (filled,) = parsing.parse_order_statuses(fixture("exchange_order_filled.json"))
    assert (filled.oid, filled.total_sz, filled.avg_px) == (77747314, D("0.02"), D("1891.4"))
    (refused,) = parsing.parse_order_statuses(fixture("exchange_order_error.json"))
    assert refused.error == "Order must have minimum value of $10."
    assert errors.order_rejected(refused.error).kind is ErrorKind.INVALID_ORDER


def test_an_action_level_error_raises_the_mapped_kind():
    with pytest.raises(ExchangeError) as caught:
        parsing.parse_order_statuses(fixture("exchange_action_error.json"))
    assert caught.value.kind is ErrorKind.AUTH
    assert "approve the agent" in str(caught.value)
    with pytest.raises(ExchangeError):
        parsing.check_default_ok(fixture("exchange_action_error.json"))
    parsing.check_default_ok(fixture("exchange_default_ok.json"))  # no error


def test_cancel_answers_from_the_documented_examples():
    assert parsing.parse_cancel_statuses(fixture("exchange_cancel_success.json")) == [None]
    (message,) = parsing.parse_cancel_statuses(fixture("exchange_cancel_error.json"))
    assert message is not None and errors.cancel_rejected(message).kind is ErrorKind.NOT_FOUND


def test_fills_of_an_order_average_by_size():
    assert parsing.fills_of_order(fixture("user_fills.json"), 90542681) == (D("93.53"), D("18.435"))
    assert parsing.fills_of_order(fixture("user_fills.json"), 1) == (D(0), D(0))
    two = [{"oid": 7, "px": "100", "sz": "1"}, {"oid": 7, "px": "110", "sz": "3"}, {"oid": 8, "px": "1", "sz": "9"}]
    assert parsing.fills_of_order(two, 7) == (D(4), D("107.5"))


# ----- agents --------------------------------------------------------------------------------------------------


def test_extra_agents_and_user_roles():
    (agent,) = parsing.parse_extra_agents(fixture("extra_agents.json"))
    assert (agent.name, agent.address, agent.valid_until_ms) == (
        "copytrader",
        "0x0123456789abcdef0123456789abcdef01234567",
        1767225600000,
    )
    assert parsing.parse_user_role(fixture("user_role_agent.json")) == (
        "agent",
        "0x85ecf584f25db6f146718b86d493e33c5af72052",
    )
    assert parsing.parse_user_role(fixture("user_role_user.json")) == ("user", None)
    assert parsing.parse_user_role(fixture("user_role_missing.json")) == ("missing", None)


# ----- wire: actions, cloids, nonces ---------------------------------------------------------------------------


def test_order_action_is_byte_identical_to_the_sdks_for_the_same_order():
    cloid = "0x" + "ab" * 16
    ours = wire.order_action(1, True, D("3163"), D("0.0123"), False, cloid)
    request = {
        "coin": "ETH",
        "is_buy": True,
        "sz": 0.0123,
        "limit_px": 3163.0,
        "order_type": {"limit": {"tif": "Ioc"}},
        "reduce_only": False,
        "cloid": Cloid(cloid),
    }
    sdk = order_wires_to_order_action([order_request_to_order_wire(request, 1)])
    assert json.dumps(ours) == json.dumps(sdk)  # same keys, same order, same strings
    assert action_hash(ours, None, 1, None) == action_hash(sdk, None, 1, None)


def test_update_leverage_and_cancel_actions_have_the_sdk_shape():
    assert list(wire.update_leverage_action(3, 7)) == ["type", "asset", "isCross", "leverage"]
    assert wire.cancel_by_cloid_action(0, "0x" + "0" * 32) == {
        "type": "cancelByCloid",
        "cancels": [{"asset": 0, "cloid": "0x" + "0" * 32}],
    }


def test_cloids_are_validated_and_lower_cased():
    assert wire.normalize_cloid("0x" + "AB" * 16) == "0x" + "ab" * 16
    for bad in ("ct" + "a" * 32, "0x" + "a" * 31, "0x" + "g" * 32, ""):
        with pytest.raises(ExchangeError) as caught:
            wire.normalize_cloid(bad)
        assert caught.value.kind is ErrorKind.INVALID_ORDER


def test_nonces_strictly_increase_within_one_millisecond_and_across_threads():
    source = wire.NonceSource(clock_ms=lambda: 1_700_000_000_000)
    assert [source.next() for _ in range(3)] == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    shared = wire.NonceSource()
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [shared.next() for _ in range(200)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1600


def test_one_signer_shares_one_nonce_source():
    assert wire.shared_nonce_source("0xAbC") is wire.shared_nonce_source("0xabc")


# ----- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Price must be divisible by tick size.", ErrorKind.INVALID_ORDER),
        ("Order must have minimum value of $10.", ErrorKind.INVALID_ORDER),
        ("Insufficient margin to place order.", ErrorKind.INSUFFICIENT_MARGIN),
        ("Reduce only order would increase position.", ErrorKind.INVALID_ORDER),
        ("Order could not immediately match against any resting orders.", ErrorKind.INVALID_ORDER),
        ("No liquidity available for market order.", ErrorKind.INVALID_ORDER),
        ("Order would cause position to exceed margin tier limit at current leverage", ErrorKind.INSUFFICIENT_MARGIN),
        ("Order has a duplicate cloid: an order with this cloid was already placed.", ErrorKind.DUPLICATE_CLIENT_ID),
        ("Something new the venue says", ErrorKind.UNKNOWN),
    ],
)
def test_order_error_strings(message, kind):
    error = errors.order_rejected(message)
    assert error.kind is kind and message in error.venue_message


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("User or API Wallet 0xabc does not exist.", ErrorKind.AUTH),
        ("Invalid nonce: duplicate nonce", ErrorKind.TEMPORARY),
        ("Too many cumulative requests sent", ErrorKind.RATE_LIMITED),
        ("Insufficient margin to set leverage 40 on BTC", ErrorKind.INSUFFICIENT_MARGIN),
        ("Invalid leverage value: 50 is above the maximum leverage 40 of BTC.", ErrorKind.INVALID_ORDER),
        ("Vault trading is not supported", ErrorKind.UNKNOWN),
    ],
)
def test_action_error_strings(message, kind):
    assert errors.action_rejected(message).kind is kind


def test_transport_failures():
    limited = errors.from_transport(ClientError(429, None, "429 Too Many Requests", None, {"Retry-After": "3"}), "x")
    assert (limited.kind, limited.retry_after_s, limited.raw_code) == (ErrorKind.RATE_LIMITED, 3.0, 429)
    assert errors.from_transport(ServerError(502, "bad gateway"), "read").kind is ErrorKind.TEMPORARY
    answered = errors.from_transport(ServerError(500, "oops"), "order", order_sent=True)
    assert answered.kind is ErrorKind.TEMPORARY and errors.answered_5xx(answered)  # the client looks it up first
    assert not errors.answered_5xx(limited)
    read_timeout = requests.exceptions.ReadTimeout("read timed out")
    assert errors.from_transport(read_timeout, "order", order_sent=True).kind is ErrorKind.AMBIGUOUS
    assert errors.from_transport(read_timeout, "read").kind is ErrorKind.TEMPORARY
    never_left = requests.exceptions.ConnectTimeout("connect timed out")
    assert errors.from_transport(never_left, "order", order_sent=True).kind is ErrorKind.TEMPORARY
    assert errors.from_transport(TimeoutError(), "order", order_sent=True).kind is ErrorKind.AMBIGUOUS
    unreadable = errors.from_transport(ClientError(422, None, "Failed to deserialize", None, {}), "x")
    assert unreadable.kind is ErrorKind.INVALID_ORDER


# ----- config and credentials ----------------------------------------------------------------------------------

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def test_credentials_never_show_the_key():
    credentials = HyperliquidCredentials("0x" + "AB" * 20, KEY)
    assert KEY not in repr(credentials) and KEY[2:] not in repr(credentials)
    assert credentials.account_address == "0x" + "ab" * 20
    with pytest.raises(ValueError) as caught:
        HyperliquidCredentials("0x" + "ab" * 20, KEY[:-1])
    assert KEY[:-1] not in str(caught.value)
    with pytest.raises(ValueError, match="account address"):
        HyperliquidCredentials("not-an-address", KEY)


def test_config_defaults_and_checks():
    config = HyperliquidConfig()
    assert config.is_mainnet and config.slippage == D("0.05")
    assert not HyperliquidConfig.testnet().is_mainnet
    assert HyperliquidConfig(base_url="http://127.0.0.1:9/").base_url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="slippage"):
        HyperliquidConfig(slippage=D("1.5"))
