"""The audit's heal and the risk controls wired to the real executor, on the simulators: a HEAL job (as the local
host enqueues it) brings a follower back and the next pass resolves; the kill switch and the limits refuse growth
with a recorded reason and let the close through."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.domain.audit import AlertAction, DiscrepancyKind
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.services.executor import FollowerExecutor
from runtime.services.follower_context import FollowerContext
from runtime.services.jobs import FollowerJob, JobReason
from runtime.services.kill_switch import KillSwitch
from runtime.services.risk_gate import RiskGate
from tests.integration.audit.conftest import MASTER, MINUTE, Desk

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize("venue", [Venue.BYBIT, Venue.BINANCE, Venue.HYPERLIQUID])
async def test_heal_brings_a_follower_back_through_the_executor(desk: Desk, venue: Venue) -> None:
    follower = await desk.follower(venue)
    desk.ratio(follower, desk.master("1"), "0.1")
    await follower.trade(Side.BUY, "0.03")  # 0.03 of 0.1: 70% short
    executor = FollowerExecutor(
        desk.store,
        [FollowerContext(follower.config, follower.client)],
        master_id=MASTER,
        symbol_map=SymbolMap(),
        gate=RiskGate(desk.store, {follower.id: follower.config}),
    )

    async def heal(follower_id: str, symbol: str, idx: PositionIdx, sync_round: str) -> None:
        job = FollowerJob(follower_id, symbol, idx, trigger_seq=0, reason=JobReason.HEAL, sync_round=sync_round)
        await executor.execute(job)

    service = desk.service(heal=True)
    service.heal = heal

    (found,) = (await service.run_once()).findings
    assert found.kind is DiscrepancyKind.SIZE_MISMATCH and found.heal_requested
    assert await follower.size() == Decimal("0.1")

    desk.clock.advance(MINUTE)
    (resolved,) = (await service.run_once()).findings
    assert resolved.status is AlertAction.RESOLVE
    assert [a.kind for a in desk.alerts] == ["SizeMismatch", "SizeMismatchResolved"]


async def test_kill_switch_stops_new_copies_at_once_and_lets_the_close_through(desk: Desk) -> None:
    follower = await desk.follower(Venue.BYBIT, symbols_deny=["ETHUSDT"], max_notional_per_symbol="9000")
    executor = FollowerExecutor(
        desk.store,
        [FollowerContext(follower.config, follower.client)],
        master_id=MASTER,
        symbol_map=SymbolMap(),
        gate=RiskGate(desk.store, {follower.id: follower.config}),
    )

    async def change(symbol: str = "BTCUSDT") -> list[tuple[str, str]]:
        job = FollowerJob(follower.id, symbol, PositionIdx.ONE_WAY, trigger_seq=desk.seq)
        outcome = await executor.execute(job)
        return [(record.status.value, record.reason_code) for record in outcome.orders]

    desk.ratio(follower, desk.master("1"), "0.1")
    assert await change() == [("placed", "")]
    assert await follower.size() == Decimal("0.1")

    desk.master("2")  # would take the follower to 0.2 BTC = $12,000, above its $9,000 cap
    assert await change() == [("refused", "max_notional_exceeded")]

    KillSwitch(desk.store).pause(follower.id)  # as `copytrader follower pause` does, from anywhere
    desk.master("1.4")  # target 0.14 (still within the cap): growth, refused while paused
    assert await change() == [("refused", "copying_paused")]
    desk.master("0")  # the master closes: the close goes through although paused
    assert await change() == [("placed", "")]
    assert await follower.size() == 0

    desk.ratio(follower, desk.master("3", symbol="ETHUSDT"), "0.1")  # a denied symbol is never opened
    KillSwitch(desk.store).resume(follower.id)
    assert await change("ETHUSDT") == [("refused", "symbol_not_allowed")]
    log = desk.store.list_order_log(follower.id)
    assert {entry.reason_code for entry in log} >= {"max_notional_exceeded", "copying_paused", "symbol_not_allowed"}
