"""Parsing the master's Bybit private-stream payloads: numbers as Decimal from strings, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.domain.master_messages import (
    ExecutionMsg,
    MasterMessageError,
    OrderMsg,
    PositionMsg,
    WalletMsg,
    parse_execution,
    parse_position,
    parse_private_frame,
)
from runtime.domain.values import PositionIdx, Side

EXECUTION = {
    "category": "linear", "symbol": "BTCUSDT", "execId": "e-1", "orderId": "o-1", "orderLinkId": "ct00", "side": "Buy",
    "orderQty": "0.01", "leavesQty": "0", "orderType": "Market", "execPrice": "30000.10", "execQty": "0.010",
    "execValue": "300.001", "execFee": "0.18", "execType": "AdlTrade", "execTime": "1700000000123", "isMaker": False,
    "closedSize": "0", "seq": 4688002127,
}  # fmt: skip
ORDER = {
    "category": "linear", "orderId": "o-1", "orderLinkId": "", "symbol": "BTCUSDT", "price": "0", "qty": "0.01",
    "side": "Sell", "positionIdx": 2, "orderStatus": "PartiallyFilled", "avgPrice": "30000", "leavesQty": "0.004",
    "cumExecQty": "0.006", "cumExecValue": "180", "reduceOnly": False, "createdTime": "1", "updatedTime": "2",
}  # fmt: skip
WS_POSITION = {
    "category": "linear", "symbol": "1000PEPEUSDT", "side": "Sell", "size": "12000", "positionIdx": 0,
    "positionValue": "120", "entryPrice": "0.0100", "markPrice": "0.0101", "leverage": "3.5", "positionIM": "34.2857",
    "positionMM": "1", "liqPrice": "", "unrealisedPnl": "-1.2", "positionStatus": "Normal", "updatedTime": "1700",
    "seq": 77,
}  # fmt: skip


def test_execution_fields_become_decimals_and_ints() -> None:
    msg = parse_execution(EXECUTION)
    assert msg == ExecutionMsg(
        symbol="BTCUSDT",
        exec_id="e-1",
        order_id="o-1",
        order_link_id="ct00",
        side=Side.BUY,
        exec_qty=Decimal("0.010"),
        exec_price=Decimal("30000.10"),
        exec_type="AdlTrade",
        seq=4688002127,
        exec_time_ms=1700000000123,
    )
    assert msg.moves_position
    assert not parse_execution({**EXECUTION, "execType": "Funding"}).moves_position


def test_order_carries_the_position_idx() -> None:
    (msg,) = parse_private_frame({"topic": "order", "data": [ORDER]})
    assert isinstance(msg, OrderMsg)
    assert (msg.position_idx, msg.side, msg.cum_exec_qty, msg.leaves_qty) == (
        PositionIdx.HEDGE_SHORT,
        Side.SELL,
        Decimal("0.006"),
        Decimal("0.004"),
    )


def test_websocket_position_has_a_signed_size() -> None:
    (msg,) = parse_private_frame({"topic": "position", "data": [WS_POSITION]})
    assert isinstance(msg, PositionMsg)
    assert msg.size == Decimal(12000) and msg.signed_size == Decimal(-12000)
    assert (msg.leverage, msg.position_im, msg.entry_price, msg.seq) == (
        Decimal("3.5"),
        Decimal("34.2857"),
        Decimal("0.0100"),
        77,
    )


def test_rest_position_reads_avg_price_and_flat_side() -> None:
    rest = {**WS_POSITION, "avgPrice": "0.0099", "side": "", "size": "0"}
    del rest["entryPrice"]
    msg = parse_position(rest, topic="rest position")
    assert (msg.side, msg.signed_size, msg.entry_price) == (None, Decimal(0), Decimal("0.0099"))


def test_hedge_leg_with_blank_side_takes_its_direction_from_the_index() -> None:
    msg = parse_position({**WS_POSITION, "side": "", "positionIdx": 2})
    assert msg.signed_size == Decimal(-12000)


def test_wallet_frame_reads_the_unified_account() -> None:
    frame = {
        "topic": "wallet",
        "data": [{"accountType": "CONTRACT", "totalEquity": "1"}, {"accountType": "UNIFIED", "totalEquity": "987.65"}],
    }
    assert parse_private_frame(frame) == (WalletMsg(Decimal("987.65")),)


def test_non_linear_items_and_unknown_topics_are_skipped() -> None:
    spot = {**EXECUTION, "category": "spot"}
    assert parse_private_frame({"topic": "execution", "data": [spot]}) == ()
    assert parse_private_frame({"topic": "greeks", "data": [{}]}) == ()
    assert len(parse_private_frame({"topic": "execution.linear", "data": [EXECUTION]})) == 1


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("execQty", 0.01, "refusing float"),
        ("execQty", "abc", "not a number"),
        ("execId", None, "'execId' is missing"),
        ("seq", "x1", "'seq' should be an integer"),
        ("side", "Long", "Buy or Sell"),
    ],
)
def test_bad_execution_fields_are_named(field: str, value: object, match: str) -> None:
    raw = {**EXECUTION, field: value}
    if value is None:
        del raw[field]
    with pytest.raises(MasterMessageError, match=match):
        parse_execution(raw)


def test_position_with_size_but_no_side_in_one_way_mode_is_refused() -> None:
    with pytest.raises(MasterMessageError, match="without a side"):
        parse_position({**WS_POSITION, "side": ""})
