"""``/ws``: Hyperliquid's WebSocket, with the frames the SDK's ``WebsocketManager`` expects.

Client: ``{"method":"subscribe"|"unsubscribe","subscription":{"type":...,"user":addr}}`` and
``{"method":"ping"}``. Server: a plain-text greeting on connect, ``{"channel":"subscriptionResponse","data":{...}}``
acks, ``{"channel":"pong"}``, ``userFills`` (the first message after subscribing is the snapshot, with
``isSnapshot: true``), ``orderUpdates`` (a list of ``{order, status, statusTimestamp}``) and ``allMids``. User
streams are public on Hyperliquid (no auth: anyone may follow any address). The core's pause and drop controls
apply: a paused hub sends nothing, not even pongs; a drop aborts the socket (the SDK never reconnects).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.sim.events import EventBatch, FillEvent, MarkEvent, OrderChange, OrderEvent
from runtime.sim.hyperliquid import payloads
from runtime.sim.streams import StreamConnection

if TYPE_CHECKING:
    from runtime.sim.hyperliquid.server import HyperliquidSimulator

GREETING = "Websocket connection established."
USER_CHANNELS = ("userFills", "orderUpdates")
SNAPSHOT_FILLS = 2000


def channel_key(channel: str, user: str | None = None) -> str:
    return channel if user is None else f"{user.lower()}/{channel}"


class StreamApi:
    def __init__(self, sim: HyperliquidSimulator) -> None:
        self.sim = sim

    async def handle(self, request: web.Request) -> web.StreamResponse:
        async with self.sim.streams.connection(request) as conn:
            conn.send_text(GREETING)
            async for text in conn.texts():
                self.on_message(conn, text)
        return conn.ws

    def on_message(self, conn: StreamConnection, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            conn.send_json({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"})
            return
        method = message.get("method") if isinstance(message, dict) else None
        if method == "ping":
            conn.send_json({"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            self._subscription(conn, method, message.get("subscription"))
        else:
            conn.send_json({"channel": "error", "data": f"Unknown method in websocket request: {text}"})

    def _subscription(self, conn: StreamConnection, method: str, subscription: object) -> None:
        if not isinstance(subscription, dict):
            conn.send_json({"channel": "error", "data": "Invalid subscription: expected an object with a type"})
            return
        kind, user = subscription.get("type"), subscription.get("user")
        if kind == "allMids":
            key = channel_key("allMids")
        elif kind in USER_CHANNELS and isinstance(user, str) and user.startswith("0x") and len(user) == 42:
            key = channel_key(str(kind), user)
        else:
            conn.send_json(
                {
                    "channel": "error",
                    "data": f"Invalid subscription {json.dumps(subscription)}: this simulator serves allMids, "
                    "and userFills / orderUpdates with a 42-character user address",
                }
            )
            return
        ack = {"channel": "subscriptionResponse", "data": {"method": method, "subscription": subscription}}
        if method == "unsubscribe":
            conn.unsubscribe(key)
            conn.send_json(ack)
            return
        conn.subscribe(key)
        conn.send_json(ack)
        if kind == "allMids":
            conn.send_json(self._mids_message())
        elif kind == "userFills":
            assert isinstance(user, str)
            conn.send_json(self._fills_snapshot(user))

    def _mids_message(self) -> dict[str, Any]:
        return {"channel": "allMids", "data": {"mids": self.sim.info_api.mids()}}

    def _fills_snapshot(self, user: str) -> dict[str, Any]:
        account = self.sim.account_of_user(user)
        fills = self.sim.engine.account(account).fills[-SNAPSHOT_FILLS:] if account is not None else []
        return {
            "channel": "userFills",
            "data": {
                "isSnapshot": True,
                "user": user.lower(),
                "fills": [payloads.fill_payload(fill) for fill in reversed(fills)],
            },
        }

    # ----- engine events -> frames -----------------------------------------------------------------------------

    def on_events(self, batch: EventBatch) -> None:
        fills: dict[str, list[dict[str, Any]]] = {}
        updates: dict[str, list[dict[str, Any]]] = {}
        settled = {
            event.order.order_id
            for event in batch
            if isinstance(event, OrderEvent) and event.change is not OrderChange.CREATED
        }
        mids_moved = False
        for event in batch:
            if isinstance(event, MarkEvent):
                mids_moved = True
            elif isinstance(event, FillEvent):
                fills.setdefault(event.account, []).append(payloads.fill_payload(event.fill))
            elif isinstance(event, OrderEvent):
                # An order settled within the same change (an IOC) is reported once, with its final status.
                if event.change is OrderChange.CREATED and event.order.order_id in settled:
                    continue
                updates.setdefault(event.account, []).append(payloads.ws_order(event.order))
        if mids_moved:
            self.sim.streams.publish(channel_key("allMids"), self._mids_message())
        for account, items in updates.items():
            address = self.sim.wallets.address_of(account)
            if address is not None:
                self.sim.streams.publish(
                    channel_key("orderUpdates", address), {"channel": "orderUpdates", "data": items}
                )
        for account, items in fills.items():
            address = self.sim.wallets.address_of(account)
            if address is not None:
                self.sim.streams.publish(
                    channel_key("userFills", address),
                    {"channel": "userFills", "data": {"user": address, "fills": items}},
                )
