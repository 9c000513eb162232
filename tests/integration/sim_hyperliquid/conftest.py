"""Fixtures: a Hyperliquid simulator on the test's event loop, driven by the official (blocking) SDK.

The simulator serves on 127.0.0.1 from the test's own event loop; every SDK call runs in a worker thread through
``call`` (``asyncio.to_thread``), so the loop keeps serving while the SDK blocks. Accounts and faults are set
through the admin API over HTTP, like a user would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import aiohttp
import eth_account
import pytest
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from runtime.sim.hyperliquid import HyperliquidSimulator

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call in a worker thread while the simulator keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)


@dataclass(frozen=True)
class HlAccount:
    """What ``POST /admin/accounts`` returned, plus the wallets built from it."""

    name: str
    address: str
    private_key: str
    agent_address: str
    agent_private_key: str

    @property
    def agent(self) -> LocalAccount:
        return cast(LocalAccount, eth_account.Account.from_key(self.agent_private_key))

    @property
    def main(self) -> LocalAccount:
        return cast(LocalAccount, eth_account.Account.from_key(self.private_key))


class Admin:
    def __init__(self, sim: HyperliquidSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(f"{self.sim.base_url}{path}", json=body) as response:
            payload = await response.json()
            assert response.status == 200, payload
            return dict(payload)

    async def create_account(self, name: str, balance: str = "10000") -> HlAccount:
        body = await self.post("/admin/accounts", {"name": name, "balance": balance})
        return HlAccount(
            name=body["name"],
            address=body["address"],
            private_key=body["private_key"],
            agent_address=body["agent_address"],
            agent_private_key=body["agent_private_key"],
        )

    async def set_mark(self, symbol: str, price: str) -> None:
        await self.post("/admin/marks", {"symbol": symbol, "price": price})

    async def faults(self, **body: Any) -> dict[str, Any]:
        return await self.post("/admin/faults", body)

    async def account(self, name: str) -> dict[str, Any]:
        async with self.session.get(f"{self.sim.base_url}/admin/accounts/{name}") as response:
            return dict(await response.json())


@pytest.fixture
async def sim() -> AsyncIterator[HyperliquidSimulator]:
    simulator = HyperliquidSimulator(seed=11)
    await simulator.start(port=0)
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def admin(sim: HyperliquidSimulator) -> AsyncIterator[Admin]:
    async with aiohttp.ClientSession() as session:
        yield Admin(sim, session)


@pytest.fixture
async def alice(admin: Admin) -> HlAccount:
    return await admin.create_account("alice", "10000")


@pytest.fixture
async def exchange(sim: HyperliquidSimulator, alice: HlAccount) -> Exchange:
    """The SDK's Exchange as the engine uses it: the agent wallet signs for the account address."""
    return await call(Exchange, alice.agent, base_url=sim.base_url, account_address=alice.address, timeout=10)


@pytest.fixture
async def info(sim: HyperliquidSimulator) -> Info:
    return await call(Info, base_url=sim.base_url, skip_ws=True, timeout=10)


@dataclass
class Inbox:
    """Thread-safe collector for SDK websocket callbacks."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in self.snapshot():
                if predicate(message):
                    return message
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching message within {timeout_s} s; got {self.snapshot()}")


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout_s} s")


@pytest.fixture
async def ws_info(sim: HyperliquidSimulator) -> AsyncIterator[Info]:
    """An Info with its websocket running; stopped at teardown so no SDK thread outlives the test.

    The server side is cut first: websocket-client's reader thread can stay blocked in ``select`` when its socket
    is closed from another thread (what ``disconnect_websocket`` does), while an aborted connection ends it at once.
    """
    client = await call(Info, base_url=sim.base_url, skip_ws=False, timeout=10)
    manager = client.ws_manager
    assert manager is not None
    try:
        yield client
    finally:
        sim.streams.drop_all()
        await wait_until(lambda: not manager.is_alive())
        await call(client.disconnect_websocket)
        await call(manager.join, 5)
