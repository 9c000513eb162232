"""Hedge-mode masters and followers: legs mirrored on a hedge follower, netted on a one-way follower (Hyperliquid
always), and a one-way master's position carried on a hedge follower's long and short legs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.services.jobs import SkipReason
from tests.unit.services.fake_exchange import BTC_RULES, FakeExchange, rules_for
from tests.unit.services.kit import Kit, follower_config, new_kit

D = Decimal
LONG, SHORT, ONE_WAY = PositionIdx.HEDGE_LONG, PositionIdx.HEDGE_SHORT, PositionIdx.ONE_WAY


def sent(exchange: FakeExchange) -> list[tuple[Side, Decimal, bool, PositionIdx]]:
    return [(o.request.side, o.request.qty, o.request.reduce_only, o.request.position_idx) for o in exchange.placed]


def hedge_kit(tmp_path: Path) -> tuple[Kit, FakeExchange, FakeExchange, FakeExchange]:
    kit = new_kit(tmp_path)
    hedge = kit.add(follower_config("hedge", position_mode=PositionMode.HEDGE), FakeExchange(mode=PositionMode.HEDGE))
    one_way = kit.add(follower_config("oneway"), FakeExchange())
    hl = kit.add(
        follower_config("hl", venue=Venue.HYPERLIQUID),
        FakeExchange(rules={"BTC": rules_for(Venue.HYPERLIQUID, "BTC", qty_step=D("0.00001"), min_qty=D("0.00001"))},
                     marks={"BTC": D("50000")}),
    )  # fmt: skip
    return kit, hedge, one_way, hl


async def test_hedge_master_legs_mirrored_on_hedge_and_netted_on_one_way(tmp_path: Path) -> None:
    kit, hedge, one_way, hl = hedge_kit(tmp_path)
    # Each follower: 10000 x 0.05 = 500 margin. Long leg IM 1000 -> k 0.5; short leg IM 1000 -> k 0.5.
    long_seq = kit.master.move("0.2", im="1000", idx=LONG)
    for follower in ("hedge", "oneway", "hl"):
        await kit.run(follower, long_seq, idx=LONG)
    short_seq = kit.master.move("-0.1", im="1000", idx=SHORT)
    for follower in ("hedge", "oneway", "hl"):
        await kit.run(follower, short_seq, idx=SHORT)

    assert sent(hedge) == [(Side.BUY, D("0.1"), False, LONG), (Side.SELL, D("0.05"), False, SHORT)]
    assert (hedge.size(idx=LONG), hedge.size(idx=SHORT)) == (D("0.1"), D("-0.05"))
    # Net: 0.2 x 0.5 - 0.1 x 0.5 = 0.05: the short leg's job sells 0.05 off the long, reduce-only.
    assert sent(one_way) == [(Side.BUY, D("0.1"), False, ONE_WAY), (Side.SELL, D("0.05"), True, ONE_WAY)]
    assert one_way.size() == D("0.05")
    assert hl.size("BTC") == D("0.05")

    # The long leg closes: the net goes short (-0.05), a flip for the one-way followers.
    closed_seq = kit.master.move("0", idx=LONG)
    outcomes = {f: await kit.run(f, closed_seq, idx=LONG) for f in ("hedge", "oneway", "hl")}
    assert hedge.size(idx=LONG) == 0 and hedge.size(idx=SHORT) == D("-0.05")
    assert sent(one_way)[-2:] == [(Side.SELL, D("0.05"), True, ONE_WAY), (Side.SELL, D("0.05"), False, ONE_WAY)]
    assert one_way.size() == D("-0.05") and hl.size("BTC") == D("-0.05")
    assert outcomes["oneway"].k == D("0.5")  # the open leg's k (the job's own leg is flat now)

    # A late job for the long leg's first seq changes nothing: every follower targets the latest snapshots.
    for follower in ("hedge", "oneway", "hl"):
        late = await kit.run(follower, long_seq, idx=LONG)
        assert late.skip_reason in (SkipReason.ON_TARGET, SkipReason.FLAT)
    assert len(one_way.placed) == 4


async def test_a_one_way_master_on_a_hedge_follower_uses_the_long_then_the_short_leg(tmp_path: Path) -> None:
    kit, hedge, _, _ = hedge_kit(tmp_path)
    kit.master.move("0.1", im="1000")  # k 0.5 -> long leg 0.05
    await kit.run("hedge")
    kit.master.move("-0.2", im="1000")  # flip: fresh k 0.5 -> short leg -0.1, after closing the long leg
    flip = await kit.run("hedge")
    assert sent(hedge) == [
        (Side.BUY, D("0.05"), False, LONG),
        (Side.SELL, D("0.05"), True, LONG),
        (Side.SELL, D("0.1"), False, SHORT),
    ]
    assert flip.size_before == D("0.05") and flip.rounded_target == D("-0.1")
    kit.master.move("0")
    await kit.run("hedge")
    assert (hedge.size(idx=LONG), hedge.size(idx=SHORT)) == (D(0), D(0))
    assert BTC_RULES.qty_step == D("0.001")
