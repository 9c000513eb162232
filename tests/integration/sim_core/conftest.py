"""A toy venue on the simulator base: just enough routes to exercise the server, faults, admin and streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from runtime.domain.values import Side, Venue
from runtime.sim.events import EventBatch, FillEvent
from runtime.sim.faults import EndpointClass, InjectedError
from runtime.sim.model import OrderRejected, OrderType
from runtime.sim.server import SimulatorServer


class ToySimulator(SimulatorServer):
    venue = Venue.BYBIT

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/toy/ping", self.ping)
        app.router.add_post("/toy/order", self.place)
        app.router.add_get("/toy/ws", self.stream)

    def classify(self, request: web.Request) -> str:
        if request.path == "/toy/ws":
            return EndpointClass.WS
        return EndpointClass.ORDER if request.path == "/toy/order" else EndpointClass.READ

    def format_injected_error(self, kind: InjectedError, request: web.Request) -> web.StreamResponse:
        if kind is InjectedError.RATE_LIMIT:
            return web.json_response({"code": "slow down"}, status=429)
        return web.json_response({"code": "oops"}, status=502)

    async def ping(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"pong": True})

    async def place(self, request: web.Request) -> web.StreamResponse:
        account = self.account_for_key(request.headers.get("X-Key", ""))
        if account is None:
            return web.json_response({"error": "bad key"}, status=401)
        body = await request.json()
        try:
            order = self.engine.place_order(
                account,
                symbol=body["symbol"],
                side=Side(body["side"]),
                qty=Decimal(body["qty"]),
                order_type=OrderType.MARKET,
                client_id=body.get("client_id", ""),
            )
        except OrderRejected as exc:
            return web.json_response({"error": exc.kind.value}, status=400)
        return web.json_response({"order_id": str(order.order_id)})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        async with self.streams.connection(request) as conn:
            async for text in conn.texts():
                message = json.loads(text)
                if message.get("op") == "auth":
                    conn.account = self.account_for_key(message["key"])
                    conn.subscribe(f"{conn.account}/fills")
                    conn.send_json({"op": "auth", "ok": conn.account is not None})
                elif message.get("op") == "ping":
                    conn.send_json({"op": "pong"})
        return conn.ws

    def on_events(self, batch: EventBatch) -> None:
        for event in batch:
            if isinstance(event, FillEvent):
                fill = event.fill
                self.streams.publish(f"{fill.account}/fills", {"qty": str(fill.qty), "seq": fill.seq})


@pytest.fixture
async def toy() -> AsyncIterator[ToySimulator]:
    sim = ToySimulator(seed=3)
    await sim.start(port=0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
