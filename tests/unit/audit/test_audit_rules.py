"""The audit's pure rules: each discrepancy kind, the grace period, the threshold, the one-step tolerance, netting
of a hedge master for a one-way follower, and the deduplication (new, 1 pp re-alert, steady, kind change,
resolved)."""

from decimal import Decimal

import pytest

from runtime.domain.audit import (
    AlertAction,
    AuditThresholds,
    Discrepancy,
    DiscrepancyKind,
    LegComparison,
    MasterLegInput,
    Verdict,
    assess,
    classify,
    decide_alert,
    deviation_pct,
    display_size,
)
from runtime.domain.values import PositionIdx
from runtime.ports.store import AlertState

D = Decimal
STEP = D("0.001")
NOW = 1_000_000
T = AuditThresholds()  # 60 s grace, 5%, 1 pp


def comparison(
    follower_size: str,
    *legs: MasterLegInput,
    unit_ratio: str = "1",
    step: Decimal = STEP,
    idx: PositionIdx = PositionIdx.ONE_WAY,
) -> LegComparison:
    return LegComparison("alice", "BTCUSDT", "BTCUSDT", idx, legs, D(unit_ratio), D(follower_size), step)


def leg(size: str, k: str = "0.1", *, idx: PositionIdx = PositionIdx.ONE_WAY, ago_ms: int = 120_000) -> MasterLegInput:
    return MasterLegInput(idx, D(size), D(k), NOW - ago_ms)


# ----- classification -----------------------------------------------------------------------------------------


def test_master_holds_follower_flat_is_missing_position() -> None:
    found = assess(comparison("0", leg("1")), NOW, T)
    assert found.verdict is Verdict.DISCREPANCY
    assert found.discrepancy is not None
    assert found.discrepancy.kind is DiscrepancyKind.MISSING_POSITION
    assert found.discrepancy.expected == D("0.1")
    assert found.discrepancy.deviation_pct == D(100)


def test_follower_holds_master_flat_is_extra_position() -> None:
    found = assess(comparison("0.05", leg("0")), NOW, T)
    assert found.discrepancy is not None
    assert found.discrepancy.kind is DiscrepancyKind.EXTRA_POSITION
    assert found.discrepancy.expected == 0
    assert found.discrepancy.actual == D("0.05")


def test_an_extra_position_of_one_step_is_still_extra() -> None:
    # A master-flat target is closed exactly, so any remainder is exposure the master does not have.
    assert classify(D(0), STEP, STEP, D(5)) is not None


def test_position_on_a_symbol_the_master_never_traded_is_extra() -> None:
    found = assess(comparison("-2"), NOW, T)
    assert found.discrepancy is not None and found.discrepancy.kind is DiscrepancyKind.EXTRA_POSITION


def test_size_beyond_threshold_is_size_mismatch() -> None:
    found = assess(comparison("0.09", leg("1")), NOW, T)  # expected 0.1, 10% short
    assert found.discrepancy is not None
    assert found.discrepancy.kind is DiscrepancyKind.SIZE_MISMATCH
    assert found.discrepancy.deviation_pct == D(10)


def test_deviation_at_or_below_threshold_is_fine() -> None:
    assert assess(comparison("0.095", leg("1")), NOW, T).verdict is Verdict.FINE  # exactly 5%
    assert assess(comparison("0.096", leg("1")), NOW, T).verdict is Verdict.FINE


def test_just_above_threshold_is_a_mismatch() -> None:
    found = assess(comparison("0.0949", leg("1")), NOW, AuditThresholds())
    assert found.discrepancy is not None and found.discrepancy.deviation_pct == D("5.10")


def test_deviation_within_one_step_is_not_a_mismatch() -> None:
    # expected 0.0166..., follower rounded down to 0.016: 3.9% off but under one step. With a coarse step even 50%
    # is rounding.
    assert assess(comparison("0.016", leg("1", "0.0166666")), NOW, T).verdict is Verdict.FINE
    assert classify(D("0.002"), D("0.001"), D("0.001"), D(5)) is None  # 50% off, one step
    assert classify(D("0.002"), D("0.0005"), D("0.001"), D(5)) is not None  # 1.5 steps off


def test_expected_below_one_step_and_follower_flat_is_fine() -> None:
    # The follower is too small to hold even one step: flat is the correctly rounded copy.
    assert classify(D("0.0004"), D(0), STEP, D(5)) is None


def test_wrong_side_is_a_mismatch_above_100_percent() -> None:
    found = classify(D("0.1"), D("-0.1"), STEP, D(5))
    assert found is not None
    assert found.kind is DiscrepancyKind.SIZE_MISMATCH
    assert found.deviation_pct == D(200)
    assert found.wrong_side


def test_unit_ratio_scales_expected() -> None:
    # Master 1000PEPE units into raw PEPE: 2 x 0.5 x 1000 = 1000.
    assert comparison("1000", leg("2", "0.5"), unit_ratio="1000").expected == D(1000)
    assert assess(comparison("1000", leg("2", "0.5"), unit_ratio="1000", step=D(1)), NOW, T).verdict is Verdict.FINE


def test_one_way_follower_of_hedge_master_compares_the_net() -> None:
    long_leg = leg("1", "0.1", idx=PositionIdx.HEDGE_LONG)
    short_leg = leg("-0.4", "0.2", idx=PositionIdx.HEDGE_SHORT)  # its own lifecycle, its own k
    net = comparison("0.02", long_leg, short_leg)
    assert net.expected == D("0.02")  # 0.1 - 0.08
    assert assess(net, NOW, T).verdict is Verdict.FINE
    # The long leg alone would have called 0.02 a large mismatch.
    assert assess(comparison("0.02", long_leg), NOW, T).verdict is Verdict.DISCREPANCY


def test_netted_legs_that_cancel_make_any_holding_extra() -> None:
    legs = (leg("1", "0.1", idx=PositionIdx.HEDGE_LONG), leg("-0.5", "0.2", idx=PositionIdx.HEDGE_SHORT))
    found = assess(comparison("0.01", *legs), NOW, T)
    assert found.discrepancy is not None and found.discrepancy.kind is DiscrepancyKind.EXTRA_POSITION


def test_deviation_pct_rounds_to_hundredths() -> None:
    assert deviation_pct(D(3), D(2)) == D("33.33")
    assert deviation_pct(D(0), D(0)) == 0


def test_classify_refuses_a_zero_step() -> None:
    with pytest.raises(ValueError, match="qty_step"):
        classify(D(1), D(0), D(0), D(5))


# ----- grace ---------------------------------------------------------------------------------------------------


def test_leg_with_master_activity_inside_grace_is_not_judged() -> None:
    assert assess(comparison("0", leg("1", ago_ms=59_999)), NOW, T).verdict is Verdict.IN_GRACE


def test_leg_just_past_grace_is_judged() -> None:
    assert assess(comparison("0", leg("1", ago_ms=60_000)), NOW, T).verdict is Verdict.DISCREPANCY


def test_a_just_closed_master_leg_gives_the_follower_grace_to_close() -> None:
    assert assess(comparison("0.1", leg("0", ago_ms=5_000)), NOW, T).verdict is Verdict.IN_GRACE


def test_grace_of_either_netted_leg_holds_the_comparison() -> None:
    legs = (leg("1", idx=PositionIdx.HEDGE_LONG), leg("-1", idx=PositionIdx.HEDGE_SHORT, ago_ms=1_000))
    assert assess(comparison("0.3", *legs), NOW, T).verdict is Verdict.IN_GRACE


def test_zero_grace_judges_everything() -> None:
    assert assess(comparison("0", leg("1", ago_ms=0)), NOW, AuditThresholds(grace_ms=0)).verdict is Verdict.DISCREPANCY


def test_thresholds_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="grace"):
        AuditThresholds(grace_ms=-1)
    with pytest.raises(ValueError, match="threshold"):
        AuditThresholds(mismatch_threshold_pct=D(0))


# ----- deduplication -------------------------------------------------------------------------------------------


def mismatch(follower_size: str) -> tuple[LegComparison, Discrepancy]:
    comp = comparison(follower_size, leg("1", "1"))  # expected 1
    found = assess(comp, NOW, T).discrepancy
    assert found is not None
    return comp, found


def decide(follower_size: str, previous: AlertState | None, now: int = NOW) -> tuple[AlertAction | None, AlertState]:
    comp, found = mismatch(follower_size)
    decision = decide_alert(comp.alert_key, comp, found, previous, now, D(1))
    state = decision.store if decision.store is not None else previous
    assert state is not None
    return decision.action, state


def test_a_new_discrepancy_alerts_and_is_stored() -> None:
    action, state = decide("0.9", None)
    assert action is AlertAction.ALERT
    assert state.kind == "SizeMismatch"
    assert state.deviation_pct == D(10)
    assert state.last_alerted_deviation_pct == D(10)
    assert state.first_seen_ms == NOW and state.last_alert_ms == NOW
    assert state.key == "audit:alice:BTCUSDT:0"


def test_a_steady_discrepancy_never_repeats() -> None:
    _, state = decide("0.9", None)
    for minute in range(1, 30):
        action, state = decide("0.9", state, NOW + minute * 60_000)
        assert action is AlertAction.SUPPRESS
    assert state.last_alert_ms == NOW


def test_a_steady_discrepancy_writes_nothing() -> None:
    comp, found = mismatch("0.9")
    _, state = decide("0.9", None)
    decision = decide_alert(comp.alert_key, comp, found, state, NOW + 60_000, D(1))
    assert decision.action is AlertAction.SUPPRESS and decision.store is None and not decision.delete


def test_a_drifting_discrepancy_alerts_again_only_after_moving_one_point() -> None:
    # 10% -> 10.5% (suppressed, 0.5 pp) -> 10.9% (suppressed, 0.9 pp from the LAST ALERT) -> 11% (1 pp: realert)
    _, state = decide("0.9", None)
    action, state = decide("0.895", state)
    assert action is AlertAction.SUPPRESS
    assert state.deviation_pct == D("10.5") and state.last_alerted_deviation_pct == D(10)
    action, state = decide("0.891", state)
    assert action is AlertAction.SUPPRESS
    action, state = decide("0.89", state, NOW + 180_000)
    assert action is AlertAction.REALERT
    assert state.last_alerted_deviation_pct == D(11) and state.last_alert_ms == NOW + 180_000
    assert state.first_seen_ms == NOW


def test_an_improving_discrepancy_also_realerts_after_one_point() -> None:
    _, state = decide("0.85", None)  # 15%
    action, _ = decide("0.86", state)  # 14%: moved 1 pp down
    assert action is AlertAction.REALERT


def test_a_kind_change_is_a_new_alert() -> None:
    _, state = decide("0.9", None)
    comp = comparison("0", leg("1", "1"))
    found = assess(comp, NOW, T).discrepancy
    decision = decide_alert(comp.alert_key, comp, found, state, NOW + 60_000, D(1))
    assert decision.action is AlertAction.ALERT
    assert decision.store is not None and decision.store.kind == "MissingPosition"
    assert decision.store.first_seen_ms == NOW + 60_000


def test_a_cleared_discrepancy_resolves_and_is_deleted() -> None:
    _, state = decide("0.9", None)
    comp = comparison("1", leg("1", "1"))
    decision = decide_alert(comp.alert_key, comp, None, state, NOW + 60_000, D(1))
    assert decision.action is AlertAction.RESOLVE
    assert decision.delete


def test_nothing_before_and_nothing_now_says_nothing() -> None:
    comp = comparison("1", leg("1", "1"))
    decision = decide_alert(comp.alert_key, comp, None, None, NOW, D(1))
    assert decision.action is None and decision.store is None and not decision.delete


def test_a_state_never_alerted_goes_silently() -> None:
    comp = comparison("1", leg("1", "1"))
    silent = AlertState(comp.alert_key, "SizeMismatch", "alice", "BTCUSDT", PositionIdx.ONE_WAY, D(7), NOW)
    decision = decide_alert(comp.alert_key, comp, None, silent, NOW, D(1))
    assert decision.action is None and decision.delete


def test_sizes_for_people_keep_at_most_eight_decimals() -> None:
    assert display_size(D(1) / D(60)) == "0.01666667"
    assert display_size(D("0.05")) == "0.05"
    assert display_size(D("-12.5")) == "-12.5"
