"""The Fargate listener's sink and start-up against moto and the Bybit simulator, and why two listeners of one master
never copy a change twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pybit.unified_trading import HTTP

from lambdas.dispatcher.handler import handler as dispatcher
from lambdas.executor.handler import handler as executor
from runtime.adapters.sqs.messages import decode_master_change
from runtime.demo.world import DEMO_TUNING
from runtime.domain.values import PositionIdx, Venue
from runtime.hosts.aws import AwsServices
from runtime.listener.fargate_main import ListenerTuning, run_listener
from runtime.services.dispatcher import snapshot_from_change
from tests.integration.aws_handlers.world import MASTER, SYMBOL, HandlerWorld, failed_ids, sqs_event


def test_the_sink_writes_the_snapshot_then_sends_the_change_grouped_by_leg(world: HandlerWorld) -> None:
    services = world.install()
    change = world.master_change(101, Decimal("0.1"))

    asyncio.run(world.listener_sink(services)(change))

    snapshot = services.store.get_master_snapshot(MASTER, SYMBOL, PositionIdx.ONE_WAY)
    assert snapshot is not None and (snapshot.seq, snapshot.size) == (101, Decimal("0.1"))
    assert snapshot.lifecycle == change.lifecycle
    [message] = world.drain(world.master_queue)
    assert message["Attributes"]["MessageGroupId"] == "main:BTCUSDT:0"
    assert message["Attributes"]["MessageDeduplicationId"] == "main:BTCUSDT:0:101"
    sent = decode_master_change(message["Body"]).change
    assert (sent.seq, sent.new_size, sent.lifecycle) == (101, Decimal("0.1"), change.lifecycle)


def test_two_listeners_of_one_master_copy_each_change_once(world: HandlerWorld) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    # Two listener tasks (say, an old one still running during a deployment): each its own services and sink.
    first = AwsServices.from_environment(world.env)
    second = AwsServices.from_environment(world.env)
    try:
        one, two = world.listener_sink(first), world.listener_sink(second)
        opened = world.master_change(101, Decimal("0.1"))

        # 1. Both confirm seq 101: the same dedup id, so the queue keeps one message.
        asyncio.run(one(opened))
        asyncio.run(two(opened))
        queued = world.drain(world.master_queue)
        assert [decode_master_change(m["Body"]).change.seq for m in queued] == [101]

        # 2. The first writes seq 102's snapshot and dies before sending; the second's write is refused as not newer,
        #    but it still sends, so the change is not lost.
        grown = world.master_change(102, Decimal("0.2"), Decimal("0.1"))
        assert first.store.put_master_snapshot(snapshot_from_change(grown, 1)) is True
        asyncio.run(two(grown))
        queued += world.drain(world.master_queue)

        # 3. Everything delivered twice over (past the dedup window, redeliveries): each change is fanned out and
        #    executed again, and the claims let each order through once.
        world.install()
        for message in [*queued, *queued]:
            assert failed_ids(dispatcher(sqs_event([message]))) == []
            for job in world.drain(world.orders_queue):
                assert failed_ids(executor(sqs_event([job]))) == []
    finally:
        first.close()
        second.close()

    # seq 101 was already replaced by 102 when its first copy was dispatched: one order to 0.333, none for 101
    assert len(world.sims.orders(Venue.BYBIT, alice)) == 1
    assert world.sims.position(Venue.BYBIT, alice) == Decimal("0.333")


async def test_the_listener_sends_the_masters_trades_and_keeps_its_heartbeat(
    world: HandlerWorld, tmp_path: Path
) -> None:
    sims = world.sims
    bybit = sims.url(Venue.BYBIT)
    keys = sims.admin(Venue.BYBIT, "accounts", {"name": f"master-{world.tag}", "balance": "10000"})
    heartbeat = tmp_path / "heartbeat"
    env = {
        **world.env,
        "MASTER_API_KEY": keys["api_key"],
        "MASTER_API_SECRET": keys["api_secret"],
        "MASTER_REST_URL": bybit,
        "MASTER_WS_URL": sims.cluster.bybit.ws_url if sims.cluster.bybit else "",
        "LISTENER_HEARTBEAT_FILE": str(heartbeat),
    }
    services = AwsServices.from_environment(env)
    stop = asyncio.Event()
    tuning = ListenerTuning(
        stream=DEMO_TUNING.stream, rest=DEMO_TUNING.master_rest, feed_poll_interval_s=0.1, pending_timeout_s=1.0
    )
    listener = asyncio.create_task(run_listener(services, stop, tuning))
    try:
        await _until(lambda: heartbeat.exists(), "the heartbeat file")
        await asyncio.sleep(0.5)  # the stream subscribes
        trader = HTTP(api_key=keys["api_key"], api_secret=keys["api_secret"], max_retries=1)
        trader.endpoint = bybit
        answer = await asyncio.to_thread(
            trader.place_order, category="linear", symbol=SYMBOL, side="Buy", orderType="Market", qty="0.01"
        )
        assert answer["retCode"] == 0

        messages: list[dict[str, Any]] = []

        async def received() -> bool:
            messages.extend(await asyncio.to_thread(world.drain, world.master_queue))
            return bool(messages)

        await _until(received, "the master's change on queue 1")
    finally:
        stop.set()
        await asyncio.wait_for(listener, 10)
        await asyncio.to_thread(services.close)

    [message] = messages
    change = decode_master_change(message["Body"]).change
    assert (change.master, change.symbol, change.new_size) == (MASTER, SYMBOL, Decimal("0.01"))
    assert message["Attributes"]["MessageDeduplicationId"] == f"main:BTCUSDT:0:{change.seq}"
    stored = services.store.get_master_snapshot(MASTER, SYMBOL, PositionIdx.ONE_WAY)
    assert stored is not None and stored.seq == change.seq
    assert json.loads(message["Body"])["lifecycle"]["open_equity"] == "10000"


async def _until(check: Callable[[], object], what: str, within_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        done = check()
        if asyncio.iscoroutine(done):
            done = await done
        if done:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not appear within {within_s} s")
        await asyncio.sleep(0.05)
