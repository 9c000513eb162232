"""The kill switch against the simulators: close-all flattens a follower (one-way and hedge, several symbols),
pauses it first, records every order in the claims and the order log, and never places twice within a round."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.domain.client_ids import is_valid_hyperliquid_cloid
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.ports.store import ClaimStatus, OrderOutcome
from runtime.services.kill_switch import KillSwitch
from tests.integration.audit.conftest import Desk

pytestmark = pytest.mark.asyncio(loop_scope="module")

D = Decimal


async def test_close_all_flattens_a_one_way_follower_and_pauses_it(desk: Desk) -> None:
    follower = await desk.follower(Venue.BYBIT)
    await follower.trade(Side.BUY, "0.1")
    await follower.trade(Side.SELL, "2", "ETHUSDT")
    switch = KillSwitch(desk.store, clock_ms=desk.clock)

    report = await switch.close_all(follower.id, follower.client, round_id="r1")

    assert report.ok and report.flat and report.paused
    assert desk.store.is_follower_paused(follower.id)
    assert await follower.client.positions() == []
    by_symbol = {order.symbol: order for order in report.orders}
    assert set(by_symbol) == {"BTCUSDT", "ETHUSDT"}
    assert (by_symbol["BTCUSDT"].side, by_symbol["BTCUSDT"].qty) == (Side.SELL, D("0.1"))
    assert (by_symbol["ETHUSDT"].side, by_symbol["ETHUSDT"].qty) == (Side.BUY, D(2))
    log = desk.store.list_order_log(follower.id)
    assert {entry.client_order_id for entry in log} == {order.client_order_id for order in report.orders}
    assert all(entry.outcome is OrderOutcome.PLACED and entry.reduce_only for entry in log)
    for order in report.orders:
        claim = desk.store.get_claim(order.client_order_id)
        assert claim is not None and claim.status is ClaimStatus.PLACED
        assert claim.lifecycle_id == "kill-switch:r1"


async def test_close_all_flattens_both_legs_of_a_hedge_follower(desk: Desk) -> None:
    follower = await desk.follower(Venue.BINANCE, mode=PositionMode.HEDGE)
    await follower.trade(Side.BUY, "0.2", idx=PositionIdx.HEDGE_LONG)
    await follower.trade(Side.SELL, "0.1", idx=PositionIdx.HEDGE_SHORT)

    report = await KillSwitch(desk.store, clock_ms=desk.clock).close_all(follower.id, follower.client)

    assert report.ok
    assert sorted((o.position_idx, o.side) for o in report.orders) == [(1, Side.SELL), (2, Side.BUY)]
    assert await follower.client.positions() == []


async def test_close_all_on_hyperliquid_uses_cloids(desk: Desk) -> None:
    follower = await desk.follower(Venue.HYPERLIQUID)
    await follower.trade(Side.SELL, "0.05")
    report = await KillSwitch(desk.store, clock_ms=desk.clock).close_all(follower.id, follower.client)
    assert report.ok and await follower.size() == 0
    assert all(is_valid_hyperliquid_cloid(order.client_order_id) for order in report.orders)


async def test_the_same_round_never_places_twice(desk: Desk) -> None:
    follower = await desk.follower(Venue.BYBIT)
    await follower.trade(Side.BUY, "0.1")
    switch = KillSwitch(desk.store, clock_ms=desk.clock)
    first = await switch.close_all(follower.id, follower.client, round_id="same")
    await follower.trade(Side.BUY, "0.1")  # reopened by hand after the close

    again = await switch.close_all(follower.id, follower.client, round_id="same")

    # Same leg, same round, same client id: already done, so nothing new is sent; the leg stays open.
    assert [o.client_order_id for o in again.orders] == [o.client_order_id for o in first.orders]
    assert again.orders[0].outcome is None and not again.flat
    fresh = await switch.close_all(follower.id, follower.client, round_id="next")
    assert fresh.ok and fresh.flat


async def test_close_all_with_nothing_open_only_pauses(desk: Desk) -> None:
    follower = await desk.follower(Venue.BINANCE)
    report = await KillSwitch(desk.store, clock_ms=desk.clock).close_all(follower.id, follower.client)
    assert report.orders == () and report.ok and report.paused


async def test_pause_and_resume(desk: Desk) -> None:
    switch = KillSwitch(desk.store)
    switch.pause("alice")
    assert switch.is_paused("alice") and desk.store.list_paused_followers() == ["alice"]
    switch.resume("alice")
    assert not switch.is_paused("alice")
