"""Shaping against venue rules: step re-check, minimums and their reduce-only exemptions, maxima, splits, refusals
with trader-readable messages, and smart reduction."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.domain.instruments import InstrumentRules
from runtime.domain.planning import OrderIntent, OrderPhase
from runtime.domain.refusals import Refusal, RefusalReason, base_asset, usd
from runtime.domain.rounding import is_on_step
from runtime.domain.shaping import ShapedOrder, child_order_cap, shape_order, smart_reduce, split_quantity
from runtime.domain.values import Side, Venue

D = Decimal
MARK = D(61000)


def rules(
    *,
    venue: Venue = Venue.BINANCE,
    step: str = "0.001",
    min_qty: str = "0.001",
    min_notional: str = "100",
    max_qty: str = "1000",
    max_market_qty: str = "120",
    exempt_notional: bool = True,
    exempt_qty: bool = False,
) -> InstrumentRules:
    return InstrumentRules(
        venue=venue,
        symbol="BTCUSDT",
        qty_step=D(step),
        tick_size=D("0.1"),
        min_qty=D(min_qty),
        max_qty=D(max_qty),
        max_market_qty=D(max_market_qty),
        min_notional=D(min_notional),
        max_leverage=D(125),
        reduce_only_exempt_min_notional=exempt_notional,
        reduce_only_exempt_min_qty=exempt_qty,
    )


def buy(qty: str) -> OrderIntent:
    return OrderIntent(Side.BUY, D(qty), False, OrderPhase.OPEN)


def close(qty: str, *, whole: bool = True) -> OrderIntent:
    return OrderIntent(Side.SELL, D(qty), True, OrderPhase.CLOSE, closes_position=whole)


def shaped(result: ShapedOrder | Refusal) -> ShapedOrder:
    assert isinstance(result, ShapedOrder), result
    return result


def refused(result: ShapedOrder | Refusal, reason: RefusalReason) -> Refusal:
    assert isinstance(result, Refusal), result
    assert result.reason is reason, result
    return result


# --- passing orders and splits --------------------------------------------------------------------------------------


def test_an_order_within_every_limit_passes_as_one_part() -> None:
    order = shaped(shape_order(buy("0.010"), rules(), MARK))
    assert order.qty == D("0.010") and order.child_qtys == (D("0.010"),)
    assert order.notional == D(610) and order.shortfall == 0 and not order.reduce_only


def test_off_step_quantity_is_rechecked_toward_zero_and_the_shortfall_kept() -> None:
    order = shaped(shape_order(buy("0.0109"), rules(), MARK))
    assert order.qty == D("0.010") and order.requested_qty == D("0.0109") and order.shortfall == D("0.0009")


def test_an_order_above_the_market_maximum_splits_into_equal_parts_on_the_step() -> None:
    # 250.001 BTC at 120 per market order: 3 parts of 83.334 / 83.334 / 83.333
    order = shaped(shape_order(buy("250.001"), rules(), MARK))
    assert order.child_qtys == (D("83.334"), D("83.334"), D("83.333"))
    assert sum(order.child_qtys) == order.qty


def test_a_reduce_only_close_above_every_maximum_is_split_not_refused() -> None:
    order = shaped(shape_order(close("2500"), rules(), MARK))
    assert len(order.child_qtys) == 21 and max(order.child_qtys) <= D(120) and sum(order.child_qtys) == D(2500)
    assert order.reduce_only and order.closes_position


def test_children_respect_max_qty_when_it_is_below_the_market_maximum() -> None:
    assert child_order_cap(rules(max_qty="50", max_market_qty="120")) == D(50)


def test_rules_whose_market_maximum_is_below_one_step_are_reported() -> None:
    with pytest.raises(ValueError, match="below one quantity step"):
        child_order_cap(rules(step="1", min_qty="1", max_market_qty="0.5"))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    total_steps=st.integers(min_value=1, max_value=100_000),
    cap_steps=st.integers(min_value=1, max_value=5_000),
    step=st.sampled_from([D(1), D("0.1"), D("0.001"), D("0.00001")]),
)
def test_split_parts_are_few_on_the_step_within_the_cap_and_sum_exactly(
    total_steps: int, cap_steps: int, step: Decimal
) -> None:
    qty, cap = step * total_steps, step * cap_steps
    parts = split_quantity(qty, cap, step)
    assert sum(parts) == qty
    assert all(0 < p <= cap and is_on_step(p, step) for p in parts)
    assert len(parts) == -(-total_steps // cap_steps)
    assert max(parts) - min(parts) <= step  # as equal as the step allows: no tiny remainder part


# --- refusals and exemptions ----------------------------------------------------------------------------------------


def test_zero_after_rounding() -> None:
    refusal = refused(shape_order(buy("0.0004"), rules(), MARK), RefusalReason.ZERO_AFTER_ROUNDING)
    assert "0.0004 BTC rounds to zero at Binance's quantity step of 0.001 BTC for BTCUSDT" in refusal.message


def test_growth_below_min_notional_is_refused_with_numbers_and_advice() -> None:
    refusal = refused(shape_order(buy("0.001"), rules(), D(24400)), RefusalReason.BELOW_MIN_NOTIONAL)
    assert refusal.message == (
        "Order to buy 0.001 BTC ($24.40) is below Binance's $100 minimum notional for BTCUSDT; the follower's "
        "capital is too small for this position; raise the follower's sizing (margin_pct, multiplier or "
        "margin_usdt) or its capital."
    )
    assert refusal.limit == D(100) and refusal.notional == D("24.4") and refusal.is_below_minimum


def test_growth_below_min_qty_is_refused() -> None:
    refusal = refused(
        shape_order(buy("0.002"), rules(min_qty="0.005", min_notional="0"), MARK), RefusalReason.BELOW_MIN_QTY
    )
    assert "below Binance's minimum quantity of 0.005 BTC" in refusal.message and refusal.qty == D("0.002")


def test_reduce_only_is_exempt_from_min_notional_where_the_venue_says_so() -> None:
    order = shaped(shape_order(close("0.001"), rules(exempt_notional=True), D(24400)))
    assert order.reduce_only and order.qty == D("0.001")


def test_reduce_only_close_below_min_notional_without_exemption_is_refused_as_residue() -> None:
    refusal = refused(
        shape_order(close("0.001"), rules(venue=Venue.BYBIT, exempt_notional=False), D(24400)),
        RefusalReason.BELOW_MIN_NOTIONAL,
    )
    assert "would leave 0.001 BTC open as residue; close that position by hand on Bybit" in refusal.message


def test_reduce_only_partial_below_min_qty_without_exemption_says_the_follower_stays_above_target() -> None:
    refusal = refused(
        shape_order(close("0.002", whole=False), rules(min_qty="0.005", min_notional="0"), MARK),
        RefusalReason.BELOW_MIN_QTY,
    )
    assert "stays 0.002 BTC above its target" in refusal.message


def test_reduce_only_is_exempt_from_min_qty_where_the_venue_says_so() -> None:
    order = shaped(shape_order(close("0.002"), rules(min_qty="0.005", min_notional="0", exempt_qty=True), MARK))
    assert order.qty == D("0.002")


def test_growth_above_max_qty_is_refused_and_points_at_smart_reduction() -> None:
    refusal = refused(shape_order(buy("1500"), rules(), MARK), RefusalReason.ABOVE_MAX_QTY)
    assert "above Binance's maximum of 1000 BTC per order" in refusal.message and refusal.limit == D(1000)


def test_a_split_part_below_the_minimum_is_refused_honestly() -> None:
    # 0.004 BTC split at a 0.003 market maximum gives 0.002 + 0.002, each $122 < $150 minimum notional
    r = rules(max_market_qty="0.003", min_notional="150")
    refusal = refused(shape_order(buy("0.004"), r, MARK), RefusalReason.BELOW_MIN_NOTIONAL)
    assert "one part of a larger order split" in refusal.message and refusal.qty == D("0.002")


def test_shaping_needs_a_positive_mark_price() -> None:
    with pytest.raises(ValueError, match="positive mark price"):
        shape_order(buy("0.01"), rules(), D(0))


def test_message_helpers() -> None:
    assert base_asset("BTCUSDT") == "BTC" and base_asset("1000PEPEUSDT") == "1000PEPE" and base_asset("BTC") == "BTC"
    assert usd(D(100)) == "$100" and usd(D("24.4")) == "$24.40" and usd(D("64000.5")) == "$64,000.50"
    assert usd(D("0.004")) == "$0.004"


# --- smart reduction ------------------------------------------------------------------------------------------------


def test_smart_reduce_shrinks_to_what_the_margin_carries_rounded_down() -> None:
    # $500 available at 10x carries 5000 / 61000 = 0.08196... BTC -> 0.081; asked 0.200 -> shortfall 0.119
    order = shaped(smart_reduce(buy("0.200"), rules(), MARK, D(500), D(10)))
    assert order.qty == D("0.081") and order.requested_qty == D("0.200") and order.shortfall == D("0.119")


def test_smart_reduce_is_capped_at_max_qty_and_split() -> None:
    order = shaped(smart_reduce(buy("1500"), rules(), D(100), D(10_000_000), D(20)))
    assert order.qty == D(1000) and order.shortfall == D(500) and max(order.child_qtys) <= D(120)


def test_smart_reduce_never_grows_an_order() -> None:
    order = shaped(smart_reduce(buy("0.010"), rules(), MARK, D(1_000_000), D(10)))
    assert order.qty == D("0.010") and order.shortfall == 0


def test_smart_reduce_headroom_leaves_room_for_fees() -> None:
    order = shaped(smart_reduce(buy("1"), rules(min_notional="0"), D(1000), D(100), D(1), headroom=D("0.98")))
    assert order.qty == D("0.098")


def test_smart_reduce_to_nothing_is_insufficient_margin() -> None:
    refusal = refused(smart_reduce(buy("0.200"), rules(), MARK, D(3), D(10)), RefusalReason.INSUFFICIENT_MARGIN)
    assert "available margin of $3 at 10x carries at most" in refusal.message
    assert "add margin to the follower account" in refusal.message and refusal.limit == D(3)


def test_smart_reduce_below_the_minimum_is_refused() -> None:
    # $8 at 10x carries 0.0013 BTC -> 0.001 BTC = $61 < Binance's $100 minimum
    refused(smart_reduce(buy("0.200"), rules(), MARK, D(8), D(10)), RefusalReason.BELOW_MIN_NOTIONAL)


def test_smart_reduce_refuses_reduce_only_orders() -> None:
    with pytest.raises(ValueError, match="only shrinks growth orders"):
        smart_reduce(close("0.2"), rules(), MARK, D(500), D(10))
    with pytest.raises(ValueError, match="positive leverage"):
        smart_reduce(buy("0.2"), rules(), MARK, D(500), D(0))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    asked_steps=st.integers(min_value=1, max_value=10_000),
    margin=st.decimals(min_value=0, max_value=100_000, places=2),
    leverage=st.integers(min_value=1, max_value=100),
    mark=st.decimals(min_value=1, max_value=100_000, places=1),
)
def test_smart_reduce_result_fits_margin_max_and_request(
    asked_steps: int, margin: Decimal, leverage: int, mark: Decimal
) -> None:
    r = rules(min_notional="5", max_qty="5")
    intent = buy(str(D("0.001") * asked_steps))
    result = smart_reduce(intent, r, mark, margin, D(leverage))
    if isinstance(result, Refusal):
        assert result.reason in {
            RefusalReason.INSUFFICIENT_MARGIN,
            RefusalReason.BELOW_MIN_NOTIONAL,
            RefusalReason.ZERO_AFTER_ROUNDING,
        }
        return
    assert result.qty <= intent.qty and result.qty <= r.max_qty
    assert result.qty * mark <= margin * leverage
    assert is_on_step(result.qty, r.qty_step)
    assert result.qty * mark >= r.min_notional
    # rounded DOWN: one more step would break a limit
    one_more = result.qty + r.qty_step
    assert one_more > intent.qty or one_more > r.max_qty or one_more * mark > margin * leverage
