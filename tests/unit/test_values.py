"""The value types every part shares: Decimal conversion refuses floats, sides and classification are exact."""

from decimal import Decimal

import pytest

from runtime.domain.events import ChangeKind, Lifecycle, classify_change
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, Side, Venue, decimal_str, to_decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.001", Decimal("0.001")),
        (" 12 ", Decimal(12)),
        (7, Decimal(7)),
        ("", Decimal(0)),
        (Decimal("1.5"), Decimal("1.5")),
    ],
)
def test_to_decimal_reads_strings_ints_and_decimals(raw: object, expected: Decimal) -> None:
    assert to_decimal(raw) == expected


@pytest.mark.parametrize("raw", [0.1, 1.0, True])
def test_to_decimal_refuses_floats_and_bools(raw: object) -> None:
    with pytest.raises(TypeError, match="refusing"):
        to_decimal(raw, field="qty")


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity"])
def test_to_decimal_refuses_non_numbers_naming_the_field(raw: str) -> None:
    with pytest.raises(ValueError, match="price"):
        to_decimal(raw, field="price")


def test_decimal_str_has_no_exponent_or_trailing_zeros() -> None:
    assert decimal_str(Decimal("1E+1")) == "10"
    assert decimal_str(Decimal("0.00100")) == "0.001"
    assert decimal_str(Decimal("0E-8")) == "0"


def test_side_for_delta() -> None:
    assert Side.for_delta(Decimal("0.1")) is Side.BUY
    assert Side.for_delta(Decimal("-0.1")) is Side.SELL
    assert Side.BUY.sign == 1 and Side.SELL.sign == -1
    with pytest.raises(ValueError):
        Side.for_delta(Decimal(0))


@pytest.mark.parametrize(
    ("prev", "new", "kind"),
    [
        ("0", "1", ChangeKind.OPEN),
        ("0", "-1", ChangeKind.OPEN),
        ("1", "2", ChangeKind.INCREASE),
        ("-1", "-2", ChangeKind.INCREASE),
        ("2", "1", ChangeKind.PARTIAL_CLOSE),
        ("-2", "-1", ChangeKind.PARTIAL_CLOSE),
        ("2", "0", ChangeKind.FULL_CLOSE),
        ("2", "-1", ChangeKind.FLIP),
        ("-1", "3", ChangeKind.FLIP),
        ("1", "1", ChangeKind.LEVERAGE_ONLY),
    ],
)
def test_classify_change(prev: str, new: str, kind: ChangeKind) -> None:
    assert classify_change(Decimal(prev), Decimal(new)) is kind


def test_lifecycle_id_is_deterministic_per_leg_and_seq() -> None:
    leg = LegKey("BTCUSDT", PositionIdx.HEDGE_LONG)
    assert Lifecycle.make_id(leg, 42) == "BTCUSDT:1:42"
    assert str(leg) == "BTCUSDT:1"


def test_instrument_rules_refuse_non_positive_steps() -> None:
    with pytest.raises(ValueError, match="qty_step"):
        InstrumentRules(
            venue=Venue.BYBIT,
            symbol="BTCUSDT",
            qty_step=Decimal(0),
            tick_size=Decimal("0.1"),
            min_qty=Decimal("0.001"),
            max_qty=Decimal(100),
            max_market_qty=Decimal(100),
            min_notional=Decimal(5),
            max_leverage=Decimal(100),
        )
