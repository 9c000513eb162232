"""Fixtures for driving the Binance simulator with python-binance 1.0.37 over real sockets on 127.0.0.1.

The simulator runs on the test's event loop. python-binance is blocking, so every SDK call goes through
``asyncio.to_thread`` (``call``); the ThreadedWebsocketManager runs in its own thread with its own loop, and its
callback messages are collected in a thread-safe list the test polls with a bounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from binance import AsyncClient, ThreadedWebsocketManager
from binance.client import Client
from binance.exceptions import BinanceAPIException
from binance.ws.constants import WSListenerState
from binance.ws.streams import BinanceSocketManager

from runtime.domain.values import PositionMode, Venue
from runtime.sim.binance import BinanceSimulator
from runtime.sim.binance.symbols import Precision
from runtime.sim.catalogue import Catalogue, binance_catalogue
from runtime.sim.server import Credentials

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call off the event loop the simulator is serving on."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def refused(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> BinanceAPIException:
    """The BinanceAPIException a call raises (fails the test if it succeeds)."""
    with pytest.raises(BinanceAPIException) as info:
        await call(fn, *args, **kwargs)
    return info.value


def sdk_client(sim: BinanceSimulator, credentials: Credentials | None, **overrides: str) -> Client:
    """A python-binance Client pointed at the simulator (REST only; no ping at construction)."""
    key = overrides.get("key", credentials.key if credentials else "")
    secret = overrides.get("secret", credentials.secret if credentials else "")
    client = Client(key, secret, ping=False)
    client.FUTURES_URL = f"{sim.base_url}/fapi"
    client.API_URL = f"{sim.base_url}/api"
    client.MARGIN_API_URL = f"{sim.base_url}/sapi"
    return client


def admin_post(sim: BinanceSimulator, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST to the simulator's admin API (plain HTTP: the admin API is ours, not Binance's)."""
    request = urllib.request.Request(
        f"{sim.base_url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def wait_until(predicate: Callable[[], object], timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def strict_catalogue() -> Catalogue:
    """Binance's catalogue with SOLUSDT given a min qty above its step, so -4004 and -4023 are both reachable.

    (Every listed Binance symbol has minQty == stepSize, which makes "on step but below min" impossible.)
    """
    items = []
    for item in binance_catalogue():
        if item.symbol == "SOLUSDT":
            item = replace(item, rules=replace(item.rules, qty_step=Decimal("0.1"), min_qty=Decimal("1")))
        items.append(item)
    return Catalogue(Venue.BINANCE, items)


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSimulator]:
    simulator = BinanceSimulator(
        catalogue=strict_catalogue(),
        precision_overrides={"SOLUSDT": Precision(price=4, quantity=2)},
        listen_key_check_s=0.05,
    )
    await simulator.start(port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
def account(sim: BinanceSimulator) -> Callable[..., Credentials]:
    def make(name: str = "alice", balance: str = "10000", mode: PositionMode = PositionMode.ONE_WAY) -> Credentials:
        return sim.register_account(name, Decimal(balance), mode)

    return make


@pytest.fixture
def client(sim: BinanceSimulator, account: Callable[..., Credentials]) -> Client:
    """alice's Client: 10000 USDT, one-way mode."""
    return sdk_client(sim, account())


class UserSocket:
    """A ThreadedWebsocketManager futures user socket whose callback messages land in ``messages``."""

    def __init__(self, credentials: Credentials) -> None:
        self.account = credentials.account
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        # Its own loop: built on this thread, get_loop() would hand it the test's running loop.
        self.loop = asyncio.new_event_loop()
        self.manager = ThreadedWebsocketManager(credentials.key, credentials.secret, loop=self.loop)

    def _on_message(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m.get("e") == kind]

    def start(self) -> None:
        """Call from a worker thread. The socket object picks its loop with get_loop() on the calling thread and
        schedules its read loop there, so that thread's current loop must be the manager's while it is built."""
        self.manager.start()
        asyncio.set_event_loop(self.loop)
        try:
            self.manager.start_futures_user_socket(callback=self._on_message)
        finally:
            asyncio.set_event_loop(None)

    def _exiting(self) -> bool:
        # Reads SDK internals on purpose: it is the only signal that its read loop has been told to exit.
        bsm = self.manager._bsm
        sockets = list(bsm._conns.values()) if bsm is not None else []
        return all(s.ws_state is WSListenerState.EXITING for s in sockets)

    async def close(self, sim: BinanceSimulator) -> None:
        """Stop the manager promptly. Its listener only notices stop() when a message arrives (else after a 3 s
        poll), and its read loop exits only once told to AND its socket closes (else it reconnects): so stop,
        nudge with a frame, wait for the exit flag, then close the socket from the simulator's side."""
        await call(self.manager.stop)
        for conn in sim.streams.for_account(self.account):
            conn.send_json({"e": "simulatorNudge"})
        with contextlib.suppress(AssertionError):
            await wait_until(self._exiting, timeout_s=5, what="the SDK's read loop to exit")
        for conn in sim.streams.for_account(self.account):
            await conn.close()
        await call(self.manager.join, 10)


@pytest.fixture
def sdk_stream_urls(sim: BinanceSimulator) -> Iterator[None]:
    """Point AsyncClient and BinanceSocketManager (class attributes) at the simulator; restore them after."""
    saved = (AsyncClient.API_URL, AsyncClient.FUTURES_URL, BinanceSocketManager.FSTREAM_URL)
    AsyncClient.API_URL = f"{sim.base_url}/api"
    AsyncClient.FUTURES_URL = f"{sim.base_url}/fapi"
    BinanceSocketManager.FSTREAM_URL = sim.ws_url
    try:
        yield
    finally:
        AsyncClient.API_URL, AsyncClient.FUTURES_URL, BinanceSocketManager.FSTREAM_URL = saved


@pytest.fixture
async def user_socket(
    sim: BinanceSimulator, sdk_stream_urls: None, client: Client
) -> AsyncIterator[Callable[[Credentials | None], Any]]:
    """Start a futures user socket (alice's by default) and wait until the simulator has accepted it."""
    started: list[UserSocket] = []

    async def open_socket(credentials: Credentials | None = None) -> UserSocket:
        creds = credentials or sim.credentials_for_account("alice")
        assert creds is not None
        socket = UserSocket(creds)
        started.append(socket)
        await call(socket.start)
        await wait_until(lambda: any(c.account == creds.account for c in sim.streams.connections), what="socket")
        return socket

    try:
        yield open_socket
    finally:
        for socket in started:
            await socket.close(sim)
