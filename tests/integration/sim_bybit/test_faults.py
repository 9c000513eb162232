"""Fault injection seen by pybit: a dropped or paused stream, latency, rate limits (10006), 5xx and timeouts."""

from __future__ import annotations

import time

import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import WebSocket

from tests.integration.sim_bybit.conftest import Account, Inbox, SimHost, WsFactory

ORDER = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"}


def _listen(account: Account, ws_factory: WsFactory) -> tuple[WebSocket, Inbox, str]:
    inbox = Inbox()
    ws = ws_factory(account, {})
    ws.order_stream(inbox)
    ws.position_stream(inbox)
    return ws, inbox, account.wait_subscribed({"order", "position"})


def test_a_dropped_stream_is_seen_by_pybit_which_reconnects_and_resubscribes(
    host: SimHost, ws_factory: WsFactory
) -> None:
    acct = host.new_account()
    ws, inbox, first_conn = _listen(acct, ws_factory)
    dropped = host.admin("faults", {"drop_streams": True})["dropped"]
    assert dropped >= 1
    # pybit notices the cut socket, opens a new one, authenticates and re-sends its subscriptions.
    second_conn = acct.wait_subscribed({"order", "position"}, not_conn={first_conn})
    assert second_conn != first_conn
    acct.http().place_order(**ORDER)
    messages = inbox.wait_for(lambda m: len(m) >= 2)
    assert {m["topic"] for m in messages} == {"order", "position"}
    assert ws.is_connected()


def test_a_paused_stream_stays_open_but_silent(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    ws, inbox, _ = _listen(acct, ws_factory)
    session = acct.http()
    host.admin("faults", {"pause_streams": True})
    session.place_order(**ORDER, orderLinkId="lost")
    time.sleep(0.3)  # a negative check needs a window; nothing may arrive in it
    assert inbox.messages == [] and ws.is_connected()
    host.admin("faults", {"pause_streams": False})
    session.place_order(**ORDER, orderLinkId="seen")
    messages = inbox.wait_for(lambda m: len(m) >= 2)
    assert [m["data"][0].get("orderLinkId") for m in messages if m["topic"] == "order"] == ["seen"]


def test_injected_latency_shows_in_the_call_time(host: SimHost) -> None:
    session = host.new_account().http()
    host.admin("faults", {"latency": {"order": {"fixed_s": "0.3"}}})
    started = time.monotonic()
    session.place_order(**ORDER)
    slow = time.monotonic() - started
    started = time.monotonic()
    session.get_positions(category="linear", symbol="BTCUSDT")
    fast = time.monotonic() - started
    assert slow >= 0.3
    assert fast < 0.3  # only the "order" class was slowed


def test_injected_rate_limit_is_10006_with_the_limit_headers(host: SimHost) -> None:
    acct = host.new_account()
    host.admin("faults", {"errors": [{"class": "order", "kind": "rate_limit", "count": 1}]})
    with pytest.raises(InvalidRequestError) as info:
        acct.http(retry_codes={-1}).place_order(**ORDER)
    assert info.value.status_code == 10006
    headers = info.value.resp_headers
    assert headers["X-Bapi-Limit-Status"] == "0"
    reset_ms = int(headers["X-Bapi-Limit-Reset-Timestamp"])
    assert 0 < reset_ms - time.time() * 1000 <= 1000
    assert acct.state()["orders"] == []  # refused before processing


def test_pybit_sleeps_until_the_reset_and_retries_a_10006(host: SimHost) -> None:
    acct = host.new_account()
    host.admin("faults", {"errors": [{"class": "order", "kind": "rate_limit", "count": 1}]})
    placed = acct.http().place_order(**ORDER, orderLinkId="after-retry")
    assert placed["retCode"] == 0
    assert [o["client_id"] for o in acct.state()["orders"]] == ["after-retry"]


def test_injected_server_error_is_a_5xx(host: SimHost) -> None:
    session = host.new_account().http()
    host.admin("faults", {"errors": [{"class": "read", "kind": "server_error", "count": 1}]})
    with pytest.raises(FailedRequestError) as info:
        session.get_positions(category="linear", symbol="BTCUSDT")
    assert info.value.status_code == 503
    assert session.get_positions(category="linear", symbol="BTCUSDT")["retCode"] == 0


def test_a_timed_out_order_still_lands_and_is_found_by_link_id(host: SimHost) -> None:
    acct = host.new_account()
    host.admin("faults", {"timeout_hold_s": "0.5", "errors": [{"class": "order", "kind": "timeout", "count": 1}]})
    with pytest.raises(requests.exceptions.RequestException):
        acct.http(timeout=0.2).place_order(**ORDER, orderLinkId="ambiguous")
    found = acct.http().get_open_orders(category="linear", orderLinkId="ambiguous")["result"]["list"]
    assert [(o["orderLinkId"], o["orderStatus"]) for o in found] == [("ambiguous", "Filled")]
