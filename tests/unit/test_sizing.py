"""Rounding helpers, the copy ratio k, ideal targets, hedge netting and the order plan's rounding directions."""

from decimal import Decimal

import pytest

from runtime.domain.events import Lifecycle
from runtime.domain.instruments import InstrumentRules
from runtime.domain.planning import OrderIntent, OrderPhase, plan_orders
from runtime.domain.rounding import (
    Rounding,
    away_from_zero_to_step,
    ceil_to_step,
    floor_to_step,
    half_up_to_step,
    is_on_step,
    round_price_to_tick,
    round_to_step,
    snap_to_step,
    steps_in,
    toward_zero_to_step,
)
from runtime.domain.sizing import (
    EquityRatio,
    FixedMargin,
    LegTarget,
    MarginRatio,
    SizingError,
    copy_ratio,
    ideal_target,
    net_target,
    unit_ratio_for,
)
from runtime.domain.values import Side, Venue

D = Decimal
STEP = D("0.001")


def rules(
    step: str = "0.001", min_qty: str | None = None, *, exempt_min_qty: bool = False, venue: Venue = Venue.BYBIT
) -> InstrumentRules:
    return InstrumentRules(
        venue=venue,
        symbol="BTCUSDT",
        qty_step=D(step),
        tick_size=D("0.1"),
        min_qty=D(min_qty or step),
        max_qty=D(1190),
        max_market_qty=D(119),
        min_notional=D(5),
        max_leverage=D(100),
        reduce_only_exempt_min_qty=exempt_min_qty,
    )


def lifecycle(open_im: str = "1000", open_equity: str = "10000") -> Lifecycle:
    return Lifecycle(id="BTCUSDT:0:7", open_im=D(open_im), open_equity=D(open_equity), opened_seq=7)


# --- rounding -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "floor", "ceil", "toward", "away", "half_up"),
    [
        ("0.0029", "0.002", "0.003", "0.002", "0.003", "0.003"),
        ("0.0021", "0.002", "0.003", "0.002", "0.003", "0.002"),
        ("0.0025", "0.002", "0.003", "0.002", "0.003", "0.003"),
        ("-0.0029", "-0.003", "-0.002", "-0.002", "-0.003", "-0.003"),
        ("-0.0025", "-0.003", "-0.002", "-0.002", "-0.003", "-0.003"),
        ("0.003", "0.003", "0.003", "0.003", "0.003", "0.003"),
        ("-0.0004", "-0.001", "0", "0", "-0.001", "0"),
    ],
)
def test_every_rounding_direction(value: str, floor: str, ceil: str, toward: str, away: str, half_up: str) -> None:
    v = D(value)
    assert floor_to_step(v, STEP) == D(floor)
    assert ceil_to_step(v, STEP) == D(ceil)
    assert toward_zero_to_step(v, STEP) == D(toward)
    assert away_from_zero_to_step(v, STEP) == D(away)
    assert half_up_to_step(v, STEP) == D(half_up)


def test_rounding_is_exact_a_hair_below_a_boundary() -> None:
    # 28 significant digits would round this quotient up to 3 before flooring; the wide exact path must not.
    hair_below = D("0.002999999999999999999999999999999")
    assert floor_to_step(hair_below, STEP) == D("0.002")
    assert away_from_zero_to_step(D("0.002000000000000000000000000000001"), STEP) == D("0.003")


def test_rounding_works_on_non_decimal_steps_and_never_prints_negative_zero() -> None:
    assert round_to_step(D("7.4"), D("2.5"), Rounding.FLOOR) == D(5)
    assert round_to_step(D("7.4"), D("2.5"), Rounding.CEILING) == D("7.5")
    assert str(toward_zero_to_step(D("-0.0004"), STEP)) == "0"


def test_rounding_refuses_bad_steps_and_values() -> None:
    with pytest.raises(ValueError, match="step must be a positive"):
        floor_to_step(D(1), D(0))
    with pytest.raises(ValueError, match="finite Decimal"):
        floor_to_step(D("NaN"), STEP)


def test_snap_absorbs_28_digit_noise_but_nothing_a_venue_could_fill() -> None:
    # 0.1 - 0.3 x (600/3600) is 0.04999...999 in 28 digits; mathematically it is 0.05
    noisy = D("0.1") + D("-0.3") * (D(600) / D(3600))
    assert noisy < D("0.05") and snap_to_step(noisy, D("0.00001")) == D("0.05")
    assert snap_to_step(D("0.0499999"), D("0.00001")) == D("0.0499999")  # a tenth of a step is real: kept


def test_plan_does_not_lose_a_step_to_decimal_noise() -> None:
    noisy = D("0.1") + D("-0.3") * (D(600) / D(3600))
    assert plan_orders(noisy, D(0), rules(step="0.00001")).target == D("0.05")


def test_step_membership_and_counting() -> None:
    assert is_on_step(D("0.120"), STEP) and not is_on_step(D("0.1205"), STEP)
    assert steps_in(D("0.12"), STEP) == 120
    with pytest.raises(ValueError, match="not a multiple"):
        steps_in(D("0.1205"), STEP)


def test_price_rounds_to_tick_in_the_direction_given() -> None:
    assert round_price_to_tick(D("64000.07"), D("0.1"), Rounding.CEILING) == D("64000.1")
    assert round_price_to_tick(D("64000.07"), D("0.1"), Rounding.FLOOR) == D("64000.0")
    with pytest.raises(ValueError, match="above zero"):
        round_price_to_tick(D("0.04"), D("0.1"), Rounding.FLOOR)
    with pytest.raises(ValueError, match="positive Decimal"):
        round_price_to_tick(D(0), D("0.1"), Rounding.FLOOR)


# --- sizing rules and k ---------------------------------------------------------------------------------------------


def test_copy_ratio_for_each_rule() -> None:
    life = lifecycle(open_im="1000", open_equity="10000")
    # margin_ratio: 5000 x 0.10 / 1000 = 0.5
    assert copy_ratio(MarginRatio(D("0.10")), D(5000), life) == D("0.5")
    # equity_ratio: 2 x 5000 / 10000 = 1
    assert copy_ratio(EquityRatio(D(2)), D(5000), life) == D(1)
    # fixed_margin: 250 / 1000 = 0.25, whatever the follower's equity
    assert copy_ratio(FixedMargin(D(250)), D(5000), life) == D("0.25")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MarginRatio(D(0)), "margin_pct must be a positive"),
        (lambda: MarginRatio(D(10)), r"did you mean 0\.1"),
        (lambda: EquityRatio(D(-1)), "multiplier must be a positive"),
        (lambda: FixedMargin(D(0)), "margin_usdt must be a positive"),
    ],
)
def test_sizing_rules_validate_with_clear_messages(make: object, match: str) -> None:
    with pytest.raises(SizingError, match=match):
        make()  # type: ignore[operator]


def test_copy_ratio_refuses_missing_master_figures_and_empty_followers() -> None:
    with pytest.raises(SizingError, match="initial margin at the open of lifecycle BTCUSDT:0:7"):
        copy_ratio(MarginRatio(D("0.1")), D(100), lifecycle(open_im="0"))
    with pytest.raises(SizingError, match="initial margin"):
        copy_ratio(FixedMargin(D(100)), D(100), lifecycle(open_im="-5"))
    with pytest.raises(SizingError, match="equity at the open"):
        copy_ratio(EquityRatio(D(1)), D(100), lifecycle(open_equity="0"))
    with pytest.raises(SizingError, match=r"follower equity.*fund it"):
        copy_ratio(MarginRatio(D("0.1")), D(0), lifecycle())


def test_copy_ratio_only_checks_the_master_figure_its_rule_uses() -> None:
    # An equity_ratio follower does not need the master's IM, a margin_ratio follower not its equity.
    assert copy_ratio(EquityRatio(D(1)), D(100), lifecycle(open_im="0")) == D("0.01")
    assert copy_ratio(MarginRatio(D("0.5")), D(100), lifecycle(open_equity="0")) == D("0.05")


def test_ideal_target_is_signed_and_in_follower_units() -> None:
    assert ideal_target(D("-0.4"), D("0.5")) == D("-0.2")
    assert ideal_target(D(0), D("0.5")) == 0
    # master 1000PEPEUSDT (1000 tokens per unit) into raw PEPE: 3 master units x k 0.5 = 1.5 units = 1500 tokens
    ratio = unit_ratio_for(D(1000), D(1))
    assert ratio == D(1000)
    assert ideal_target(D(3), D("0.5"), ratio) == D(1500)
    assert unit_ratio_for(D(1), D(1000)) == D("0.001")
    with pytest.raises(SizingError, match="copy ratio k"):
        ideal_target(D(1), D(0))


def test_hedge_legs_net_with_their_own_k() -> None:
    # long leg 2 BTC at k 0.1 (+0.2), short leg -1 BTC at k 0.05 (-0.05): the one-way follower holds +0.15
    legs = [LegTarget(D(2), D("0.1")), LegTarget(D(-1), D("0.05"))]
    assert net_target(legs) == D("0.15")
    assert net_target([]) == 0
    assert net_target([LegTarget(D(1), D("0.5"), D(1000))]) == D(500)


# --- plan_orders ----------------------------------------------------------------------------------------------------


def test_open_rounds_toward_zero() -> None:
    plan = plan_orders(D("0.0239"), D(0), rules())
    assert plan.intents == (OrderIntent(Side.BUY, D("0.023"), False, OrderPhase.OPEN),)
    assert plan.target == D("0.023")


def test_short_open_rounds_toward_zero_too() -> None:
    plan = plan_orders(D("-0.0239"), D(0), rules())
    assert plan.intents == (OrderIntent(Side.SELL, D("0.023"), False, OrderPhase.OPEN),)
    assert plan.target == D("-0.023")


def test_increase_orders_only_the_difference_from_the_live_position() -> None:
    # the follower already holds 0.020; the new ideal 0.0459 grows it by floor(0.0259) = 0.025
    plan = plan_orders(D("0.0459"), D("0.020"), rules())
    assert plan.intents == (OrderIntent(Side.BUY, D("0.025"), False, OrderPhase.OPEN),)
    assert plan.target == D("0.045")


def test_growth_below_one_step_is_an_empty_plan() -> None:
    plan = plan_orders(D("0.0208"), D("0.020"), rules())
    assert plan.is_empty and plan.target == D("0.020")
    assert plan.growth_below_one_step
    assert plan_orders(D("-0.0008"), D(0), rules()).growth_below_one_step
    assert not plan_orders(D("0.020"), D("0.020"), rules()).growth_below_one_step


def test_partial_close_rounds_away_from_zero_and_is_reduce_only() -> None:
    # holding 0.045, ideal 0.0301: take off ceil(0.0149) = 0.015 -> 0.030, under the ideal by less than a step
    plan = plan_orders(D("0.0301"), D("0.045"), rules())
    assert plan.intents == (OrderIntent(Side.SELL, D("0.015"), True, OrderPhase.CLOSE),)
    assert plan.target == D("0.030")
    assert not plan.min_qty_adjusted


def test_short_partial_close_buys_back_reduce_only() -> None:
    plan = plan_orders(D("-0.0301"), D("-0.045"), rules())
    assert plan.intents == (OrderIntent(Side.BUY, D("0.015"), True, OrderPhase.CLOSE),)
    assert plan.target == D("-0.030")


def test_reduction_is_capped_at_the_current_size() -> None:
    # ideal 0.0004 would round the reduction up to 0.003 on a 0.003 position: capped, it closes exactly
    plan = plan_orders(D("0.0004"), D("0.003"), rules())
    assert plan.intents == (OrderIntent(Side.SELL, D("0.003"), True, OrderPhase.CLOSE, closes_position=True),)
    assert plan.target == 0


def test_flat_ideal_closes_the_whole_position_even_off_step() -> None:
    plan = plan_orders(D(0), D("0.0455"), rules())
    assert plan.intents == (OrderIntent(Side.SELL, D("0.0455"), True, OrderPhase.CLOSE, closes_position=True),)
    assert plan.target == 0
    assert plan_orders(D(0), D(0), rules()).is_empty


def test_flip_closes_then_opens_the_new_side_rounded_toward_zero() -> None:
    plan = plan_orders(D("-0.0127"), D("0.030"), rules())
    assert plan.is_flip
    assert plan.intents == (
        OrderIntent(Side.SELL, D("0.030"), True, OrderPhase.CLOSE, closes_position=True),
        OrderIntent(Side.SELL, D("0.012"), False, OrderPhase.OPEN),
    )
    assert plan.target == D("-0.012")


def test_flip_whose_new_side_rounds_to_zero_only_closes() -> None:
    plan = plan_orders(D("0.0007"), D("-0.030"), rules())
    assert plan.is_flip
    assert plan.intents == (OrderIntent(Side.BUY, D("0.030"), True, OrderPhase.CLOSE, closes_position=True),)
    assert plan.target == 0


def test_nothing_to_do_when_already_on_target() -> None:
    assert plan_orders(D("0.030"), D("0.030"), rules()).is_empty


def test_reduction_is_rounded_up_to_the_minimum_on_a_venue_without_exemption() -> None:
    # min qty 0.005 > step: a 0.002 reduction would be refused, so it takes 0.005 (away from zero, never over)
    plan = plan_orders(D("0.0481"), D("0.050"), rules(min_qty="0.005"))
    assert plan.intents == (OrderIntent(Side.SELL, D("0.005"), True, OrderPhase.CLOSE),)
    assert plan.target == D("0.045") and plan.min_qty_adjusted


def test_reduction_that_would_strand_less_than_the_minimum_closes_everything() -> None:
    # holding 0.008, ideal 0.0041: a 0.004 reduction leaves 0.004 < min 0.005, which could never be closed alone
    plan = plan_orders(D("0.0041"), D("0.008"), rules(min_qty="0.005"))
    assert plan.intents == (OrderIntent(Side.SELL, D("0.008"), True, OrderPhase.CLOSE, closes_position=True),)
    assert plan.target == 0 and plan.min_qty_adjusted


def test_exempt_venue_keeps_the_one_step_reduction() -> None:
    plan = plan_orders(D("0.0481"), D("0.050"), rules(min_qty="0.005", exempt_min_qty=True))
    assert plan.intents == (OrderIntent(Side.SELL, D("0.002"), True, OrderPhase.CLOSE),)
    assert not plan.min_qty_adjusted
