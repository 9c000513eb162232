"""The master feed against the Bybit simulator, on the test's own event loop.

The simulator (aiohttp) and the feed share the loop; the master trades through pybit's blocking HTTP client in a
worker thread, as a real trader's tool would, and faults go through the simulator's admin API. Timings are shrunk
(ping 0.2 s, pong timeout 0.5 s, backoff 0.05..0.2 s) so the whole folder runs in seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from pybit.unified_trading import HTTP

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.retry import RetryPolicy
from runtime.domain.events import MasterPositionChanged
from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx
from runtime.listener.build import build_master_feed
from runtime.listener.master_feed import MasterFeed, MasterFeedConfig
from runtime.listener.master_rest import MasterRestConfig
from runtime.listener.master_stream_config import MasterStreamConfig, StreamCredentials
from runtime.listener.stream_health import BackoffPolicy, HeartbeatPolicy
from runtime.sim.bybit import BybitSimulator

_names = itertools.count(1)

FAST_HEARTBEAT = HeartbeatPolicy(ping_interval_s=0.2, pong_timeout_s=0.5)
FAST_BACKOFF = BackoffPolicy(initial_s=0.05, max_s=0.2, multiplier=2.0, reset_after_s=0.3)


async def wait_until(condition: Callable[[], bool], within_s: float = 5.0, what: str = "condition") -> float:
    """Poll ``condition`` on the loop; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


class SimAdmin:
    def __init__(self, sim: BybitSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.sim.base_url}/admin/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def get(self, path: str) -> Any:
        async with self.session.get(f"{self.sim.base_url}/admin/{path}") as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def faults(self, **body: Any) -> Any:
        return await self.post("faults", body)

    async def positions(self, account: str) -> dict[LegKey, Decimal]:
        state = await self.get(f"accounts/{account}")
        return {
            LegKey(item["symbol"], PositionIdx(item["position_idx"])): Decimal(item["signed_size"])
            for item in state["positions"]
        }


@dataclass
class Master:
    """The master account: its keys and a pybit HTTP client used from a worker thread."""

    name: str
    credentials: StreamCredentials
    http: HTTP

    async def market(
        self, symbol: str, side: str, qty: str, *, position_idx: int = 0, reduce_only: bool = False
    ) -> dict[str, Any]:
        answer = await asyncio.to_thread(
            self.http.place_order,
            category="linear",
            symbol=symbol,
            side=side,
            orderType="Market",
            qty=qty,
            positionIdx=position_idx,
            reduceOnly=reduce_only,
        )
        assert answer["retCode"] == 0, answer
        return dict(answer["result"])


@dataclass
class Recorder:
    """The feed's sink: every emitted change, in order."""

    changes: list[MasterPositionChanged] = field(default_factory=list)

    async def __call__(self, change: MasterPositionChanged) -> None:
        self.changes.append(change)

    def for_leg(self, leg: LegKey) -> list[MasterPositionChanged]:
        return [change for change in self.changes if change.leg == leg]


@dataclass
class Harness:
    sim: BybitSimulator
    admin: SimAdmin
    runner: BlockingCallRunner

    async def new_master(self, mode: str = "one_way", balance: str = "1000000") -> Master:
        name = f"master{next(_names)}"
        creds = await self.admin.post("accounts", {"name": name, "balance": balance, "position_mode": mode})
        http = HTTP(api_key=creds["api_key"], api_secret=creds["api_secret"], retry_delay=0)
        http.endpoint = self.sim.base_url
        return Master(name, StreamCredentials(creds["api_key"], creds["api_secret"]), http)

    def feed(self, master: Master, recorder: Recorder, *, offline_replay_interval_s: float = 5.0) -> MasterFeed:
        """The feed as the engine wires it (``build_master_feed``), pointed at the simulator, with test timings."""
        stream_config = MasterStreamConfig(
            heartbeat=FAST_HEARTBEAT,
            backoff=FAST_BACKOFF,
            connect_timeout_s=1.0,
            ack_timeout_s=0.5,
            close_timeout_s=0.2,
            use_system_proxy=False,
        )
        feed_config = MasterFeedConfig(
            master.name,
            poll_interval_s=0.05,
            pending_timeout_s=0.5,
            replay_retry_s=0.1,
            offline_replay_interval_s=offline_replay_interval_s,
        )
        return build_master_feed(
            master.name,
            master.credentials,
            recorder,
            runner=self.runner,
            rest_url=self.sim.base_url,
            ws_url=self.sim.ws_url,
            feed_config=feed_config,
            stream_config=stream_config,
            rest_config=MasterRestConfig(
                call_timeout_s=2.0, retry=RetryPolicy(3, 0.05, 0.2), rate_per_s=1000, burst=1000
            ),
        )


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    sim = BybitSimulator(seed=11)
    await sim.start(port=0)
    runner = BlockingCallRunner(max_workers=8, thread_name_prefix="master-rest")
    try:
        async with aiohttp.ClientSession() as session:
            yield Harness(sim, SimAdmin(sim, session), runner)
    finally:
        runner.shutdown()
        await sim.stop()


async def settle(recorder: Recorder, quiet_s: float = 0.3, within_s: float = 5.0) -> None:
    """Wait until no new change arrived for ``quiet_s``."""
    deadline = time.monotonic() + within_s
    seen = -1
    while seen != len(recorder.changes):
        assert time.monotonic() < deadline, "changes kept arriving"
        seen = len(recorder.changes)
        await asyncio.sleep(quiet_s)


def assert_exactly_once(recorder: Recorder, final: dict[LegKey, Decimal]) -> None:
    """Per leg: seq strictly increasing, each change starts where the previous one ended (nothing missing, nothing
    twice), and the last emitted size is the venue's; no exec id is carried by two changes."""
    legs = {change.leg for change in recorder.changes} | set(final)
    for leg in legs:
        chain = recorder.for_leg(leg)
        seqs = [change.seq for change in chain]
        assert seqs == sorted(set(seqs)), f"{leg}: seq not strictly increasing: {seqs}"
        size = ZERO
        for change in chain:
            assert change.prev_size == size, (
                f"{leg}: change at seq {change.seq} starts at {change.prev_size}, not {size}"
            )
            assert change.new_size != change.prev_size, f"{leg}: empty change at seq {change.seq}"
            size = change.new_size
        assert size == final.get(leg, ZERO), f"{leg}: last emitted size {size}, venue has {final.get(leg, ZERO)}"
    exec_ids = [exec_id for change in recorder.changes for exec_id in change.exec_ids]
    assert len(exec_ids) == len(set(exec_ids)), "an exec id was carried by two changes"
