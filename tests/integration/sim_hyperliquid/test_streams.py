"""The SDK's websocket against /ws: userFills and orderUpdates in its callbacks, pause, and a dropped stream."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from tests.integration.sim_hyperliquid.conftest import Admin, HlAccount, Inbox, call, wait_until


def is_live_fill(message: dict[str, Any]) -> bool:
    return message["channel"] == "userFills" and not message["data"].get("isSnapshot")


async def subscribe_user(ws_info: Info, address: str) -> tuple[Inbox, Inbox]:
    fills, orders = Inbox(), Inbox()
    await call(ws_info.subscribe, {"type": "userFills", "user": address}, fills)
    await call(ws_info.subscribe, {"type": "orderUpdates", "user": address}, orders)
    await fills.wait_for(lambda m: m["data"].get("isSnapshot") is True)
    return fills, orders


async def test_fills_and_order_updates_reach_the_sdk_callbacks(
    ws_info: Info, exchange: Exchange, alice: HlAccount
) -> None:
    fills, orders = await subscribe_user(ws_info, alice.address)
    snapshot = fills.snapshot()[0]["data"]
    assert snapshot == {"isSnapshot": True, "user": alice.address, "fills": []}

    result = await call(exchange.market_open, "ETH", True, 0.5)
    oid = result["response"]["data"]["statuses"][0]["filled"]["oid"]

    message = await fills.wait_for(is_live_fill)
    assert message["data"]["user"] == alice.address
    [fill] = message["data"]["fills"]
    assert {key: fill[key] for key in ("coin", "side", "dir", "startPosition", "oid", "crossed", "feeToken")} == {
        "coin": "ETH",
        "side": "B",
        "dir": "Open Long",
        "startPosition": "0",
        "oid": oid,
        "crossed": True,
        "feeToken": "USDC",
    }
    assert (Decimal(fill["px"]), Decimal(fill["sz"])) == (Decimal("3000"), Decimal("0.5"))
    assert isinstance(fill["tid"], int) and isinstance(fill["time"], int) and fill["hash"].startswith("0x")

    update = await orders.wait_for(lambda m: m["channel"] == "orderUpdates")
    [order_update] = update["data"]
    assert order_update["status"] == "filled"
    assert order_update["order"]["oid"] == oid and order_update["order"]["coin"] == "ETH"
    assert order_update["order"]["side"] == "B" and order_update["order"]["origSz"] == "0.5"


async def test_a_resting_order_reports_open_then_canceled(ws_info: Info, exchange: Exchange, alice: HlAccount) -> None:
    _, orders = await subscribe_user(ws_info, alice.address)
    placed = await call(exchange.order, "BTC", True, 0.001, 50000, {"limit": {"tif": "Gtc"}})
    oid = placed["response"]["data"]["statuses"][0]["resting"]["oid"]
    await call(exchange.cancel, "BTC", oid)
    await orders.wait_for(lambda m: m["data"][0]["status"] == "canceled")
    statuses = [m["data"][0]["status"] for m in orders.snapshot()]
    assert statuses == ["open", "canceled"]


async def test_all_mids_stream_follows_the_mark(ws_info: Info, admin: Admin) -> None:
    mids = Inbox()
    await call(ws_info.subscribe, {"type": "allMids"}, mids)
    await mids.wait_for(lambda m: m["data"]["mids"]["SOL"] == "150")
    await admin.set_mark("SOL", "155.5")
    await mids.wait_for(lambda m: m["data"]["mids"]["SOL"] == "155.5")


async def test_paused_stream_loses_frames_until_resumed(
    ws_info: Info, exchange: Exchange, admin: Admin, alice: HlAccount
) -> None:
    fills, _ = await subscribe_user(ws_info, alice.address)
    await admin.faults(pause_streams=True)
    await call(exchange.market_open, "BTC", True, 0.001)
    await asyncio.sleep(0.3)
    assert not any(is_live_fill(m) for m in fills.snapshot())
    await admin.faults(pause_streams=False)
    await call(exchange.market_open, "BTC", True, 0.002)
    message = await fills.wait_for(is_live_fill)
    assert [f["sz"] for f in message["data"]["fills"]] == ["0.002"]  # the paused fill is not replayed


async def test_dropped_stream_is_seen_by_the_sdk(
    ws_info: Info, exchange: Exchange, admin: Admin, alice: HlAccount
) -> None:
    fills, _ = await subscribe_user(ws_info, alice.address)
    manager = ws_info.ws_manager
    assert manager is not None and manager.is_alive()
    dropped = await admin.faults(drop_streams=True)
    assert dropped["dropped"] >= 1
    # The SDK never reconnects: its websocket thread ends and no later fill reaches the callback.
    await wait_until(lambda: not manager.is_alive())
    await call(exchange.market_open, "BTC", True, 0.001)
    await asyncio.sleep(0.2)
    assert not any(is_live_fill(m) for m in fills.snapshot())


async def test_subscription_ack_and_pong_frames(ws_info: Info, alice: HlAccount) -> None:
    manager = ws_info.ws_manager
    assert manager is not None
    raw: list[str] = []
    original = manager.ws.on_message

    def recording(ws: object, message: str) -> None:
        raw.append(message)
        original(ws, message)

    manager.ws.on_message = recording
    await subscribe_user(ws_info, alice.address)
    await call(manager.ws.send, '{"method": "ping"}')
    await wait_until(lambda: '{"channel":"pong"}' in raw)
    acks = [json.loads(text) for text in raw if "subscriptionResponse" in text]
    assert {ack["data"]["subscription"]["type"] for ack in acks} == {"userFills", "orderUpdates"}
    assert all(ack["data"]["method"] == "subscribe" for ack in acks)
