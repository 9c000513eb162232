"""Every payload carries at least the fields Bybit's v5 documentation lists (tests/fixtures/bybit)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.sim_bybit.conftest import Inbox, SimHost, WsFactory

DOCUMENTED: dict[str, list[str]] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "bybit" / "documented_fields.json").read_text()
)


def _missing(name: str, item: dict[str, Any]) -> set[str]:
    return set(DOCUMENTED[name]) - set(item)


def test_rest_payloads_carry_the_documented_fields(host: SimHost) -> None:
    session = host.new_account().http()
    session.place_order(
        category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01", orderLinkId="d"
    )
    position = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    order = session.get_open_orders(category="linear", orderLinkId="d")["result"]["list"][0]
    execution = session.get_executions(category="linear")["result"]["list"][0]
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    instrument = session.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    key = session.get_api_key_information()["result"]
    assert _missing("rest.position", position) == set()
    assert _missing("rest.order", order) == set()
    assert _missing("rest.execution", execution) == set()
    assert _missing("rest.wallet", wallet) == set()
    assert _missing("ws.wallet.coin", wallet["coin"][0]) == set()
    assert _missing("rest.instrument", instrument) == set()
    assert _missing("rest.instrument.lotSizeFilter", instrument["lotSizeFilter"]) == set()
    assert _missing("rest.query_api", key) == set()
    assert _missing("rest.query_api.permissions", key["permissions"]) == set()


def test_stream_payloads_carry_the_documented_fields(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    inbox = Inbox()
    ws = ws_factory(acct, {})
    for subscribe in (ws.order_stream, ws.execution_stream, ws.position_stream, ws.wallet_stream):
        subscribe(inbox)
    acct.wait_subscribed({"order", "execution", "position", "wallet"})
    acct.http().place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.01")
    inbox.wait_for(lambda m: len(m) >= 4)
    items = {topic: inbox.topic(topic)[0]["data"][0] for topic in ("order", "execution", "position", "wallet")}
    for topic, item in items.items():
        assert _missing(f"ws.{topic}", item) == set(), topic
    assert _missing("ws.wallet.coin", items["wallet"]["coin"][0]) == set()
