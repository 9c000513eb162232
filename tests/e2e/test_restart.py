"""Restarting the engine resumes from the store: what the master did while the engine was down (a partial close,
a new symbol, a leg closed entirely) is brought to every follower by the start-up SYNC round, with the k each
follower had before the restart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.bootstrap import build_engine
from runtime.demo.checks import Checker, CheckResult, OutcomeRecorder
from runtime.demo.scenario import parse_scenario
from runtime.demo.world import DEMO_TUNING, DemoWorld, start_world
from runtime.domain.values import PositionIdx, Side

pytestmark = pytest.mark.timeout(90)
D = Decimal

SCENARIO = parse_scenario(
    {
        "marks": {"SOLUSDT": "150", "ETHUSDT": "3000"},
        "master": {"balance": "50000"},
        "followers": [
            {"id": "by", "venue": "bybit", "balance": "5000", "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
            {"id": "bn", "venue": "binance", "balance": "5000", "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
            {"id": "hl", "venue": "hyperliquid", "balance": "5000",
             "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
        ],
        "steps": [{"do": "check"}],
    }
)  # fmt: skip


async def restart(world: DemoWorld, recorder: OutcomeRecorder) -> None:
    await world.engine.stop()
    world.engine = build_engine(world.config, tuning=DEMO_TUNING, observers=[recorder])
    await world.engine.start()


def sizes(check: CheckResult, symbol: str) -> dict[str, Decimal]:
    assert check.passed, check
    return {r.follower_id: r.follower_size for r in check.records if r.symbol == symbol}


async def trade(world: DemoWorld, symbol: str, side: Side, qty: str, reduce_only: bool = False) -> None:
    await world.master.market(symbol, side, D(qty), reduce_only=reduce_only, position_idx=PositionIdx.ONE_WAY)


async def test_changes_made_while_the_engine_was_down_are_synced_at_start() -> None:
    recorder = OutcomeRecorder()
    world = await start_world(SCENARIO, observers=[recorder])
    try:
        checker = Checker(world, recorder)
        await trade(world, "SOLUSDT", Side.BUY, "40")
        first = await checker.check(0, "before the restart", 10)
        assert sizes(first, "SOLUSDT") == {"by": D("4"), "bn": D("4"), "hl": D("4")}  # k = 5000 / 50000
        k_before = {r.follower_id: r.k for r in first.records}

        await world.engine.stop()
        await trade(world, "SOLUSDT", Side.SELL, "10", reduce_only=True)
        await trade(world, "ETHUSDT", Side.BUY, "2")
        world.engine = build_engine(world.config, tuning=DEMO_TUNING, observers=[recorder])
        await world.engine.start()
        second = await checker.check(0, "after the restart", 10)
        assert sizes(second, "SOLUSDT") == {"by": D("3"), "bn": D("3"), "hl": D("3")}
        assert sizes(second, "ETHUSDT") == {"by": D("0.2"), "bn": D("0.2"), "hl": D("0.2")}
        assert {r.follower_id: r.k for r in second.records if r.symbol == "SOLUSDT"} == k_before
        assert all(len(r.orders) == 1 for r in second.records)  # one sync order per follower and symbol

        await world.engine.stop()
        await trade(world, "SOLUSDT", Side.SELL, "30", reduce_only=True)  # the leg closes while nobody watches
        await restart(world, recorder)
        third = await checker.check(0, "leg closed while down", 10)
        assert sizes(third, "SOLUSDT") == {"by": D("0"), "bn": D("0"), "hl": D("0")}
        assert sizes(third, "ETHUSDT") == {"by": D("0.2"), "bn": D("0.2"), "hl": D("0.2")}

        await restart(world, recorder)  # nothing changed: a restart places nothing
        fourth = await checker.check(0, "idle restart", 10)
        assert fourth.passed and all(r.orders == () for r in fourth.records)
    finally:
        await world.stop()
