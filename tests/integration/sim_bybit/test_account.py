"""Leverage, position mode, hedge legs, position-list shapes and the public market endpoints through pybit."""

from __future__ import annotations

from typing import Any

from pybit.unified_trading import HTTP

from tests.integration.sim_bybit.conftest import SimHost


def _legs(session: HTTP, **query: str) -> list[dict[str, Any]]:
    legs: list[dict[str, Any]] = session.get_positions(category="linear", **query)["result"]["list"]
    return legs


def test_leverage_change_then_not_modified(host: SimHost) -> None:
    session = host.new_account().http(ignore_codes={110043})
    changed = session.set_leverage(category="linear", symbol="ETHUSDT", buyLeverage="5", sellLeverage="5")
    assert changed["retCode"] == 0
    assert _legs(session, symbol="ETHUSDT")[0]["leverage"] == "5"
    again = session.set_leverage(category="linear", symbol="ETHUSDT", buyLeverage="5", sellLeverage="5")
    assert again["retCode"] == 110043  # "not modified": the engine treats it as success
    session.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Market", qty="1")
    leg = _legs(session, symbol="ETHUSDT")[0]
    assert leg["positionIM"] == "600"  # 1 x 3000 / 5


def test_flat_entries_as_bybit_shows_them(host: SimHost) -> None:
    one_way = host.new_account().http()
    flat = _legs(one_way, symbol="SOLUSDT")
    assert [(p["positionIdx"], p["side"], p["size"], p["seq"]) for p in flat] == [(0, "", "0", -1)]
    assert _legs(one_way, settleCoin="USDT") == []  # settleCoin lists only non-flat legs

    hedge = host.new_account(mode="hedge").http()
    legs = _legs(hedge, symbol="SOLUSDT")
    assert [(p["positionIdx"], p["side"], p["size"]) for p in legs] == [(1, "", "0"), (2, "", "0")]


def test_hedge_mode_orders_on_both_legs(host: SimHost) -> None:
    session = host.new_account(balance="100000").http()
    assert session.switch_position_mode(category="linear", coin="USDT", mode=3)["retCode"] == 0
    order = {"category": "linear", "symbol": "BTCUSDT", "orderType": "Market"}
    session.place_order(**order, side="Buy", qty="0.03", positionIdx=1)
    session.place_order(**order, side="Sell", qty="0.02", positionIdx=2)
    legs = _legs(session, symbol="BTCUSDT")
    assert [(p["positionIdx"], p["side"], p["size"]) for p in legs] == [(1, "Buy", "0.03"), (2, "Sell", "0.02")]
    # Closing the long leg: Sell + positionIdx 1 + reduceOnly; the short leg is untouched.
    session.place_order(**order, side="Sell", qty="0.03", positionIdx=1, reduceOnly=True)
    legs = _legs(session, symbol="BTCUSDT")
    assert [(p["positionIdx"], p["side"], p["size"]) for p in legs] == [(1, "", "0"), (2, "Sell", "0.02")]
    assert [(p["positionIdx"], p["size"]) for p in _legs(session, settleCoin="USDT")] == [(2, "0.02")]


def test_switch_back_to_one_way_when_flat(host: SimHost) -> None:
    session = host.new_account(mode="hedge").http()
    assert session.switch_position_mode(category="linear", symbol="BTCUSDT", mode=0)["retCode"] == 0
    assert [p["positionIdx"] for p in _legs(session, symbol="BTCUSDT")] == [0]


def test_public_market_endpoints(host: SimHost) -> None:
    session = HTTP()  # no keys: public calls are unsigned
    session.endpoint = host.base_url
    btc = session.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert btc["contractType"] == "LinearPerpetual" and btc["status"] == "Trading"
    assert btc["lotSizeFilter"]["qtyStep"] == "0.001"
    assert btc["lotSizeFilter"]["maxMktOrderQty"] == "500"
    assert btc["lotSizeFilter"]["minNotionalValue"] == "5"
    assert btc["priceFilter"]["tickSize"] == "0.1"
    assert btc["leverageFilter"]["maxLeverage"] == "100"
    everything = session.get_instruments_info(category="linear")["result"]["list"]
    assert {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "1000PEPEUSDT"} <= {i["symbol"] for i in everything}

    host.admin("marks", {"symbol": "XRPUSDT", "price": "0.6123"})
    ticker = session.get_tickers(category="linear", symbol="XRPUSDT")["result"]["list"][0]
    assert ticker["markPrice"] == "0.6123"
    server_time = session.get_server_time()["result"]
    assert server_time["timeNano"].startswith(server_time["timeSecond"])
