"""The executor end to end on a fake venue, one sizing mode at a time, with numbers checked by hand.

Master: BTCUSDT at 50000; the master's open IM and equity are given per open. Follower venue: step 0.001,
min notional $5, leverage 10 (the master's, synced).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runtime.domain.values import Side
from runtime.services.jobs import OrderStatus, SkipReason
from tests.unit.services.fake_exchange import FakeExchange
from tests.unit.services.kit import follower_config, new_kit

D = Decimal


def orders(exchange: FakeExchange) -> list[tuple[Side, Decimal, bool]]:
    return [(o.request.side, o.request.qty, o.request.reduce_only) for o in exchange.placed]


async def test_margin_ratio_k_is_fixed_for_the_lifecycle_and_the_close_leaves_nothing(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="margin_ratio", value="0.05"), FakeExchange(balance=D("10000")))

    # k = 10000 x 0.05 / 1200 = 0.41666..; target 0.1 x k = 0.041666.. -> growth rounds toward zero: 0.041
    kit.master.move("0.1", im="1200")
    first = await kit.run("f")
    assert first.k == D(500) / D(1200)
    assert first.rounded_target == D("0.041")
    assert orders(venue) == [(Side.BUY, D("0.041"), False)]

    # The follower's equity doubles: k stays. 0.25 x k = 0.1041666.. -> 0.104 held, order 0.063
    venue.balance = D("20000")
    kit.master.move("0.25")
    second = await kit.run("f")
    assert second.k == first.k
    assert orders(venue)[-1] == (Side.BUY, D("0.063"), False)
    assert venue.size() == D("0.104")

    # Partial close to 0.15: ideal 0.0625, reduction 0.104 - 0.0625 = 0.0415 rounds AWAY from zero: 0.042
    kit.master.move("0.15")
    third = await kit.run("f")
    assert third.k == first.k
    assert orders(venue)[-1] == (Side.SELL, D("0.042"), True)
    assert venue.size() == D("0.062")

    # Full close: the whole position, reduce-only: exactly flat.
    kit.master.move("0")
    await kit.run("f")
    assert orders(venue)[-1] == (Side.SELL, D("0.062"), True)
    assert venue.size() == 0


async def test_equity_ratio_on_a_short(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="equity_ratio", value="2"), FakeExchange(balance=D("10000")))

    # k = 2 x 10000 / 100000 = 0.2: -0.35 -> -0.07
    kit.master.move("-0.35")
    outcome = await kit.run("f")
    assert outcome.k == D("0.2")
    assert orders(venue) == [(Side.SELL, D("0.07"), False)]

    # -0.2 -> -0.04: buy back 0.03 reduce-only
    kit.master.move("-0.2")
    await kit.run("f")
    assert orders(venue)[-1] == (Side.BUY, D("0.03"), True)
    assert venue.size() == D("-0.04")


async def test_fixed_margin_and_a_flip_gets_a_fresh_k(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="fixed_margin", value="300"), FakeExchange(balance=D("10000")))

    # k = 300 / 1000 = 0.3: 0.1 -> 0.03, then 0.17 -> 0.051
    kit.master.move("0.1", im="1000")
    assert (await kit.run("f")).k == D("0.3")
    kit.master.move("0.17")
    await kit.run("f")
    assert venue.size() == D("0.051")

    # Flip to -0.2 with a new open IM of 2000: fresh k = 300 / 2000 = 0.15 -> -0.03.
    # The close (whole position, reduce-only) goes first, then the new side opens.
    kit.master.move("-0.2", im="2000")
    flip = await kit.run("f")
    assert flip.k == D("0.15")
    assert orders(venue)[-2:] == [(Side.SELL, D("0.051"), True), (Side.SELL, D("0.03"), False)]
    assert venue.size() == D("-0.03")
    assert [o.status for o in flip.orders] == [OrderStatus.PLACED, OrderStatus.PLACED]


async def test_margin_ratio_flip_uses_the_equity_at_the_flip(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="margin_ratio", value="0.05"), FakeExchange(balance=D("10000")))
    kit.master.move("0.1", im="1000")  # k = 500 / 1000 = 0.5
    await kit.run("f")
    venue.balance = D("20000")
    kit.master.move("0.2")  # k kept: 0.1, not 0.2
    await kit.run("f")
    assert venue.size() == D("0.1")

    kit.master.move("-0.1", im="500")  # fresh k = 20000 x 0.05 / 500 = 2 -> -0.2
    flip = await kit.run("f")
    assert flip.k == D("2")
    assert orders(venue)[-2:] == [(Side.SELL, D("0.1"), True), (Side.SELL, D("0.2"), False)]
    assert venue.size() == D("-0.2")


async def test_a_job_for_an_old_seq_targets_the_latest_snapshot_and_quick_changes_coalesce(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="fixed_margin", value="500"), FakeExchange(balance=D("10000")))
    first_seq = kit.master.move("0.1", im="1000")  # k = 0.5
    second_seq = kit.master.move("0.3")  # before the first job ran

    first = await kit.run("f", first_seq)
    assert first.trigger_seq == first_seq and first.snapshot_seq == second_seq
    assert orders(venue) == [(Side.BUY, D("0.15"), False)]  # straight to 0.3 x 0.5

    second = await kit.run("f", second_seq)
    assert second.skip_reason is SkipReason.ON_TARGET
    assert second.orders == ()
    assert len(venue.placed) == 1


async def test_a_master_and_follower_both_flat_is_a_recorded_skip(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f"), FakeExchange())
    kit.master.move("0.1", im="1000")
    kit.master.move("0")
    outcome = await kit.run("f")
    assert outcome.skip_reason is SkipReason.FLAT
    assert venue.placed == []
    assert venue.count("set_leverage") == 0  # nothing to open: leverage left alone
    logged = kit.log("f")
    assert [(e.outcome.value, e.reason_code) for e in logged] == [("skipped", "flat")]
