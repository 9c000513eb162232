"""Fixtures that run the Bybit simulator for pybit, which is blocking.

The simulator lives on its own event loop in a daemon thread (``SimHost``), so the tests are plain synchronous
functions calling pybit as a user would. The admin API is driven over HTTP with ``requests`` (it is not part of
the venue's wire protocol, so no SDK exists for it). One simulator serves a whole test module; every test makes its
own accounts, and the simulator is reset after each test (faults, marks, keys).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pybit.unified_trading
import pytest
import requests
from pybit.unified_trading import HTTP, WebSocket

from runtime.sim.bybit import BybitSimulator

T = TypeVar("T")
WsFactory = Callable[["Account", dict[str, Any]], WebSocket]
_names = itertools.count(1)


class SimHost:
    """A BybitSimulator served from a background thread with its own asyncio loop."""

    def __init__(self, seed: int = 7) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bybit-sim", daemon=True)
        self.thread.start()
        self.sim: BybitSimulator = self.run(self._build(seed))
        self.run(self.sim.start(port=0))

    @staticmethod
    async def _build(seed: int) -> BybitSimulator:
        return BybitSimulator(seed=seed)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous engine call on the simulator's loop (the engine is single-threaded)."""

        async def invoke() -> T:
            return fn(*args, **kwargs)

        return self.run(invoke())

    def stop(self) -> None:
        self.run(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

    @property
    def base_url(self) -> str:
        return self.sim.base_url

    def admin(self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200) -> Any:
        url = f"{self.base_url}/admin/{path}"
        response = requests.post(url, json=body, timeout=5) if body is not None else requests.get(url, timeout=5)
        assert response.status_code == expect, response.text
        return response.json()

    def new_account(self, *, balance: str = "10000", mode: str = "one_way", can_withdraw: bool = False) -> Account:
        name = f"acct{next(_names)}"
        creds = self.admin(
            "accounts", {"name": name, "balance": balance, "position_mode": mode, "can_withdraw": can_withdraw}
        )
        return Account(self, name, creds["api_key"], creds["api_secret"])


class Account:
    """A simulator account with its keys, and pybit clients for it."""

    def __init__(self, host: SimHost, name: str, key: str, secret: str) -> None:
        self.host, self.name, self.key, self.secret = host, name, key, secret

    def http(self, **options: Any) -> HTTP:
        # Bybit's own retry of 10002/10006 sleeps for seconds; tests that provoke them pass retry_codes themselves.
        options.setdefault("retry_delay", 0)
        session = HTTP(api_key=self.key, api_secret=self.secret, **options)
        session.endpoint = self.host.base_url
        return session

    def private_ws(self, **options: Any) -> WebSocket:
        pybit.unified_trading.PRIVATE_WSS = self.host.sim.ws_url
        return WebSocket(testnet=False, channel_type="private", api_key=self.key, api_secret=self.secret, **options)

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.host.admin(f"accounts/{self.name}")
        return state

    def stream_subscriptions(self) -> list[tuple[str, frozenset[str]]]:
        """(conn_id, topics) of this account's authenticated sockets, read on the simulator's loop."""

        def read() -> list[tuple[str, frozenset[str]]]:
            return [
                (conn.state["conn_id"], frozenset(key.split("/", 1)[1] for key in conn.subscriptions))
                for conn in self.host.sim.streams.for_account(self.name)
            ]

        return self.host.call(read)

    def wait_subscribed(self, topics: set[str], *, not_conn: set[str] | None = None) -> str:
        """Wait until a socket of this account (other than ``not_conn``) listens to ``topics``; its conn_id."""
        found: list[str] = []

        def ready() -> bool:
            found[:] = [
                cid for cid, subs in self.stream_subscriptions() if topics <= subs and cid not in (not_conn or set())
            ]
            return bool(found)

        wait_until(ready, what=f"{self.name} subscribed to {sorted(topics)}")
        return found[0]


class Inbox:
    """Thread-safe collector for pybit callbacks, with a bounded wait."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, message: dict[str, Any]) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out; got {len(self.messages)} messages: {self.messages[-5:]}")
                self._cond.wait(remaining)
            return list(self.messages)

    def topic(self, topic: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.messages if m.get("topic") == topic]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def host() -> Iterator[SimHost]:
    sim_host = SimHost()
    try:
        yield sim_host
    finally:
        sim_host.stop()


@pytest.fixture(autouse=True)
def _reset_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "host" in request.fixturenames:
        sim_host: SimHost = request.getfixturevalue("host")
        sim_host.admin("reset", {})
        sim_host.admin("faults", {"topic_order": "order_first", "seed": 7})


@pytest.fixture
def ws_factory() -> Iterator[WsFactory]:
    """Opens pybit private WebSockets and closes them after the test."""
    opened: list[WebSocket] = []

    def open_ws(account: Account, options: dict[str, Any]) -> WebSocket:
        ws = account.private_ws(**options)
        opened.append(ws)
        return ws

    yield open_ws
    for ws in opened:
        ws.exit()
