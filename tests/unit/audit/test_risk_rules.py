"""The follower risk controls: each refuses the growth it should, with its own reason and a message that says what
to do, and every one of them lets reductions and closes through."""

from decimal import Decimal
from pathlib import Path

import pytest

from runtime.adapters.sqlite_store import SqliteStore
from runtime.config.model import FollowerConfig
from runtime.domain.refusals import RefusalReason
from runtime.domain.risk import (
    LeverageMode,
    PlannedOrder,
    RiskLimits,
    check_kill_switch,
    check_leverage,
    check_max_notional,
    check_order,
    check_symbol,
    leverage_to_set,
    max_growth_qty,
)
from runtime.domain.values import Side
from runtime.services.risk_gate import RiskGate, risk_limits

D = Decimal
MARK = D(60000)


def order(
    side: Side = Side.BUY,
    qty: str = "0.1",
    current: str = "0",
    *,
    symbol: str = "BTCUSDT",
    reduce_only: bool = False,
    leverage: str | None = None,
) -> PlannedOrder:
    return PlannedOrder(
        master_symbol=symbol,
        symbol=symbol,
        side=side,
        qty=D(qty),
        current_size=D(current),
        mark_price=MARK,
        reduce_only=reduce_only,
        venue_leverage=None if leverage is None else D(leverage),
    )


# Every kind of order that must always pass: reduce-only closes, a plain partial reduction of a long and a short.
REDUCTIONS = [
    order(Side.SELL, "0.5", "0.5", reduce_only=True),
    order(Side.SELL, "0.2", "0.5"),
    order(Side.BUY, "0.2", "-0.5"),
    order(Side.BUY, "1", "-1"),
]


def test_open_increase_and_flip_open_are_growth() -> None:
    assert not order(Side.BUY, "0.1", "0").is_reduction
    assert not order(Side.BUY, "0.1", "0.2").is_reduction
    assert not order(Side.SELL, "0.3", "0.2").is_reduction  # crosses zero: the other side grows
    assert all(o.is_reduction for o in REDUCTIONS)


# ----- kill switch -----------------------------------------------------------------------------------------------


def test_paused_follower_refuses_new_copies() -> None:
    refusal = check_kill_switch(RiskLimits("alice", paused=True), order())
    assert refusal is not None
    assert refusal.reason is RefusalReason.COPYING_PAUSED
    assert "copytrader follower resume alice" in refusal.message


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_paused_follower_still_closes(reduction: PlannedOrder) -> None:
    assert check_order(RiskLimits("alice", paused=True), reduction) is None


def test_running_follower_passes_the_kill_switch() -> None:
    assert check_kill_switch(RiskLimits("alice"), order()) is None


# ----- symbol lists ----------------------------------------------------------------------------------------------


def test_denied_symbol_is_refused() -> None:
    refusal = check_symbol(RiskLimits("alice", symbols_deny=frozenset({"btcusdt"})), order())
    assert refusal is not None
    assert refusal.reason is RefusalReason.SYMBOL_NOT_ALLOWED
    assert "symbols_deny" in refusal.message


def test_symbol_outside_allow_list_is_refused() -> None:
    limits = RiskLimits("alice", symbols_allow=frozenset({"ETHUSDT"}))
    refusal = check_symbol(limits, order())
    assert refusal is not None and "symbols_allow" in refusal.message
    assert check_symbol(limits, order(symbol="ETHUSDT")) is None


def test_empty_allow_list_allows_all_and_deny_wins() -> None:
    assert RiskLimits("alice").allows_symbol("DOGEUSDT")
    both = RiskLimits("alice", symbols_allow=frozenset({"BTCUSDT"}), symbols_deny=frozenset({"BTCUSDT"}))
    assert not both.allows_symbol("BTCUSDT")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_closes_pass_on_a_denied_symbol(reduction: PlannedOrder) -> None:
    assert check_order(RiskLimits("alice", symbols_deny=frozenset({"BTCUSDT"})), reduction) is None


# ----- max notional ----------------------------------------------------------------------------------------------


def test_growth_beyond_max_notional_is_refused_on_the_resulting_position() -> None:
    limits = RiskLimits("alice", max_notional_per_symbol=D(10000))
    # 0.1 BTC alone is $6,000, but on top of 0.1 held the position would be worth $12,000.
    refusal = check_max_notional(limits, order(qty="0.1", current="0.1"))
    assert refusal is not None
    assert refusal.reason is RefusalReason.MAX_NOTIONAL_EXCEEDED
    assert refusal.notional == D(12000) and refusal.limit == D(10000)
    assert "$12,000" in refusal.message and "$10,000" in refusal.message
    assert check_max_notional(limits, order(qty="0.1", current="0")) is None


def test_max_notional_counts_a_short_by_its_size() -> None:
    limits = RiskLimits("alice", max_notional_per_symbol=D(10000))
    assert check_max_notional(limits, order(Side.SELL, "0.2", "0")) is not None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reductions_pass_max_notional_even_above_the_cap(reduction: PlannedOrder) -> None:
    assert check_order(RiskLimits("alice", max_notional_per_symbol=D(1)), reduction) is None


def test_max_growth_qty_is_what_fits_under_the_cap() -> None:
    limits = RiskLimits("alice", max_notional_per_symbol=D(10000))
    # room: 10000 / 60000 = 0.1666.. BTC, 0.1 held -> 0.066 at a 0.001 step
    assert max_growth_qty(limits, order(qty="0.1", current="0.1"), D("0.001")) == D("0.066")
    assert max_growth_qty(limits, order(qty="0.01", current="0.1"), D("0.001")) == D("0.01")
    assert max_growth_qty(limits, order(qty="0.1", current="0.2"), D("0.001")) == 0
    # a short opening from a long does not count the long it is not adding to
    assert max_growth_qty(limits, order(Side.SELL, "0.5", "0"), D("0.001")) == D("0.166")
    assert max_growth_qty(RiskLimits("alice"), order(), D("0.001")) is None


# ----- leverage --------------------------------------------------------------------------------------------------


def test_growth_refused_while_the_venue_leverage_is_above_the_cap() -> None:
    limits = RiskLimits("alice", max_leverage=D(10))
    refusal = check_leverage(limits, order(leverage="20"))
    assert refusal is not None
    assert refusal.reason is RefusalReason.LEVERAGE_ABOVE_MAX
    assert "20x" in refusal.message and "10x" in refusal.message
    assert check_leverage(limits, order(leverage="10")) is None
    assert check_leverage(limits, order(leverage=None)) is None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reductions_pass_the_leverage_cap(reduction: PlannedOrder) -> None:
    over = PlannedOrder(
        reduction.master_symbol,
        reduction.symbol,
        reduction.side,
        reduction.qty,
        reduction.current_size,
        MARK,
        reduction.reduce_only,
        D(50),
    )
    assert check_order(RiskLimits("alice", max_leverage=D(5)), over) is None


def test_leverage_to_set_follows_the_master_under_both_caps() -> None:
    follow = RiskLimits("alice", max_leverage=D(20))
    assert leverage_to_set(follow, D(10), D(100)) == D(10)
    assert leverage_to_set(follow, D(50), D(100)) == D(20)
    assert leverage_to_set(follow, D(50), D(15)) == D(15)
    assert leverage_to_set(follow, D("2.5")) == D("2.5")
    assert leverage_to_set(follow, D(0)) is None  # master's leverage unknown: set nothing


def test_fixed_leverage_ignores_the_master() -> None:
    fixed = RiskLimits("alice", leverage_mode=LeverageMode.FIXED, fixed_leverage=D(5))
    assert leverage_to_set(fixed, D(50), D(100)) == D(5)
    assert leverage_to_set(fixed, D(0), D(3)) == D(3)


def test_fixed_mode_needs_a_value() -> None:
    with pytest.raises(ValueError, match="fixed_leverage"):
        RiskLimits("alice", leverage_mode=LeverageMode.FIXED)


# ----- all together, and from the config --------------------------------------------------------------------------


def test_check_order_reports_the_first_control_that_refuses() -> None:
    limits = RiskLimits("alice", paused=True, symbols_deny=frozenset({"BTCUSDT"}), max_notional_per_symbol=D(1))
    refusal = check_order(limits, order())
    assert refusal is not None and refusal.reason is RefusalReason.COPYING_PAUSED
    assert check_order(RiskLimits("alice"), order()) is None


def test_limits_from_config() -> None:
    follower = FollowerConfig.model_validate(
        {
            "id": "alice",
            "venue": "binance",
            "api_key_env": "K",
            "api_secret_env": "S",
            "sizing": {"mode": "margin_ratio", "margin_pct": "0.1"},
            "symbols_deny": ["dogeusdt"],
            "max_notional_per_symbol": "25000",
            "max_leverage": 20,
            "leverage": "5",
        }
    )
    limits = risk_limits(follower, paused=True)
    assert limits.symbols_deny == frozenset({"DOGEUSDT"})
    assert limits.max_notional_per_symbol == D(25000)
    assert limits.max_leverage == D(20)
    assert limits.leverage_mode is LeverageMode.FIXED and limits.fixed_leverage == D(5)
    assert limits.paused
    assert not risk_limits(follower).paused


def test_risk_gate_reads_the_kill_switch_from_the_store_on_every_check(tmp_path: Path) -> None:
    follower = FollowerConfig.model_validate(
        {
            "id": "alice",
            "venue": "bybit",
            "api_key_env": "K",
            "api_secret_env": "S",
            "sizing": {"mode": "fixed_margin", "margin_usdt": "100"},
            "max_leverage": 10,
        }
    )
    with SqliteStore(tmp_path / "state.db") as store:
        gate = RiskGate(store, {"alice": follower})
        assert gate.check("alice", order()) is None
        store.set_follower_paused("alice", True)  # e.g. `copytrader follower pause alice` from another process
        refusal = gate.check("alice", order())
        assert refusal is not None and refusal.reason is RefusalReason.COPYING_PAUSED
        assert gate.check("alice", order(Side.SELL, "0.1", "0.1")) is None  # the close still goes
        assert gate.leverage_to_set("alice", D(25), D(100)) == D(10)
