"""The stream's protocol paths the simulator cannot produce on demand, against a tiny scripted local venue:
subscriptions left unacknowledged, a refused login or subscription, a socket that stops answering pings, and a
clean stop."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from runtime.listener.master_stream import MasterStream
from runtime.listener.master_stream_config import PRIVATE_TOPICS, MasterStreamConfig, StreamCredentials
from runtime.listener.stream_health import BackoffPolicy, HeartbeatPolicy
from tests.integration.listener.conftest import wait_until

CREDENTIALS = StreamCredentials("local-key-123", "local-secret-456")


@dataclass(frozen=True)
class Behaviour:
    """How the venue treats one connection."""

    answer_login: bool = True
    login_ok: bool = True
    acked_topics: frozenset[str] = frozenset(PRIVATE_TOPICS)
    subscription_ok: bool = True
    pong: bool = True
    frame_after_first_ack: bool = False


@dataclass
class ScriptedVenue:
    behaviours: list[Behaviour]
    connections: int = 0
    closed: int = 0
    logins: list[list[Any]] = field(default_factory=list)
    login_signatures_valid: list[bool] = field(default_factory=list)
    url: str = ""

    def behaviour(self, index: int) -> Behaviour:
        return self.behaviours[min(index, len(self.behaviours) - 1)]

    async def handle(self, ws: ServerConnection) -> None:
        behaviour = self.behaviour(self.connections)
        self.connections += 1
        try:
            async for text in ws:
                await self._answer(ws, behaviour, json.loads(text))
        finally:
            self.closed += 1

    async def _answer(self, ws: ServerConnection, behaviour: Behaviour, message: dict[str, Any]) -> None:
        op, req_id = message["op"], message.get("req_id")
        if op == "auth":
            key, expires, signature = message["args"]
            expected = hmac.new(CREDENTIALS.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
            self.logins.append(message["args"])
            self.login_signatures_valid.append(
                key == CREDENTIALS.api_key and signature == expected.hexdigest() and expires > time.time() * 1000
            )
            if behaviour.answer_login:
                ok = behaviour.login_ok and self.login_signatures_valid[-1]
                await ws.send(
                    json.dumps({"success": ok, "ret_msg": "" if ok else "Invalid sign", "op": op, "req_id": req_id})
                )
        elif op == "subscribe":
            (topic,) = message["args"]
            if topic in behaviour.acked_topics:
                ok = behaviour.subscription_ok
                answer = {"success": ok, "ret_msg": "" if ok else "error:handler not found", "op": op, "req_id": req_id}
                await ws.send(json.dumps(answer))
                if behaviour.frame_after_first_ack and topic == PRIVATE_TOPICS[0]:
                    await ws.send(json.dumps({"topic": "wallet", "data": [{"totalEquity": "1"}]}))
        elif op == "ping" and behaviour.pong:
            await ws.send(json.dumps({"op": "pong", "args": ["1"], "req_id": req_id}))


@pytest.fixture
async def venue_factory() -> AsyncIterator[Any]:
    servers: list[Any] = []

    async def start(*behaviours: Behaviour) -> ScriptedVenue:
        venue = ScriptedVenue(list(behaviours))
        server = await serve(venue.handle, "127.0.0.1", 0)
        servers.append(server)
        port = next(iter(server.sockets)).getsockname()[1]
        venue.url = f"ws://127.0.0.1:{port}/v5/private"
        return venue

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@dataclass
class Probe:
    frames: list[dict[str, Any]] = field(default_factory=list)
    ready: int = 0

    def on_frame(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)

    def on_ready(self) -> None:
        self.ready += 1


def make_stream(venue: ScriptedVenue, probe: Probe) -> MasterStream:
    config = MasterStreamConfig(
        url=venue.url,
        heartbeat=HeartbeatPolicy(ping_interval_s=0.2, pong_timeout_s=0.5),
        backoff=BackoffPolicy(initial_s=0.05, max_s=0.2, reset_after_s=5.0),
        connect_timeout_s=1.0,
        ack_timeout_s=0.3,
        close_timeout_s=0.2,
        use_system_proxy=False,
    )
    return MasterStream(CREDENTIALS, config, on_frame=probe.on_frame, on_ready=probe.on_ready)


async def test_an_unacknowledged_subscription_replaces_the_socket(venue_factory: Any) -> None:
    venue = await venue_factory(Behaviour(acked_topics=frozenset({"execution", "order", "position"})), Behaviour())
    probe = Probe()
    async with make_stream(venue, probe) as stream:
        took = await wait_until(lambda: probe.ready == 1, within_s=3, what="second connection established")
        stats = stream.stats
        assert stats.ack_timeouts == 1 and stats.connect_failures == 1 and stats.connections == 1
        assert stats.disconnect_reasons["ack timeout"] == 1
        assert venue.connections == 2
        # ack timeout (0.3 s) + first backoff (<= 0.05 s) + a handshake on loopback
        assert took < 1.0
        await wait_until(lambda: venue.closed >= 1, what="the first socket closed")


async def test_a_refused_login_is_counted_and_retried_with_backoff(venue_factory: Any) -> None:
    venue = await venue_factory(Behaviour(login_ok=False), Behaviour(login_ok=False), Behaviour())
    probe = Probe()
    async with make_stream(venue, probe) as stream:
        await wait_until(lambda: probe.ready == 1, within_s=3, what="established after two refusals")
        assert stream.stats.auth_failures == 2
        assert stream.stats.connections == 1 and stream.stats.connect_failures == 2
    assert all(venue.login_signatures_valid), "the login frame is HMAC(secret, 'GET/realtime' + expires)"
    assert all(args[0] == CREDENTIALS.api_key for args in venue.logins)


async def test_a_refused_subscription_reconnects(venue_factory: Any) -> None:
    venue = await venue_factory(Behaviour(subscription_ok=False), Behaviour())
    probe = Probe()
    async with make_stream(venue, probe) as stream:
        await wait_until(lambda: probe.ready == 1, within_s=3, what="established")
        assert stream.stats.disconnect_reasons["subscription refused"] == 1


async def test_a_socket_that_stops_answering_pings_is_a_zombie(venue_factory: Any) -> None:
    venue = await venue_factory(Behaviour(pong=False), Behaviour())
    probe = Probe()
    async with make_stream(venue, probe) as stream:
        await wait_until(lambda: probe.ready == 1, what="first session")
        established = time.monotonic()
        await wait_until(lambda: stream.stats.zombie_detections == 1, within_s=3, what="zombie")
        assert time.monotonic() - established <= stream.config.detection_bound_s + 0.3
        await wait_until(lambda: probe.ready == 2, within_s=3, what="replacement session")
        assert stream.stats.disconnects == 1 and stream.stats.reconnects == 1
        # The healthy replacement keeps answering: no further zombie for a few ping periods.
        await asyncio.sleep(1.0)
        assert stream.stats.zombie_detections == 1 and stream.stats.connections == 2


async def test_frames_sent_between_acks_are_delivered(venue_factory: Any) -> None:
    venue = await venue_factory(Behaviour(frame_after_first_ack=True))
    probe = Probe()
    async with make_stream(venue, probe):
        await wait_until(lambda: probe.ready == 1, what="established")
        await wait_until(lambda: len(probe.frames) == 1, what="the early frame")
    assert probe.frames[0]["topic"] == "wallet"


async def test_stop_closes_the_socket_and_ends_the_loop(venue_factory: Any) -> None:
    venue = await venue_factory(Behaviour())
    probe = Probe()
    stream = make_stream(venue, probe)
    await stream.start()
    await wait_until(lambda: probe.ready == 1, what="established")
    await stream.stop()
    await wait_until(lambda: venue.closed == 1, within_s=2, what="the venue saw the close")
    await asyncio.sleep(0.3)
    assert venue.connections == 1, "a stopped stream must not reconnect"
    await stream.stop()  # idempotent
