"""Catalogues differ per venue as the real ones do; fault plans are reproducible from a seed."""

from decimal import Decimal as D

import pytest

from runtime.domain.values import Venue
from runtime.sim.catalogue import catalogue_for
from runtime.sim.faults import ErrorRule, FaultPlan, InjectedError, LatencySpec


def test_each_venue_lists_the_six_markets_with_its_own_rules():
    bybit, binance, hyper = (catalogue_for(v) for v in (Venue.BYBIT, Venue.BINANCE, Venue.HYPERLIQUID))
    assert bybit.symbols() == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "1000PEPEUSDT"]
    assert set(binance.symbols()) == set(bybit.symbols())
    assert hyper.symbols() == ["BTC", "ETH", "SOL", "XRP", "DOGE", "kPEPE"]
    by, bn = bybit.rules("BTCUSDT"), binance.rules("BTCUSDT")
    assert by is not None and bn is not None
    assert (by.tick_size, by.qty_step, by.max_market_qty, by.min_notional, by.max_leverage) == (
        D("0.1"),
        D("0.001"),
        D("500"),
        D("5"),
        D("100"),
    )
    assert (bn.max_market_qty, bn.min_notional, bn.max_leverage) == (D("120"), D("100"), D("125"))
    btc = hyper.get("BTC")
    assert btc is not None and (btc.sz_decimals, btc.asset_index) == (5, 0)
    assert (btc.rules.qty_step, btc.rules.tick_size, btc.rules.min_notional, btc.rules.max_leverage) == (
        D("0.00001"),
        D("0.1"),
        D("10"),
        D("40"),
    )
    pepe = hyper.get("kPEPE")
    assert pepe is not None and pepe.rules.unit_multiplier == D("1000") and pepe.asset_index == 5
    assert bybit.rules("1000PEPEUSDT").unit_multiplier == D("1000")  # type: ignore[union-attr]
    assert bybit.rules("SOLUSDT").qty_step != binance.rules("SOLUSDT").qty_step  # type: ignore[union-attr]


def test_uniform_latency_is_reproducible_from_the_seed():
    spec = LatencySpec(low_s=D("1"), high_s=D("9"), scale=D("0.01"))
    first, second = FaultPlan(seed=7), FaultPlan(seed=7)
    first.set_latency("order", spec)
    second.set_latency("order", spec)
    draws = [first.delay_for("order") for _ in range(5)]
    assert draws == [second.delay_for("order") for _ in range(5)]
    assert all(0.01 <= d <= 0.09 for d in draws)
    assert len(set(draws)) == 5
    assert first.delay_for("read") == 0.0


def test_counted_errors_are_used_up_and_probability_is_seeded():
    plan = FaultPlan(seed=1)
    plan.add_error("order", ErrorRule(InjectedError.SERVER_ERROR, count=2))
    assert [r.kind if r else None for r in (plan.take_error("order") for _ in range(3))] == [
        InjectedError.SERVER_ERROR,
        InjectedError.SERVER_ERROR,
        None,
    ]
    plan.add_error("*", ErrorRule(InjectedError.RATE_LIMIT, probability=D("0.5")))
    hits = [plan.take_error("read") is not None for _ in range(20)]
    again = FaultPlan(seed=1)
    again.add_error("*", ErrorRule(InjectedError.RATE_LIMIT, probability=D("0.5")))
    assert hits == [again.take_error("read") is not None for _ in range(20)]
    assert 0 < sum(hits) < 20


def test_error_rule_needs_count_or_probability():
    with pytest.raises(ValueError, match="exactly one"):
        ErrorRule(InjectedError.TIMEOUT)
    assert ErrorRule(InjectedError.TIMEOUT, count=1).processes_first is True
    assert ErrorRule(InjectedError.SERVER_ERROR, count=1).processes_first is False
