"""The open WebSocket connections of one simulator, and the stream faults: drop, pause (zombie), topic order.

Venue layers accept a socket with ``async with hub.connection(request) as conn`` and read client frames with
``async for text in conn.texts()``. Frames go out through ``conn.send_json`` (non-blocking: a writer task per
connection sends them in order), so the synchronous matching engine's listeners can publish directly.
Subscriptions are free-form keys the venue chooses (e.g. ``"alice/execution"``); ``hub.publish(key, payload)``
reaches every connection subscribed to ``key``.

While paused nothing leaves any socket, not even pongs to protocol pings: the socket stays open but silent, as a
zombie connection does, and frames produced meanwhile are lost (a real venue does not replay them either).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)


class TopicOrder(StrEnum):
    """Arrival order of Bybit's order and position messages for one fill."""

    ORDER_FIRST = "order_first"
    POSITION_FIRST = "position_first"
    RANDOM = "random"


class StreamConnection:
    """One accepted WebSocket. ``account`` and ``state`` are for the venue layer (auth result, listenKey...)."""

    def __init__(self, hub: StreamHub, request: web.Request, ws: web.WebSocketResponse) -> None:
        self.hub = hub
        self.request = request
        self.ws = ws
        self.account: str | None = None
        self.subscriptions: set[str] = set()
        self.state: dict[str, Any] = {}
        self._transport = request.transport
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())

    @property
    def closed(self) -> bool:
        return self.ws.closed or self._writer.done()

    def send_json(self, payload: Any) -> bool:
        """Queue a frame; False when it was lost (paused or closed)."""
        return self.send_text(json.dumps(payload, separators=(",", ":")))

    def send_text(self, text: str) -> bool:
        if self.hub.paused or self.closed:
            return False
        self._outbox.put_nowait(text)
        return True

    def subscribe(self, key: str) -> None:
        self.subscriptions.add(key)

    def unsubscribe(self, key: str) -> None:
        self.subscriptions.discard(key)

    async def texts(self) -> AsyncIterator[str]:
        """Client text frames until the socket closes; protocol pings are answered here (unless paused)."""
        async for message in self.ws:
            if message.type is WSMsgType.TEXT:
                yield message.data
            elif message.type is WSMsgType.PING:
                if not self.hub.paused:
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        await self.ws.pong(message.data)
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break

    def abort(self) -> None:
        """Cut the connection now, without a close frame (what a client sees when a venue drops it)."""
        self._writer.cancel()
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close(code=1001, message=b"simulator stopping")

    async def _write_loop(self) -> None:
        while True:
            text = await self._outbox.get()
            if self.hub.paused:
                continue
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return


class StreamHub:
    """Every open WebSocket of one simulator."""

    def __init__(self, seed: int = 0) -> None:
        self.connections: set[StreamConnection] = set()
        self.paused = False
        self.topic_order = TopicOrder.ORDER_FIRST
        self._topic_rng = random.Random(seed)

    @contextlib.asynccontextmanager
    async def connection(self, request: web.Request) -> AsyncIterator[StreamConnection]:
        # autoping off: pongs go through texts() so a paused stream stays silent, as a zombie would.
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = StreamConnection(self, request, ws)
        self.connections.add(conn)
        try:
            yield conn
        finally:
            self.connections.discard(conn)
            await conn.close()

    def publish(self, key: str, payload: Any) -> int:
        """Send ``payload`` to every connection subscribed to ``key``; returns how many got it queued."""
        return sum(1 for conn in list(self.connections) if key in conn.subscriptions and conn.send_json(payload))

    def for_account(self, account: str) -> list[StreamConnection]:
        return [conn for conn in self.connections if conn.account == account]

    def drop_all(self) -> int:
        """Abruptly cut every socket; returns how many were open."""
        dropped = list(self.connections)
        for conn in dropped:
            conn.abort()
        return len(dropped)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def set_topic_order(self, order: TopicOrder, seed: int | None = None) -> None:
        self.topic_order = order
        if seed is not None:
            self._topic_rng.seed(seed)

    def position_first(self) -> bool:
        """For one fill: send the position message before the order/execution messages?"""
        if self.topic_order is TopicOrder.RANDOM:
            return self._topic_rng.random() < 0.5
        return self.topic_order is TopicOrder.POSITION_FIRST

    async def close_all(self) -> None:
        for conn in list(self.connections):
            await conn.close()
