"""Bybit's private WebSocket ``/v5/private``: auth, subscribe, ping, and the execution/order/position/wallet topics.

Frames are ``{"id","topic","creationTime","data":[...]}``. One fill produces an order, an execution and a position
message sharing ``seq`` (then a wallet message); their order follows the simulator's topic-order setting:
order_first = order, execution, position; position_first = position, execution, order; random = a seeded shuffle.
An order created or cancelled without a fill still sends a position message with the leg unchanged, as Bybit does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from runtime.sim.bybit.auth import SecretLookup, WsAuthError, verify_ws_auth
from runtime.sim.bybit.codes import now_ms
from runtime.sim.bybit.payloads import execution_item, order_item, position_item
from runtime.sim.events import (
    EventBatch,
    FillEvent,
    MarkEvent,
    OrderChange,
    OrderEvent,
    PositionEvent,
    WalletEvent,
)
from runtime.sim.ledger import PositionView
from runtime.sim.streams import StreamConnection, StreamHub, TopicOrder

TOPICS = ("execution", "order", "position", "wallet")
# Categorised variants Bybit also accepts; frames then carry that topic name.
CATEGORISED = {"execution.linear": "execution", "order.linear": "order", "position.linear": "position"}

# How long a subscribe/unsubscribe answer takes, like a venue across a network (the subscription itself is live
# at once). pybit needs a few milliseconds here, see _subscribe.
DEFAULT_ACK_DELAY_S = 0.02

Frame = dict[str, Any]
Wallet = Callable[[str], Frame]  # account -> wallet data item
FeeRate = Callable[[bool], Decimal]  # is_maker -> fee rate


def subscription_key(account: str, topic: str) -> str:
    return f"{account}/{topic}"


class PrivateStream:
    def __init__(
        self,
        hub: StreamHub,
        *,
        secrets: SecretLookup,
        account_of: Callable[[str], str | None],
        wallet_of: Wallet,
        fee_rate: FeeRate,
    ) -> None:
        self.hub = hub
        self._secrets = secrets
        self._account_of = account_of
        self._wallet_of = wallet_of
        self._fee_rate = fee_rate
        self._conn_ids = itertools.count(1)
        self.ack_delay_s = DEFAULT_ACK_DELAY_S

    # ----- the socket ------------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        async with self.hub.connection(request) as conn:
            conn.state["conn_id"] = f"{uuid.uuid4().hex[:20]}-{next(self._conn_ids)}"
            async for text in conn.texts():
                self._on_text(conn, text)
        return conn.ws

    def _on_text(self, conn: StreamConnection, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            conn.send_json(self._reply(conn, "", False, "error:invalid json", None))
            return
        if not isinstance(message, dict):
            conn.send_json(self._reply(conn, "", False, "error:message must be a JSON object", None))
            return
        op = message.get("op")
        req_id = message.get("req_id")
        if op == "ping":
            pong: Frame = {"op": "pong", "args": [str(now_ms())], "conn_id": conn.state["conn_id"]}
            if req_id is not None:
                pong["req_id"] = req_id
            conn.send_json(pong)
        elif op == "auth":
            self._auth(conn, message.get("args"), req_id)
        elif op in ("subscribe", "unsubscribe"):
            self._subscribe(conn, op, message.get("args"), req_id)
        else:
            conn.send_json(self._reply(conn, str(op or ""), False, f"error:invalid op {op!r}", req_id))

    def _reply(self, conn: StreamConnection, op: str, success: bool, ret_msg: str, req_id: object) -> Frame:
        reply: Frame = {"success": success, "ret_msg": ret_msg, "op": op, "conn_id": conn.state["conn_id"]}
        if req_id is not None:
            reply["req_id"] = req_id
        return reply

    def _auth(self, conn: StreamConnection, args: object, req_id: object) -> None:
        if conn.account is not None:
            conn.send_json(self._reply(conn, "auth", False, "Repeat auth", req_id))
            return
        try:
            api_key = verify_ws_auth(args, self._secrets, now_ms())
        except WsAuthError as exc:
            conn.send_json(self._reply(conn, "auth", False, str(exc), req_id))
            return
        conn.account = self._account_of(api_key)
        conn.send_json(self._reply(conn, "auth", conn.account is not None, "", req_id))

    def _subscribe(self, conn: StreamConnection, op: str, args: object, req_id: object) -> None:
        # Answers come after a network-like pause: pybit stores a subscription's req_id only after sending it, so
        # an instant answer can beat it and kill pybit's socket thread with a KeyError.
        later = asyncio.get_running_loop().call_later
        if conn.account is None:
            later(self.ack_delay_s, conn.send_json, self._reply(conn, op, False, "Request not authorized", req_id))
            return
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            refusal = self._reply(conn, op, False, "error:args must be a non-empty list of topics", req_id)
            later(self.ack_delay_s, conn.send_json, refusal)
            return
        unknown = [topic for topic in args if topic not in TOPICS and topic not in CATEGORISED]
        if unknown:
            refusal = self._reply(conn, op, False, f"error:handler not found,topic:{unknown[0]}", req_id)
            later(self.ack_delay_s, conn.send_json, refusal)
            return
        for topic in args:
            key = subscription_key(conn.account, topic)
            if op == "subscribe":
                conn.subscribe(key)
            else:
                conn.unsubscribe(key)
        later(self.ack_delay_s, conn.send_json, self._reply(conn, op, True, "", req_id))

    # ----- engine events -> frames -----------------------------------------------------------------------------

    def on_events(self, batch: EventBatch) -> None:
        account = next((e.account for e in batch if not isinstance(e, MarkEvent)), None)
        if account is None:
            return  # a mark change: Bybit's private topics do not report it on its own
        filled_ids = {e.fill.order_id for e in batch if isinstance(e, FillEvent)}
        orders = [
            order_item(e.order, for_stream=True)
            for e in batch
            if isinstance(e, OrderEvent)
            # An order that fills at once shows up as Filled only, not New then Filled.
            and not (e.change is OrderChange.CREATED and e.order.order_id in filled_ids)
        ]
        executions = [
            execution_item(
                e.fill, fee_rate=self._fee_rate(e.fill.is_maker), mark=e.fill.position.mark_price, for_stream=True
            )
            for e in batch
            if isinstance(e, FillEvent)
        ]
        positions = [self._position(e.position) for e in batch if isinstance(e, PositionEvent)]
        has_wallet = any(isinstance(e, WalletEvent) for e in batch)
        parts = {"order": orders, "execution": executions, "position": positions}
        for topic in self._topic_sequence(bool(executions)):
            if parts[topic]:
                self._publish(account, topic, parts[topic])
        if has_wallet:
            # Read at publish time, which is the state right after the change (the engine is synchronous).
            self._publish(account, "wallet", [self._wallet_of(account)])

    def _topic_sequence(self, has_fill: bool) -> list[str]:
        if not has_fill:
            return ["order", "execution", "position"]
        if self.hub.topic_order is TopicOrder.RANDOM:
            # Seeded coin flips from the hub: which of order/position leads, and where the execution lands.
            pair = ["position", "order"] if self.hub.position_first() else ["order", "position"]
            slot = int(self.hub.position_first()) + int(self.hub.position_first())
            return [*pair[:slot], "execution", *pair[slot:]]
        if self.hub.position_first():
            return ["position", "execution", "order"]
        return ["order", "execution", "position"]

    @staticmethod
    def _position(view: PositionView) -> Frame:
        return position_item(view, created_ms=view.updated_ms or now_ms(), for_stream=True)

    def _publish(self, account: str, topic: str, data: list[Frame]) -> None:
        created = now_ms()
        names = [topic, *(name for name, base in CATEGORISED.items() if base == topic)]
        for name in names:
            frame = {
                "id": f"{uuid.uuid4().hex[:12]}-{uuid.uuid4()}",
                "topic": name,
                "creationTime": created,
                "data": data,
            }
            self.hub.publish(subscription_key(account, name), frame)
