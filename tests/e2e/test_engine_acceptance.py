"""Issue 5 acceptance, the sizing cases, on the whole engine: ``build_engine`` + the three simulators over real
sockets, the master trading through pybit against the Bybit simulator.

- a follower below the venue's minimum order value: refused with the reason recorded, and no residue later (a
  follower that was never filled stays flat; one whose position shrank below the minimum is closed exactly);
- a leverage change the venue refuses (lowering it would need more margin than the follower has): growth orders are
  held back with ``leverage_sync_failed`` recorded, reductions and the close still go through;
- insufficient margin: the venue refuses the copy, smart reduction places the largest order the follower can carry
  and the shortfall is recorded;
- a hedge-mode master mirrored leg by leg on a Binance hedge-mode follower and netted on a Bybit one-way follower
  (examples/scenarios/hedge_master.json, run by test_demo.py, has the Bybit mirror and the Binance/Hyperliquid nets).

Every venue count comes from the simulators' admin API. (Every scenario step type and a follower on each venue in
one run are covered by test_demo.py: the built-in scenario and examples/scenarios/quick.json.)
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.demo.checks import CheckRecord, CheckResult
from runtime.ports.store import OrderOutcome
from runtime.services.jobs import JobOutcome, OrderStatus, SkipReason
from runtime.sim.cluster import SimulatorCluster
from tests.e2e.engine_kit import EngineWorld, engine_world, follower, scenario_of

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

D = Decimal
VENUES = ("bybit", "binance", "hyperliquid")


def record(check: CheckResult, follower_id: str, symbol: str, leg: str = "0") -> CheckRecord:
    found = [r for r in check.records if r.follower_id == follower_id and r.symbol == symbol and r.leg == leg]
    assert len(found) == 1, f"{check.name}: no single record for {follower_id} {symbol}:{leg}: {check.records}"
    return found[0]


def venue_trades(orders: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """(side, qty, reduce-only, position index) of every order the venue holds (all of them filled: a market copy
    either fills or is refused, and a refused one is not kept)."""
    assert all(o["status"] == "Filled" for o in orders), orders
    return [(o["side"], D(str(o["qty"])), o["reduce_only"], o["position_idx"]) for o in orders]


def outcomes_of(world: EngineWorld, follower_id: str) -> list[JobOutcome]:
    return [o for o in world.recorder.outcomes if o.follower_id == follower_id]


# ----- min notional ----------------------------------------------------------------------------------------------


async def test_a_follower_below_the_minimum_order_value_is_refused_with_its_reason_and_left_without_residue(
    sim_cluster: SimulatorCluster,
) -> None:
    # Master 0.5 BTC at 60000 and 10x: open IM 3000.
    #   tiny-bn (Binance, fixed 9 USDT):      k 0.003  -> 0.0015 -> 0.001 BTC = $60 < Binance's $100
    #   tiny-hl (Hyperliquid, fixed 1 USDT):  k 1/3000 -> 0.000166 -> 0.00016 BTC = $9.60 < Hyperliquid's $10
    #   shrinks (Binance, fixed 300 USDT):    k 0.1    -> 0.05 BTC; at master 0.01 it holds 0.001 BTC ($60), which
    #                                          only a reduce-only order (exempt from the minimum) can close
    scenario = scenario_of(
        [
            follower("tiny-bn", "binance", "300", {"mode": "fixed_margin", "margin_usdt": "9"}),
            follower("tiny-hl", "hyperliquid", "300", {"mode": "fixed_margin", "margin_usdt": "1"}),
            follower("shrinks", "binance", "5000", {"mode": "fixed_margin", "margin_usdt": "300"}),
        ],
        marks={"BTCUSDT": "60000"},
    )
    async with engine_world(sim_cluster, scenario) as world:
        await world.leverage("BTCUSDT", "10")
        await world.trade("BTCUSDT", "Buy", "0.5")
        opened = await world.check("open")
        assert opened.passed, opened
        for follower_id, qty, minimum in (("tiny-bn", "0.001", "100"), ("tiny-hl", "0.00016", "10")):
            held = record(opened, follower_id, "BTCUSDT")
            assert held.follower_size == 0 and held.orders == ()
            assert [r.reason for r in held.refusals] == ["below_min_notional"]
            (refused,) = world.logged(follower_id, OrderOutcome.REFUSED)
            assert (refused.reason_code, refused.qty, refused.side.value) == ("below_min_notional", D(qty), "Buy")
            assert minimum in refused.message, refused.message  # the venue's minimum is named
        assert record(opened, "shrinks", "BTCUSDT").follower_size == D("0.05")

        await world.trade("BTCUSDT", "Sell", "0.49", reduce_only=True)  # master 0.01
        shrunk = await world.check("shrunk below the minimum")
        assert shrunk.passed, shrunk
        assert record(shrunk, "shrinks", "BTCUSDT").follower_size == D("0.001")  # $60: below the minimum, held
        assert [o.reduce_only for o in record(shrunk, "shrinks", "BTCUSDT").orders] == [True]
        for follower_id in ("tiny-bn", "tiny-hl"):  # their copy is now below one step: nothing to do
            assert record(shrunk, follower_id, "BTCUSDT").orders == ()
            assert outcomes_of(world, follower_id)[-1].skip_reason is SkipReason.ON_TARGET

        await world.trade("BTCUSDT", "Sell", "0.01", reduce_only=True)  # master flat
        closed = await world.check("closed")
        assert closed.passed, closed
        assert all(r.master_size == 0 and r.follower_size == 0 for r in closed.records)
        for follower_id in ("tiny-bn", "tiny-hl"):
            assert await world.venue_orders(follower_id) == []
            assert await world.legs(follower_id) == {}
            assert outcomes_of(world, follower_id)[-1].skip_reason is SkipReason.FLAT
            assert world.logged(follower_id, OrderOutcome.PLACED) == []
        assert venue_trades(await world.venue_orders("shrinks")) == [
            ("Buy", D("0.05"), False, 0), ("Sell", D("0.049"), True, 0), ("Sell", D("0.001"), True, 0)
        ]  # fmt: skip
        assert await world.legs("shrinks") == {}


# ----- leverage sync refused ---------------------------------------------------------------------------------------


async def test_a_leverage_change_the_venue_refuses_blocks_growth_and_lets_reductions_and_the_close_through(
    sim_cluster: SimulatorCluster,
) -> None:
    # Master 100 SOL at 150 and 10x: open IM 1500. Each follower: 1000 USDT, fixed 800 -> k 8/15 -> 53.33 SOL
    # (53.3 on Bybit, 53 on Binance, 53.33 on Hyperliquid), about 800 of IM at 10x. At 5x that position would need
    # about 1600 of IM: every venue refuses the change (not enough margin), so the follower stays at 10x.
    scenario = scenario_of(
        [follower(f"lev-{venue}", venue, "1000", {"mode": "fixed_margin", "margin_usdt": "800"}) for venue in VENUES],
        marks={"SOLUSDT": "150"},
    )
    held = {"lev-bybit": D("53.3"), "lev-binance": D("53"), "lev-hyperliquid": D("53.33")}
    async with engine_world(sim_cluster, scenario) as world:
        await world.leverage("SOLUSDT", "10")
        await world.trade("SOLUSDT", "Buy", "100")
        opened = await world.check("open at 10x")
        assert {r.follower_id: r.follower_size for r in opened.records} == held
        assert {r.follower_leverage for r in opened.records} == {D(10)}

        await world.leverage("SOLUSDT", "5")  # a leverage-only change: the followers' sync is refused
        lowered = await world.check("leverage lowered")
        assert {r.follower_leverage for r in lowered.records} == {D(10)}  # the venues kept 10x
        await world.trade("SOLUSDT", "Buy", "20")  # master 120 SOL: the copies would grow to 64 SOL
        grown = await world.check("growth blocked")
        for r in grown.records:
            assert r.follower_size == held[r.follower_id] and r.orders == (), r  # nothing was sent
            assert [refusal.reason for refusal in r.refusals] == ["leverage_sync_failed"] and r.passed
        for follower_id in held:
            (blocked,) = world.logged(follower_id, OrderOutcome.REFUSED)
            assert blocked.reason_code == "leverage_sync_failed" and blocked.side.value == "Buy"
            assert "5x" in blocked.message and "closes still go through" in blocked.message, blocked.message
            assert outcomes_of(world, follower_id)[-1].leverage_blocked

        await world.trade("SOLUSDT", "Sell", "60", reduce_only=True)  # master 60 SOL: the copies shrink to 32
        trimmed = await world.check("reduction goes through")
        assert trimmed.passed, trimmed
        for r in trimmed.records:
            assert r.follower_size == D(32) and [(o.reduce_only, o.status) for o in r.orders] == [(True, "placed")]
            assert outcomes_of(world, r.follower_id)[-1].leverage_blocked  # still refused at 53 SOL: closes pass

        await world.trade("SOLUSDT", "Sell", "60", reduce_only=True)
        closed = await world.check("closed")
        assert closed.passed and all(r.follower_size == 0 for r in closed.records), closed
        for follower_id, size in held.items():
            assert venue_trades(await world.venue_orders(follower_id)) == [
                ("Buy", size, False, 0), ("Sell", size - 32, True, 0), ("Sell", D(32), True, 0)
            ]  # fmt: skip


# ----- insufficient margin ------------------------------------------------------------------------------------------


async def test_insufficient_margin_places_the_smart_reduced_order_and_records_the_shortfall(
    sim_cluster: SimulatorCluster,
) -> None:
    # Master 100 SOL at 150 and 10x: open IM 1500. Each follower: 1000 USDT, fixed 2000 -> k 4/3 -> 133.33 SOL,
    # about 2000 of IM at 10x: the venue refuses it. Smart reduction: 1000 x 10 x 0.98 / 150 = 65.33 SOL.
    scenario = scenario_of(
        [follower(f"im-{venue}", venue, "1000", {"mode": "fixed_margin", "margin_usdt": "2000"}) for venue in VENUES],
        marks={"SOLUSDT": "150"},
    )
    wanted = {"im-bybit": D("133.3"), "im-binance": D("133"), "im-hyperliquid": D("133.33")}
    reduced = {"im-bybit": D("65.3"), "im-binance": D("65"), "im-hyperliquid": D("65.33")}
    async with engine_world(sim_cluster, scenario) as world:
        await world.leverage("SOLUSDT", "10")
        await world.trade("SOLUSDT", "Buy", "100")
        opened = await world.check("open beyond the followers' margin")
        for follower_id in wanted:
            (outcome,) = outcomes_of(world, follower_id)
            refused, placed = outcome.orders
            assert (refused.status, refused.qty, refused.error_kind) == (
                OrderStatus.REFUSED, wanted[follower_id], "insufficient_margin"
            )  # fmt: skip
            assert (placed.status, placed.qty) == (OrderStatus.PLACED, reduced[follower_id])
            assert placed.requested_qty == wanted[follower_id]
            assert placed.shortfall == wanted[follower_id] - reduced[follower_id]
            assert placed.client_order_id != refused.client_order_id  # the retry is a new attempt
            log = world.order_log(follower_id)
            assert [(e.outcome, e.qty, e.reason_code) for e in log] == [
                (OrderOutcome.REFUSED, wanted[follower_id], "insufficient_margin"),
                (OrderOutcome.PLACED, reduced[follower_id], "smart_reduced"),
            ]
            shortfall = wanted[follower_id] - reduced[follower_id]
            assert f"shortfall {shortfall.normalize():f}" in log[1].message
            assert record(opened, follower_id, "SOLUSDT").follower_size == reduced[follower_id]
            assert venue_trades(await world.venue_orders(follower_id)) == [("Buy", reduced[follower_id], False, 0)]

        await world.trade("SOLUSDT", "Sell", "100", reduce_only=True)
        closed = await world.check("closed")
        assert closed.passed and all(r.follower_size == 0 for r in closed.records), closed


# ----- hedge-mode master -------------------------------------------------------------------------------------------


async def test_a_hedge_master_is_mirrored_on_a_binance_hedge_follower_and_netted_on_a_bybit_one_way_one(
    sim_cluster: SimulatorCluster,
) -> None:
    # equity ratio 1: 10000 / 100000 -> k 0.1 on each leg.
    scenario = scenario_of(
        [
            follower("mirror-bn", "binance", "10000", {"mode": "equity_ratio", "multiplier": "1"},
                     position_mode="hedge"),
            follower("net-by", "bybit", "10000", {"mode": "equity_ratio", "multiplier": "1"}),
        ],
        marks={"ETHUSDT": "3000"},
        master_mode="hedge",
    )  # fmt: skip
    async with engine_world(sim_cluster, scenario) as world:
        await world.leverage("ETHUSDT", "10")
        await world.trade("ETHUSDT", "Buy", "4", idx=1)
        await world.check("long leg open")  # settled, so the net follower's orders below do not depend on timing
        await world.trade("ETHUSDT", "Sell", "1.5", idx=2)
        both = await world.check("both legs open")
        assert both.passed, both
        assert record(both, "mirror-bn", "ETHUSDT", "1").follower_size == D("0.4")
        assert record(both, "mirror-bn", "ETHUSDT", "2").follower_size == D("-0.15")
        assert await world.legs("mirror-bn") == {1: D("0.4"), 2: D("-0.15")}
        netted = record(both, "net-by", "ETHUSDT", "net")
        assert (netted.k, netted.ideal_target, netted.follower_size) == ((D("0.1"), D("0.1")), D("0.25"), D("0.25"))
        assert await world.legs("net-by") == {0: D("0.25")}

        await world.trade("ETHUSDT", "Sell", "4", idx=1, reduce_only=True)  # the long leg closes: the net flips short
        flipped = await world.check("the net flips short")
        assert flipped.passed, flipped
        assert await world.legs("mirror-bn") == {2: D("-0.15")}
        assert await world.legs("net-by") == {0: D("-0.15")}
        assert [o.reduce_only for o in record(flipped, "net-by", "ETHUSDT", "net").orders] == [True, False]

        await world.trade("ETHUSDT", "Buy", "1.5", idx=2, reduce_only=True)
        flat = await world.check("flat")
        assert flat.passed and all(r.follower_size == 0 for r in flat.records), flat
        assert venue_trades(await world.venue_orders("mirror-bn")) == [
            ("Buy", D("0.4"), False, 1), ("Sell", D("0.15"), False, 2),
            ("Sell", D("0.4"), True, 1), ("Buy", D("0.15"), True, 2),
        ]  # fmt: skip
        assert venue_trades(await world.venue_orders("net-by")) == [
            ("Buy", D("0.4"), False, 0), ("Sell", D("0.15"), True, 0),
            ("Sell", D("0.25"), True, 0), ("Sell", D("0.15"), False, 0), ("Buy", D("0.15"), True, 0),
        ]  # fmt: skip
