"""The futures user data stream through python-binance's ThreadedWebsocketManager, and its faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from binance.client import Client

from runtime.sim.binance import BinanceSimulator
from tests.integration.sim_binance.conftest import admin_post, call, wait_until

OpenSocket = Callable[..., Any]


def _trade_updates(socket: Any, execution: str) -> list[dict[str, Any]]:
    return [m for m in socket.events("ORDER_TRADE_UPDATE") if m["o"]["x"] == execution]


async def test_fill_arrives_in_the_sdk_callback_with_documented_fields(
    sim: BinanceSimulator, client: Client, user_socket: OpenSocket
) -> None:
    socket = await user_socket()
    await call(client.futures_create_order, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
               newClientOrderId="stream-1")
    await wait_until(lambda: socket.events("ACCOUNT_UPDATE"), what="ACCOUNT_UPDATE")

    (new,) = _trade_updates(socket, "NEW")
    (trade,) = _trade_updates(socket, "TRADE")
    order = trade["o"]
    expected_keys = {"s", "c", "S", "o", "q", "p", "ap", "x", "X", "i", "l", "z", "L", "T", "t", "rp", "ps", "R"}
    assert expected_keys <= set(order)
    assert (order["s"], order["c"], order["S"], order["o"], order["X"]) == ("BTCUSDT", "stream-1", "BUY", "MARKET",
                                                                           "FILLED")
    assert (order["q"], order["l"], order["z"], order["L"], order["ap"], order["ps"]) == (
        "0.01", "0.01", "0.01", "60000", "60000", "BOTH"
    )
    assert new["o"]["i"] == order["i"] and new["o"]["X"] == "NEW"
    assert isinstance(trade["E"], int) and isinstance(trade["T"], int)

    (account,) = socket.events("ACCOUNT_UPDATE")
    assert account["a"]["m"] == "ORDER" and isinstance(account["E"], int) and isinstance(account["T"], int)
    assert account["a"]["B"][0]["a"] == "USDT" and {"a", "wb", "cw"} <= set(account["a"]["B"][0])
    (position,) = account["a"]["P"]
    assert {"s", "pa", "ep", "up", "mt", "iw", "ps"} <= set(position)
    assert (position["s"], position["pa"], position["ep"], position["mt"], position["ps"]) == (
        "BTCUSDT", "0.01", "60000", "cross", "BOTH"
    )


async def test_dropped_stream_is_seen_by_the_sdk_which_reconnects(
    sim: BinanceSimulator, client: Client, user_socket: OpenSocket
) -> None:
    socket = await user_socket()
    status, state = await call(admin_post, sim, "/admin/faults", {"drop_streams": True})
    assert (status, state["dropped"]) == (200, 1)
    await wait_until(lambda: socket.events("error"), what="the SDK's error message")
    assert socket.events("error")[0]["type"].startswith("ConnectionClosed")
    # python-binance reconnects by itself with the same listenKey (after 1-2 s).
    await wait_until(lambda: len(sim.streams.connections) == 1, timeout_s=8, what="the reconnect")
    await call(client.futures_create_order, symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.1")
    await wait_until(lambda: _trade_updates(socket, "TRADE"), what="a fill after the reconnect")


async def test_paused_stream_loses_frames_until_resumed(
    sim: BinanceSimulator, client: Client, user_socket: OpenSocket
) -> None:
    socket = await user_socket()
    await call(admin_post, sim, "/admin/faults", {"pause_streams": True})
    await call(client.futures_create_order, symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.1")
    await asyncio.sleep(0.2)
    assert socket.events("ORDER_TRADE_UPDATE") == []
    await call(admin_post, sim, "/admin/faults", {"pause_streams": False})
    await call(client.futures_create_order, symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.2")
    await wait_until(lambda: _trade_updates(socket, "TRADE"), what="a fill after resuming")
    assert [m["o"]["q"] for m in _trade_updates(socket, "TRADE")] == ["0.2"]


async def test_deleted_listen_key_closes_the_stream(sim: BinanceSimulator, client: Client) -> None:
    listen_key = await call(client.futures_stream_get_listen_key)
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_base}/ws/{listen_key}") as ws:
        await wait_until(lambda: len(sim.streams.connections) == 1, what="the /ws/<key> connection")
        assert await call(client.futures_stream_close, listenKey=listen_key) == {}
        closing = await asyncio.wait_for(ws.receive(), 2)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert (await call(client.futures_stream_get_listen_key)) != listen_key  # a new key after the delete


async def test_expired_listen_key_sends_listen_key_expired_and_closes(sim: BinanceSimulator, client: Client) -> None:
    listen_key = await call(client.futures_stream_get_listen_key)
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{sim.ws_base}/ws/{listen_key}") as ws:
        await wait_until(lambda: len(sim.streams.connections) == 1, what="the /ws/<key> connection")
        status, body = await call(admin_post, sim, "/admin/listen_keys/expire", {"account": "alice"})
        assert (status, body["expired"]) == (200, listen_key)
        first = await asyncio.wait_for(ws.receive(), 2)
        assert json.loads(first.data) == {"e": "listenKeyExpired", "E": json.loads(first.data)["E"],
                                          "listenKey": listen_key}
        closing = await asyncio.wait_for(ws.receive(), 2)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    async with aiohttp.ClientSession() as session:
        refused = await session.get(f"{sim.base_url}/private/ws", params={"listenKey": listen_key})
        assert (refused.status, (await refused.json())["code"]) == (400, -1125)
