"""The private WebSocket through pybit's ``WebSocket``: auth, topics in the callbacks, seq, topic order, ADL."""

from __future__ import annotations

import json
from typing import Any

from pybit.unified_trading import WebSocket

from tests.integration.sim_bybit.conftest import Account, Inbox, SimHost, WsFactory, wait_until

ALL = {"order", "execution", "position", "wallet"}

# Fields the engine reads, per the reference (no positionIdx on executions: the leg comes from the order topic).
EXECUTION_FIELDS = {
    "symbol", "orderId", "orderLinkId", "side", "orderQty", "leavesQty", "orderType", "execId", "execPrice",
    "execQty", "execValue", "execFee", "execType", "execTime", "isMaker", "closedSize", "seq",
}  # fmt: skip
ORDER_FIELDS = {
    "orderId", "orderLinkId", "symbol", "price", "qty", "side", "positionIdx", "orderStatus", "avgPrice",
    "leavesQty", "cumExecQty", "cumExecValue", "reduceOnly", "createdTime", "updatedTime",
}  # fmt: skip
POSITION_FIELDS = {
    "symbol", "side", "size", "positionIdx", "positionValue", "entryPrice", "markPrice", "leverage", "positionIM",
    "positionMM", "liqPrice", "unrealisedPnl", "curRealisedPnl", "cumRealisedPnl", "positionStatus", "updatedTime",
    "seq",
}  # fmt: skip
NOT_STRINGS = {"positionIdx", "seq", "isMaker", "reduceOnly", "closeOnTrigger", "isReduceOnly", "tradeMode",
               "riskId", "adlRankIndicator", "autoAddMargin", "triggerDirection", "smpGroup"}  # fmt: skip


def _listen(account: Account, ws_factory: WsFactory, **options: Any) -> tuple[WebSocket, Inbox]:
    inbox = Inbox()
    ws = ws_factory(account, options)
    ws.order_stream(inbox)
    ws.execution_stream(inbox)
    ws.position_stream(inbox)
    ws.wallet_stream(inbox)
    account.wait_subscribed(ALL)
    return ws, inbox


def _buy(account: Account, qty: str = "0.01", link: str | None = None) -> str:
    placed = account.http().place_order(
        category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty=qty, orderLinkId=link
    )
    order_id: str = placed["result"]["orderId"]
    return order_id


def _topics_after(inbox: Inbox, start: int, count: int) -> list[str]:
    messages = inbox.wait_for(lambda m: len(m) >= start + count)
    return [m["topic"] for m in messages[start : start + count]]


def test_a_fill_arrives_in_the_callbacks_with_the_documented_fields_and_shared_seq(
    host: SimHost, ws_factory: WsFactory
) -> None:
    acct = host.new_account()
    _, inbox = _listen(acct, ws_factory)
    order_id = _buy(acct, "0.01", "fill-1")
    messages = inbox.wait_for(lambda m: len(m) >= 4)

    assert [m["topic"] for m in messages] == ["order", "execution", "position", "wallet"]
    for frame in messages:
        assert set(frame) == {"id", "topic", "creationTime", "data"}
        assert isinstance(frame["creationTime"], int) and isinstance(frame["data"], list)
        for item in frame["data"]:
            for key, value in item.items():
                if key not in NOT_STRINGS and key != "coin":
                    assert isinstance(value, str), (frame["topic"], key, value)
    order, execution, position = (messages[i]["data"][0] for i in range(3))
    assert set(order) >= ORDER_FIELDS and set(execution) >= EXECUTION_FIELDS and set(position) >= POSITION_FIELDS
    assert "positionIdx" not in execution
    assert (order["orderId"], order["orderLinkId"], order["orderStatus"], order["positionIdx"]) == (
        order_id,
        "fill-1",
        "Filled",
        0,
    )
    assert (execution["execType"], execution["execQty"], execution["execPrice"]) == ("Trade", "0.01", "60000")
    assert (position["size"], position["side"], position["positionIM"]) == ("0.01", "Buy", "60")
    assert isinstance(position["seq"], int) and execution["seq"] == position["seq"]
    assert messages[3]["data"][0]["totalInitialMargin"] == "60"


def test_topic_orders_order_first_position_first_and_seeded_random(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account(balance="100000")
    _, inbox = _listen(acct, ws_factory)
    host.admin("faults", {"topic_order": "position_first"})
    _buy(acct)
    assert _topics_after(inbox, 0, 4) == ["position", "execution", "order", "wallet"]
    host.admin("faults", {"topic_order": "order_first"})
    _buy(acct)
    assert _topics_after(inbox, 4, 4) == ["order", "execution", "position", "wallet"]

    def random_run(seed: int, start: int) -> list[tuple[str, ...]]:
        host.admin("faults", {"topic_order": "random", "seed": seed})
        runs = []
        for index in range(6):
            _buy(acct)
            runs.append(tuple(_topics_after(inbox, start + 4 * index, 4)))
        return runs

    first = random_run(11, 8)
    again = random_run(11, 32)
    assert first == again  # seeded: reproducible
    assert len(set(first)) > 1  # and it does vary
    assert all(sorted(run[:3]) == ["execution", "order", "position"] and run[3] == "wallet" for run in first)
    fills = [m for m in inbox.messages if m["topic"] in ("execution", "position")]
    seqs_by_topic = {t: [m["data"][0]["seq"] for m in fills if m["topic"] == t] for t in ("execution", "position")}
    assert seqs_by_topic["execution"] == seqs_by_topic["position"] == list(range(1, 15))


def test_order_create_and_cancel_without_fill_send_an_unchanged_position(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    _, inbox = _listen(acct, ws_factory)
    session = acct.http()
    session.place_order(
        category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01", price="50000", orderLinkId="r1"
    )
    session.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId="r1")
    messages = inbox.wait_for(lambda m: len(m) >= 6)
    assert [m["topic"] for m in messages] == ["order", "position", "wallet", "order", "position", "wallet"]
    assert [messages[i]["data"][0]["orderStatus"] for i in (0, 3)] == ["New", "Cancelled"]
    for index in (1, 4):
        leg = messages[index]["data"][0]
        assert (leg["size"], leg["side"], leg["seq"]) == ("0", "", -1)
    assert inbox.topic("execution") == []


def test_adl_and_liquidation_produce_adltrade_and_busttrade(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    _, inbox = _listen(acct, ws_factory)
    _buy(acct, "0.05")
    host.admin("adl", {"account": acct.name, "symbol": "BTCUSDT", "qty": "0.02"})
    host.admin("liquidate", {"account": acct.name, "symbol": "BTCUSDT"})
    inbox.wait_for(lambda m: len([x for x in m if x["topic"] == "execution"]) >= 3)
    executions = [m["data"][0] for m in inbox.topic("execution")]
    assert [(e["execType"], e["execQty"]) for e in executions] == [
        ("Trade", "0.05"),
        ("AdlTrade", "0.02"),
        ("BustTrade", "0.03"),
    ]
    inbox.wait_for(lambda m: len([x for x in m if x["topic"] == "position"]) >= 3)
    sizes = [(m["data"][0]["size"], m["data"][0]["seq"]) for m in inbox.topic("position")]
    assert sizes == [("0.05", 1), ("0.03", 2), ("0", 3)]


def test_bad_or_expired_auth_is_refused(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    inbox = Inbox()
    ws_factory(Account(host, acct.name, acct.key, "wrong-secret"), {"callback_function": inbox})
    reply = inbox.wait_for(lambda m: len(m) >= 1)[0]
    assert (reply["op"], reply["success"]) == ("auth", False)
    assert "sign" in reply["ret_msg"].lower()

    expired = Inbox()
    ws_factory(acct, {"callback_function": expired, "private_auth_expire": -5})
    reply = expired.wait_for(lambda m: len(m) >= 1)[0]
    assert (reply["op"], reply["success"]) == ("auth", False)
    assert "expired" in reply["ret_msg"].lower()
    assert acct.stream_subscriptions() == []  # neither socket counts as the account's


def test_subscribe_echoes_req_id_and_app_ping_gets_a_pong(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    inbox = Inbox()
    ws = ws_factory(acct, {"callback_function": inbox})
    ws._is_custom_pong = lambda message: False  # let pongs reach the callback (pybit swallows them)
    inbox.wait_for(lambda m: any(x.get("op") == "auth" for x in m))
    ws.ws.send(json.dumps({"op": "subscribe", "req_id": "sub-1", "args": ["order", "position"]}))
    ws.ws.send(json.dumps({"op": "ping", "req_id": "ping-1"}))
    messages = inbox.wait_for(lambda m: len(m) >= 3)
    by_op = {m["op"]: m for m in messages}
    auth, subscribed, pong = by_op["auth"], by_op["subscribe"], by_op["pong"]
    assert auth["success"] is True and auth["conn_id"]
    assert (subscribed["success"], subscribed["req_id"]) == (True, "sub-1")
    assert pong["req_id"] == "ping-1"
    assert pong["args"][0].isdigit()
    assert acct.wait_subscribed({"order", "position"})


def test_protocol_pings_from_pybit_are_answered(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    ws = ws_factory(acct, {"ping_interval": 0.2, "ping_timeout": 0.1})
    wait_until(lambda: ws.ws.last_pong_tm > 0, what="a protocol pong")
    assert ws.is_connected()


def test_leverage_change_sends_a_position_message_with_the_same_seq(host: SimHost, ws_factory: WsFactory) -> None:
    acct = host.new_account()
    _, inbox = _listen(acct, ws_factory)
    _buy(acct)
    inbox.wait_for(lambda m: len(m) >= 4)
    acct.http().set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="20", sellLeverage="20")
    inbox.wait_for(lambda m: len(inbox.topic("position")) >= 2)
    before, after = (m["data"][0] for m in inbox.topic("position")[:2])
    assert (before["leverage"], after["leverage"]) == ("10", "20")
    assert after["size"] == before["size"] and after["seq"] == before["seq"]
    assert after["positionIM"] == "30"  # 0.01 x 60000 / 20
