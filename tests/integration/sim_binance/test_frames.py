"""User-stream frames and listenKeys, built from a real matching engine (no sockets)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from runtime.domain.values import PositionMode, Side
from runtime.sim.binance.codes import BinanceError, ErrorCode
from runtime.sim.binance.frames import frames_for_batch
from runtime.sim.binance.listen_keys import ListenKeyRegistry
from runtime.sim.catalogue import binance_catalogue
from runtime.sim.events import EventBatch
from runtime.sim.matching import MatchingEngine
from runtime.sim.model import OrderType, TimeInForce

NOW = 1_700_000_000_000


def _engine() -> tuple[MatchingEngine, list[EventBatch]]:
    engine = MatchingEngine(binance_catalogue(), clock=lambda: NOW)
    batches: list[EventBatch] = []
    engine.bus.subscribe(batches.append)
    return engine, batches


def _frames(batches: list[EventBatch], account: str = "alice") -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    for batch in batches:
        frames.extend(frames_for_batch(batch, account, lambda _symbol: "CROSSED", NOW + 5))
    return frames


def test_market_fill_is_new_then_trade_then_account_update() -> None:
    engine, batches = _engine()
    engine.create_account("alice", Decimal("10000"))
    engine.create_account("bob", Decimal("10000"))
    engine.place_order("alice", symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), order_type=OrderType.MARKET,
                       client_id="cid-1")
    new, trade, account = _frames(batches)
    assert [new["e"], new["o"]["x"], new["o"]["X"]] == ["ORDER_TRADE_UPDATE", "NEW", "NEW"]
    assert (trade["o"]["x"], trade["o"]["X"], trade["o"]["c"]) == ("TRADE", "FILLED", "cid-1")
    assert (trade["o"]["l"], trade["o"]["z"], trade["o"]["L"], trade["o"]["ap"]) == ("0.01", "0.01", "60000", "60000")
    assert trade["o"]["ps"] == "BOTH" and trade["o"]["S"] == "BUY" and trade["o"]["t"] > 0
    assert trade["E"] == NOW + 5 and trade["T"] == NOW
    assert account["a"]["m"] == "ORDER"
    assert account["a"]["B"] == [{"a": "USDT", "wb": "10000", "cw": "10000", "bc": "0"}]
    (position,) = account["a"]["P"]
    assert (position["s"], position["pa"], position["ep"], position["mt"], position["ps"]) == (
        "BTCUSDT", "0.01", "60000", "cross", "BOTH"
    )
    assert _frames(batches, "bob") == []


def test_hedge_leg_cancel_and_leverage_frames() -> None:
    engine, batches = _engine()
    engine.create_account("alice", Decimal("10000"), PositionMode.HEDGE)
    engine.place_order("alice", symbol="ETHUSDT", side=Side.SELL, qty=Decimal("0.1"), order_type=OrderType.MARKET,
                       position_idx=2)
    resting = engine.place_order("alice", symbol="ETHUSDT", side=Side.BUY, qty=Decimal("0.1"),
                                 order_type=OrderType.LIMIT, price=Decimal("2000"),
                                 time_in_force=TimeInForce.GTC, position_idx=1)
    engine.cancel_order("alice", order_id=resting.order_id)
    engine.set_leverage("alice", "ETHUSDT", Decimal(20))
    frames = _frames(batches)
    kinds = [(f["e"], f.get("o", {}).get("x")) for f in frames]
    assert kinds == [
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "TRADE"),
        ("ACCOUNT_UPDATE", None),
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "CANCELED"),
        ("ACCOUNT_CONFIG_UPDATE", None),
    ]
    assert frames[2]["a"]["P"][0]["ps"] == "SHORT" and frames[2]["a"]["P"][0]["pa"] == "-0.1"
    assert frames[5]["ac"] == {"s": "ETHUSDT", "l": 20}


def test_listen_key_is_shared_extended_and_expires() -> None:
    now = [NOW]
    registry = ListenKeyRegistry(lambda: now[0], ttl_ms=1000)
    key = registry.create("alice")
    assert registry.create("alice") == key
    assert registry.account_of(key) == "alice"
    now[0] += 900
    registry.keepalive("alice", key)
    now[0] += 900
    assert registry.account_of(key) == "alice"
    with pytest.raises(BinanceError) as info:
        registry.keepalive("bob", key)
    assert info.value.code == ErrorCode.INVALID_LISTEN_KEY
    now[0] += 200
    assert registry.account_of(key) is None
    assert registry.expired_keys() == [key]
    assert registry.create("alice") != key


def test_deleted_listen_key_is_gone() -> None:
    registry = ListenKeyRegistry(lambda: NOW)
    key = registry.create("alice")
    registry.delete("alice", key)
    assert registry.account_of(key) is None
    with pytest.raises(BinanceError):
        registry.delete("alice", key)


def test_resting_fill_expired_ioc_and_liquidation_frames() -> None:
    engine, batches = _engine()
    engine.create_account("alice", Decimal("10000"))
    engine.place_order("alice", symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), order_type=OrderType.LIMIT,
                       price=Decimal("59000"), client_id="rest")
    engine.set_mark("BTCUSDT", Decimal("58900"))
    engine.place_order("alice", symbol="BTCUSDT", side=Side.BUY, qty=Decimal("0.01"), order_type=OrderType.LIMIT,
                       price=Decimal("50000"), time_in_force=TimeInForce.IOC, client_id="ioc")
    engine.liquidate("alice", "BTCUSDT")
    frames = _frames(batches)
    trades = [f["o"] for f in frames if f["e"] == "ORDER_TRADE_UPDATE" and f["o"]["x"] == "TRADE"]
    assert [(o["c"], o["m"], o["L"], o["o"]) for o in trades] == [
        ("rest", True, "59000", "LIMIT"),
        (f"autoclose-{trades[1]['i']}", False, "58900", "LIQUIDATION"),
    ]
    ioc = [(f["o"]["x"], f["o"]["X"]) for f in frames if f["e"] == "ORDER_TRADE_UPDATE" and f["o"]["c"] == "ioc"]
    assert ioc == [("NEW", "NEW"), ("EXPIRED", "EXPIRED")]
    # After the liquidation: flat, with the realized loss 0.01 x (58900 - 59000) = -1 in the wallet.
    last_account = [f for f in frames if f["e"] == "ACCOUNT_UPDATE"][-1]["a"]
    assert (last_account["P"][0]["pa"], last_account["B"][0]["wb"]) == ("0", "9999")
