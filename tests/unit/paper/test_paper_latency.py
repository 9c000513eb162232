"""Latency and faults of the paper venue: the simulators' seeded distribution, slept without blocking the loop,
after the call was processed; injected errors with the adapters' error kinds."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from runtime.adapters.paper import CallRecord, PaperVenue
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.values import Side, Venue
from runtime.ports.exchange import OrderRequest
from runtime.sim.faults import EndpointClass, ErrorRule, InjectedError, LatencySpec

D = Decimal
UNIFORM = LatencySpec(low_s=D(1), high_s=D(9), scale=D("0.001"))  # 1-9 ms


def venue_with_log(seed: int, latency: LatencySpec | None = UNIFORM) -> tuple[PaperVenue, list[CallRecord]]:
    paper = PaperVenue(Venue.BYBIT, seed=seed, latency=latency)
    calls: list[CallRecord] = []
    paper.on_call = calls.append
    return paper, calls


async def test_latency_is_seeded_uniform_and_slept() -> None:
    first, first_calls = venue_with_log(seed=3)
    second, second_calls = venue_with_log(seed=3)
    for paper in (first, second):
        client = paper.open_account("a", D(1000))
        for _ in range(10):
            await client.equity()
    delays = [call.injected_s for call in first_calls]
    assert delays == [call.injected_s for call in second_calls]  # the same seed, the same draws
    assert len(set(delays)) == 10 and all(0.001 <= delay <= 0.009 for delay in delays)
    assert all(call.elapsed_s >= call.injected_s for call in first_calls)


async def test_calls_wait_concurrently_without_blocking_the_loop() -> None:
    paper = PaperVenue(Venue.BINANCE, latency=LatencySpec(fixed_s=D("0.05")))
    clients = [paper.open_account(f"f{i}", D(1000)) for i in range(40)]
    started = time.monotonic()
    await asyncio.gather(*(client.equity() for client in clients))
    assert time.monotonic() - started < 0.5  # 40 sequential calls would take 2 s


async def test_the_order_lands_before_the_slow_answer() -> None:
    paper = PaperVenue(Venue.BYBIT, latency=LatencySpec(fixed_s=D(5)))
    client = paper.open_account("a", D(10000))
    order = OrderRequest("BTCUSDT", Side.BUY, D("0.01"), "slow")
    task = asyncio.create_task(client.place_market_order(order))
    await asyncio.sleep(0.01)
    assert paper.engine.find_order("a", client_id="slow").filled_qty == D("0.01")  # placed; the answer is pending
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_refusals_also_take_their_latency() -> None:
    paper, calls = venue_with_log(seed=1, latency=LatencySpec(fixed_s=D("0.02")))
    client = paper.open_account("a", D(10))
    with pytest.raises(ExchangeError):
        await client.place_market_order(OrderRequest("BTCUSDT", Side.BUY, D(1), "big"))
    [call] = calls
    assert (call.method, call.endpoint_class, call.error_kind) == ("place_market_order", "order", "insufficient_margin")
    assert call.elapsed_s >= 0.02


@pytest.mark.parametrize(
    ("injected", "kind", "placed"),
    [
        (InjectedError.SERVER_ERROR, ErrorKind.TEMPORARY, False),
        (InjectedError.RATE_LIMIT, ErrorKind.RATE_LIMITED, False),
        (InjectedError.TIMEOUT, ErrorKind.AMBIGUOUS, True),  # processed, then the answer is lost
    ],
)
async def test_injected_errors(injected: InjectedError, kind: ErrorKind, placed: bool) -> None:
    paper = PaperVenue(Venue.HYPERLIQUID)
    paper.faults.timeout_hold_s = 0.01
    paper.faults.add_error(EndpointClass.ORDER, ErrorRule(injected, count=1))
    client = paper.open_account("a", D(10000))
    with pytest.raises(ExchangeError) as caught:
        await client.place_market_order(OrderRequest("BTC", Side.BUY, D("0.01"), "0xfault"))
    assert caught.value.kind is kind
    assert (await client.get_order("BTC", "0xfault") is not None) is placed
    await client.place_market_order(OrderRequest("BTC", Side.BUY, D("0.01"), "0xnext"))  # the rule is used up
