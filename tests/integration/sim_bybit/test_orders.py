"""Orders through pybit's HTTP client: fills, look-ups by client id, cancel, reduce-only capping, executions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from tests.integration.sim_bybit.conftest import SimHost


def _market(session: HTTP, side: str, qty: str, link: str = "", **extra: Any) -> dict[str, Any]:
    placed: dict[str, Any] = session.place_order(
        category="linear", symbol="BTCUSDT", side=side, orderType="Market", qty=qty, orderLinkId=link or None, **extra
    )
    return placed


def test_market_order_fills_and_position_and_equity_read_back(host: SimHost) -> None:
    acct = host.new_account(balance="10000")
    session = acct.http()

    placed = _market(session, "Buy", "0.1", "open-1")
    assert placed["retCode"] == 0
    assert placed["result"]["orderLinkId"] == "open-1"
    assert set(placed["result"]) == {"orderId", "orderLinkId"}  # an acknowledgement only

    position = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert len(position) == 1
    leg = position[0]
    assert (leg["positionIdx"], leg["side"], leg["size"], leg["avgPrice"]) == (0, "Buy", "0.1", "60000")
    # IM = 0.1 x 60000 / 10 (default leverage) = 600
    assert (leg["leverage"], leg["positionIM"], leg["positionValue"]) == ("10", "600", "6000")

    host.admin("marks", {"symbol": "BTCUSDT", "price": "61000"})
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    # uPnL = 0.1 x (61000 - 60000) = 100; equity = 10000 + 100; available = equity - IM 600
    assert wallet["totalEquity"] == "10100"
    assert wallet["totalPerpUPL"] == "100"
    assert wallet["totalAvailableBalance"] == "9500"
    assert wallet["totalInitialMargin"] == "600"
    assert wallet["coin"][0]["coin"] == "USDT"
    leg = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (leg["markPrice"], leg["unrealisedPnl"]) == ("61000", "100")


def test_lookup_by_order_link_id_returns_the_filled_order(host: SimHost) -> None:
    session = host.new_account().http()
    placed = _market(session, "Sell", "0.01", "look-me-up")

    found = session.get_open_orders(category="linear", orderLinkId="look-me-up")["result"]["list"]
    assert len(found) == 1
    order = found[0]
    assert order["orderId"] == placed["result"]["orderId"]
    assert (order["orderStatus"], order["cumExecQty"], order["avgPrice"], order["side"]) == (
        "Filled",
        "0.01",
        "60000",
        "Sell",
    )
    by_id = session.get_open_orders(category="linear", orderId=placed["result"]["orderId"])["result"]["list"]
    assert by_id[0]["orderLinkId"] == "look-me-up"
    # Never seen: an empty list, not an error (what the engine's "place only if never seen" relies on).
    assert session.get_open_orders(category="linear", orderLinkId="never-sent")["result"]["list"] == []


def test_duplicate_order_link_id_is_110072_and_places_nothing(host: SimHost) -> None:
    acct = host.new_account()
    session = acct.http()
    _market(session, "Buy", "0.01", "same-id")
    with pytest.raises(InvalidRequestError) as info:
        _market(session, "Buy", "0.01", "same-id")
    assert info.value.status_code == 110072
    assert "duplicate" in info.value.message.lower()
    assert len(acct.state()["fills"]) == 1


def test_limit_order_rests_then_fills_when_the_mark_crosses(host: SimHost) -> None:
    session = host.new_account().http()
    placed = session.place_order(
        category="linear",
        symbol="ETHUSDT",
        side="Buy",
        orderType="Limit",
        qty="1",
        price="2900",
        timeInForce="GTC",
        orderLinkId="rest-1",
    )
    open_now = session.get_open_orders(category="linear", symbol="ETHUSDT")["result"]["list"]
    assert [(o["orderLinkId"], o["orderStatus"], o["leavesQty"]) for o in open_now] == [("rest-1", "New", "1")]

    host.admin("marks", {"symbol": "ETHUSDT", "price": "2899"})
    assert session.get_open_orders(category="linear", symbol="ETHUSDT")["result"]["list"] == []
    closed = session.get_open_orders(category="linear", symbol="ETHUSDT", openOnly=1)["result"]["list"]
    assert closed[0]["orderId"] == placed["result"]["orderId"]
    assert (closed[0]["orderStatus"], closed[0]["avgPrice"]) == ("Filled", "2900")


def test_cancel_by_link_id_then_unknown_is_110001(host: SimHost) -> None:
    session = host.new_account().http()
    session.place_order(
        category="linear", symbol="BTCUSDT", side="Sell", orderType="Limit", qty="0.01", price="70000", orderLinkId="c1"
    )
    cancelled = session.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="c1")
    assert cancelled["result"]["orderLinkId"] == "c1"
    status = session.get_open_orders(category="linear", orderLinkId="c1")["result"]["list"][0]["orderStatus"]
    assert status == "Cancelled"
    with pytest.raises(InvalidRequestError) as info:
        session.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="c1")
    assert info.value.status_code == 110001
    with pytest.raises(InvalidRequestError) as info:
        session.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="no-such-order")
    assert info.value.status_code == 110001


def test_reduce_only_larger_than_the_position_is_capped(host: SimHost) -> None:
    acct = host.new_account()
    session = acct.http()
    _market(session, "Buy", "0.02")
    _market(session, "Sell", "0.5", "close-all", reduceOnly=True)
    order = session.get_open_orders(category="linear", orderLinkId="close-all")["result"]["list"][0]
    assert (order["qty"], order["cumExecQty"], order["reduceOnly"]) == ("0.02", "0.02", True)
    leg = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (leg["size"], leg["side"]) == ("0", "")


def test_execution_list_since_a_time_for_gap_replay(host: SimHost) -> None:
    session = host.new_account().http()
    _market(session, "Buy", "0.01", "e1")
    _market(session, "Buy", "0.02", "e2")
    every = session.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [e["orderLinkId"] for e in every] == ["e2", "e1"]  # newest first, as Bybit lists them
    assert every[0]["seq"] == every[1]["seq"] + 1
    assert all(e["execType"] == "Trade" and "positionIdx" not in e for e in every)
    since = int(every[0]["execTime"])
    later = session.get_executions(category="linear", startTime=since)["result"]["list"]
    assert {e["orderLinkId"] for e in later} >= {"e2"}
    assert all(int(e["execTime"]) >= since for e in later)
    paged = session.get_executions(category="linear", limit=1)["result"]
    assert len(paged["list"]) == 1 and paged["nextPageCursor"]
    rest = session.get_executions(category="linear", limit=1, cursor=paged["nextPageCursor"])["result"]
    assert rest["list"][0]["orderLinkId"] == "e1" and rest["nextPageCursor"] == ""


def test_order_history_lists_every_order(host: SimHost) -> None:
    session = host.new_account().http()
    _market(session, "Buy", "0.01", "h1")
    history = session.get_order_history(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert [(o["orderLinkId"], o["orderStatus"]) for o in history] == [("h1", "Filled")]
    assert Decimal(history[0]["cumExecValue"]) == Decimal("600")
