"""Shape checks of Bybit request parameters (10001 refusals)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.domain.values import Side
from runtime.sim.bybit.codes import BybitError, RetCode
from runtime.sim.bybit.params import parse_create_order, parse_set_leverage, parse_switch_mode

BASE = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.010"}


def test_market_order_defaults() -> None:
    parsed = parse_create_order(BASE)
    assert parsed.side is Side.BUY
    assert parsed.qty == Decimal("0.010")
    assert parsed.time_in_force == "IOC"
    assert parsed.position_idx == 0
    assert parsed.price is None
    assert parsed.reduce_only is False


def test_limit_order_needs_price_and_defaults_to_gtc() -> None:
    with pytest.raises(BybitError) as info:
        parse_create_order({**BASE, "orderType": "Limit"})
    assert info.value.code is RetCode.PARAMS
    parsed = parse_create_order({**BASE, "orderType": "Limit", "price": "30000.5"})
    assert parsed.time_in_force == "GTC"
    assert parsed.price == Decimal("30000.5")


@pytest.mark.parametrize(
    "override",
    [
        {"category": "spot"},
        {"side": "buy"},
        {"orderType": "Stop"},
        {"qty": "0"},
        {"qty": "abc"},
        {"positionIdx": 5},
        {"orderLinkId": "x" * 37},
        {"orderLinkId": "bad id!"},
        {"timeInForce": "GTD"},
        {"reduceOnly": "maybe"},
    ],
)
def test_malformed_orders_are_10001(override: dict[str, object]) -> None:
    with pytest.raises(BybitError) as info:
        parse_create_order({**BASE, **override})
    assert info.value.code is RetCode.PARAMS


def test_order_link_id_of_36_chars_is_fine() -> None:
    assert parse_create_order({**BASE, "orderLinkId": "a-" * 18}).order_link_id == "a-" * 18


def test_leverage_and_mode_params() -> None:
    lev = parse_set_leverage({"category": "linear", "symbol": "BTCUSDT", "buyLeverage": "5", "sellLeverage": "5"})
    assert lev.buy_leverage == Decimal(5)
    assert parse_switch_mode({"category": "linear", "coin": "USDT", "mode": 3}).hedge is True
    with pytest.raises(BybitError):
        parse_switch_mode({"category": "linear", "coin": "USDT", "mode": 1})
