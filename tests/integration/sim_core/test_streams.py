"""WebSocket registry of the simulator base: delivery, drop, pause (zombie) and resume, topic order, stop."""

import asyncio
import json

import aiohttp
import pytest

from runtime.sim.streams import StreamHub, TopicOrder
from tests.integration.sim_core.conftest import ToySimulator


async def connect(http: aiohttp.ClientSession, toy: ToySimulator, key: str) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{toy.ws_base}/toy/ws", autoping=False)
    await ws.send_str(json.dumps({"op": "auth", "key": key}))
    assert json.loads((await ws.receive(timeout=2)).data) == {"op": "auth", "ok": True}
    return ws


async def account_with_key(http: aiohttp.ClientSession, toy: ToySimulator) -> str:
    async with http.post(f"{toy.base_url}/admin/accounts", json={"name": "alice", "balance": "10000"}) as response:
        key: str = (await response.json())["api_key"]
        return key


async def place(http: aiohttp.ClientSession, toy: ToySimulator, key: str, qty: str = "0.01") -> None:
    async with http.post(
        f"{toy.base_url}/toy/order", json={"symbol": "BTCUSDT", "side": "Buy", "qty": qty}, headers={"X-Key": key}
    ) as response:
        assert response.status == 200


async def test_fills_reach_the_authenticated_subscriber(toy, http):
    key = await account_with_key(http, toy)
    ws = await connect(http, toy, key)
    assert len(toy.streams.for_account("alice")) == 1
    await place(http, toy, key)
    assert json.loads((await ws.receive(timeout=2)).data) == {"qty": "0.01", "seq": 1}
    await ws.close()


async def test_drop_streams_cuts_the_socket(toy, http):
    key = await account_with_key(http, toy)
    ws = await connect(http, toy, key)
    async with http.post(f"{toy.base_url}/admin/faults", json={"drop_streams": True}) as response:
        assert (await response.json())["dropped"] == 1
    message = await ws.receive(timeout=2)
    assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
    for _ in range(50):
        if not toy.streams.connections:
            break
        await asyncio.sleep(0.01)
    assert not toy.streams.connections


async def test_pause_silences_everything_then_resume(toy, http):
    key = await account_with_key(http, toy)
    ws = await connect(http, toy, key)
    async with http.post(f"{toy.base_url}/admin/faults", json={"pause_streams": True}) as response:
        assert (await response.json())["paused"] is True
    await ws.ping(b"hello")
    await ws.send_str(json.dumps({"op": "ping"}))
    await place(http, toy, key)  # its fill frame is lost while paused
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.3)
    assert not ws.closed  # a zombie: open but silent
    async with http.post(f"{toy.base_url}/admin/faults", json={"pause_streams": False}) as response:
        assert (await response.json())["paused"] is False
    await ws.ping(b"again")
    pong = await ws.receive(timeout=2)
    assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"again")
    await ws.send_str(json.dumps({"op": "ping"}))
    assert json.loads((await ws.receive(timeout=2)).data) == {"op": "pong"}
    await place(http, toy, key)
    assert json.loads((await ws.receive(timeout=2)).data) == {"qty": "0.01", "seq": 2}
    await ws.close()


async def test_stop_closes_open_sockets(toy, http):
    key = await account_with_key(http, toy)
    ws = await connect(http, toy, key)
    await toy.stop()
    message = await ws.receive(timeout=2)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_topic_order_setting_via_admin(toy, http):
    async with http.post(f"{toy.base_url}/admin/faults", json={"topic_order": "position_first"}) as response:
        assert (await response.json())["topic_order"] == "position_first"
    assert toy.streams.position_first() is True
    async with http.post(f"{toy.base_url}/admin/faults", json={"topic_order": "random", "seed": 5}):
        pass
    draws = [toy.streams.position_first() for _ in range(20)]
    again = StreamHub()
    again.set_topic_order(TopicOrder.RANDOM, 5)
    assert draws == [again.position_first() for _ in range(20)]
    assert True in draws and False in draws
