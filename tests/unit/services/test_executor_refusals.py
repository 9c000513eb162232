"""Orders the executor does not place as asked: minimums, a failed leverage sync, insufficient margin, pauses."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runtime.config.model import LeverageConfig
from runtime.domain.errors import ErrorKind
from runtime.domain.refusals import RefusalReason
from runtime.domain.values import Side, Venue
from runtime.ports.store import OrderOutcome
from runtime.services.jobs import JobReason, OrderStatus, SkipReason
from tests.unit.services.fake_exchange import BTC_RULES, FakeExchange, rules_for
from tests.unit.services.kit import follower_config, new_kit

D = Decimal


async def test_below_min_notional_is_refused_with_its_reason_and_leaves_no_residue(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    exchange = FakeExchange(
        balance=D("400"), rules={"BTCUSDT": rules_for(Venue.BINANCE, "BTCUSDT", min_notional=D(100))}
    )
    venue = kit.add(follower_config("small", venue=Venue.BINANCE), exchange)

    # k = 400 x 0.05 / 1000 = 0.02: master 0.05 -> 0.001 BTC = $50, below Binance's $100
    kit.master.move("0.05", im="1000")
    refused = await kit.run("small")
    assert [o.status for o in refused.orders] == [OrderStatus.REFUSED]
    assert refused.orders[0].reason_code == RefusalReason.BELOW_MIN_NOTIONAL.value
    assert "$100 minimum notional" in refused.orders[0].message
    assert venue.placed == []

    # 0.1 -> 0.002 = $100: placed. Partial close to 0.04 -> 0.0008: the reduction rounds away from zero and is
    # capped at the position: the whole 0.002 closes (reduce-only is exempt from the minimum notional).
    kit.master.move("0.1")
    await kit.run("small")
    kit.master.move("0.04")
    await kit.run("small")
    assert venue.size() == 0
    kit.master.move("0")
    closed = await kit.run("small")
    assert closed.skip_reason is SkipReason.FLAT
    assert [(o.request.side, o.request.qty) for o in venue.placed] == [(Side.BUY, D("0.002")), (Side.SELL, D("0.002"))]

    log = kit.log("small")
    assert log[0].outcome is OrderOutcome.REFUSED and log[0].reason_code == "below_min_notional"
    assert log[0].client_order_id  # the id the order would have had, for tracing
    assert [e.outcome for e in log[1:]] == [OrderOutcome.PLACED, OrderOutcome.PLACED, OrderOutcome.SKIPPED]


async def test_failed_leverage_sync_blocks_opens_and_lets_closes_through(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="fixed_margin", value="500"), FakeExchange())
    kit.master.move("0.1", im="1000")  # k = 0.5
    await kit.run("f")
    assert venue.size() == D("0.05") and venue.leverages["BTCUSDT"] == D("10")

    # The master moves to 20x; the venue refuses it.
    venue.leverage_error = venue.error(ErrorKind.INVALID_ORDER, "leverage not allowed in this margin mode")
    kit.master.move("0.1", leverage=D("20"))
    only = await kit.run("f", reason=JobReason.LEVERAGE_ONLY)
    assert only.skip_reason is SkipReason.LEVERAGE_ONLY and only.leverage_blocked

    kit.master.move("0.3", leverage=D("20"))  # an increase: blocked, with the reason
    blocked = await kit.run("f")
    assert blocked.leverage_blocked
    assert [(o.status, o.reason_code) for o in blocked.orders] == [
        (OrderStatus.REFUSED, RefusalReason.LEVERAGE_SYNC_FAILED.value)
    ]
    assert "leverage not allowed in this margin mode" in blocked.orders[0].message
    assert "closes still go through" in blocked.orders[0].message
    assert venue.size() == D("0.05")

    kit.master.move("0.04", leverage=D("20"))  # a partial close passes: 0.05 -> 0.02
    closing = await kit.run("f")
    assert [(o.status, o.side, o.qty, o.reduce_only) for o in closing.orders] == [
        (OrderStatus.PLACED, Side.SELL, D("0.03"), True)
    ]
    assert venue.size() == D("0.02")

    venue.leverage_error = None  # once the venue accepts, growth resumes
    kit.master.move("0.2", leverage=D("20"))
    resumed = await kit.run("f")
    assert not resumed.leverage_blocked and venue.leverages["BTCUSDT"] == D("20")
    assert venue.size() == D("0.1")


async def test_leverage_is_capped_and_set_only_when_it_changes(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    rules = {"BTCUSDT": rules_for(Venue.BYBIT, "BTCUSDT", max_leverage=D(50))}
    capped = kit.add(follower_config("capped", max_leverage="15"), FakeExchange(rules=dict(rules)))
    fixed = kit.add(follower_config("fixed", leverage=LeverageConfig(mode="fixed", value=D(3))), FakeExchange())
    kit.master.move("0.1", im="1000", leverage=D("75"))
    await kit.run("capped")
    await kit.run("fixed")
    assert capped.leverages["BTCUSDT"] == D("15")  # min(75, venue 50, follower 15)
    assert fixed.leverages["BTCUSDT"] == D("3")
    kit.master.move("0.2", leverage=D("75"))
    await kit.run("capped")
    assert capped.count("set_leverage") == 1  # unchanged: not set again


async def test_insufficient_margin_places_the_smart_reduced_order_and_records_the_shortfall(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f", mode="fixed_margin", value="2000"), FakeExchange(balance=D("1000")))

    # k = 2000 / 1000 = 2: 0.15 -> 0.3 BTC, IM 0.3 x 50000 / 10 = 1500 > 1000 available: the venue refuses.
    # Smart reduction: 1000 x 10 x 0.98 / 50000 = 0.196 BTC, placed under the next attempt's id.
    kit.master.move("0.15", im="1000")
    outcome = await kit.run("f")
    refused, placed = outcome.orders
    assert (refused.status, refused.qty, refused.error_kind, refused.attempt) == (
        OrderStatus.REFUSED, D("0.3"), "insufficient_margin", 0,
    )  # fmt: skip
    assert (placed.status, placed.qty, placed.requested_qty, placed.attempt) == (
        OrderStatus.PLACED, D("0.196"), D("0.3"), 1,
    )  # fmt: skip
    assert placed.shortfall == D("0.104")
    assert refused.client_order_id != placed.client_order_id
    assert venue.size() == D("0.196") and len(venue.placed) == 1
    assert [e.outcome for e in kit.log("f")] == [OrderOutcome.REFUSED, OrderOutcome.PLACED]
    placed_entry = next(e for e in kit.log("f") if e.outcome is OrderOutcome.PLACED)
    assert placed_entry.reason_code == "smart_reduced"
    assert "requested 0.3, placed 0.196, shortfall 0.104" in placed_entry.message

    again = await kit.run("f")  # the same seq again: the reduced order is done, nothing more is sent
    assert [o.status for o in again.orders] == [OrderStatus.SKIPPED]
    assert len(venue.placed) == 1


async def test_a_growth_order_above_the_venue_maximum_is_reduced_to_it(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    rules = {"BTCUSDT": rules_for(Venue.BYBIT, "BTCUSDT", max_qty=D("0.5"), max_market_qty=D("0.2"))}
    venue = kit.add(
        follower_config("f", mode="fixed_margin", value="1000"), FakeExchange(balance=D("100000"), rules=rules)
    )
    kit.master.move("0.8", im="1000")  # k = 1: 0.8 > max 0.5 -> 0.5, split into 0.2 + 0.2... as equal parts
    outcome = await kit.run("f")
    assert [o.qty for o in outcome.orders] == [D("0.167"), D("0.167"), D("0.166")]
    assert sum(o.shortfall for o in outcome.orders) == D("0.3")
    assert venue.size() == D("0.5")
    assert len({o.client_order_id for o in outcome.orders}) == 3


async def test_paused_follower_and_unmapped_symbol_are_recorded_skips(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f"), FakeExchange())
    kit.master.move("0.1", im="1000")
    kit.store.set_follower_paused("f", True)
    paused = await kit.run("f")
    assert paused.skip_reason is SkipReason.PAUSED
    kit.store.set_follower_paused("f", False)

    kit.master.move("5", im="100", symbol="WEIRD-PERP")
    unmapped = await kit.run("f", symbol="WEIRD-PERP")
    assert unmapped.skip_reason is SkipReason.SYMBOL_NOT_MAPPED
    assert "Add it to the config" in unmapped.message
    assert venue.placed == []
    assert [e.reason_code for e in kit.log("f")] == ["paused", "symbol_not_mapped"]


async def test_a_failed_read_is_a_recorded_skip_and_the_next_job_acts(tmp_path: Path) -> None:
    kit = new_kit(tmp_path)
    venue = kit.add(follower_config("f"), FakeExchange())
    kit.master.move("0.1", im="1000")
    venue.read_error = venue.error(ErrorKind.TEMPORARY, "503 service unavailable")
    failed = await kit.run("f")
    assert failed.skip_reason is SkipReason.READ_FAILED and not failed.ok
    assert "503 service unavailable" in failed.message
    venue.read_error = None
    assert (await kit.run("f")).placed
    assert BTC_RULES.symbol == "BTCUSDT"
