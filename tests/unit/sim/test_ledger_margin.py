"""Cross-margin arithmetic of the simulators against hand-computed examples."""

from decimal import Decimal as D

import pytest

from runtime.domain.values import PositionMode, Side
from runtime.sim.ledger import apply_fill
from runtime.sim.matching import MatchingEngine
from runtime.sim.model import Order, OrderRejected, OrderType, RejectionKind, TimeInForce
from tests.unit.sim.conftest import make_engine


def market(
    engine: MatchingEngine,
    side: Side,
    qty: str,
    *,
    account: str = "alice",
    symbol: str = "BTCUSDT",
    idx: int = 0,
    reduce_only: bool = False,
    client_id: str = "",
) -> Order:
    return engine.place_order(
        account,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=OrderType.MARKET,
        position_idx=idx,
        reduce_only=reduce_only,
        client_id=client_id,
    )


def test_apply_fill_weighted_entry_on_increase():
    outcome = apply_fill(D("0.1"), D("50000"), D("0.1"), D("52000"))
    assert (outcome.new_size, outcome.new_entry, outcome.realized_pnl) == (D("0.2"), D("51000"), D(0))


def test_apply_fill_partial_close_realizes_pnl_and_keeps_entry():
    outcome = apply_fill(D("0.2"), D("51000"), D("-0.05"), D("53000"))
    assert outcome.new_size == D("0.15")
    assert outcome.new_entry == D("51000")
    assert outcome.realized_pnl == D("100")  # 0.05 x (53000 - 51000)
    assert outcome.closed_size == D("0.05")


def test_apply_fill_flip_closes_then_opens_at_fill_price():
    outcome = apply_fill(D("0.1"), D("50000"), D("-0.3"), D("49000"))
    assert outcome.new_size == D("-0.2")
    assert outcome.new_entry == D("49000")
    assert outcome.realized_pnl == D("-100")  # 0.1 x (49000 - 50000)
    assert outcome.closed_size == D("0.1")


def test_apply_fill_short_close_gains_when_price_falls():
    outcome = apply_fill(D("-1"), D("3000"), D("1"), D("2900"))
    assert (outcome.new_size, outcome.new_entry, outcome.realized_pnl) == (D(0), D(0), D("100"))


def test_im_equity_available_after_open_and_mark_move(engine):
    market(engine, Side.BUY, "0.1")
    wallet = engine.wallet("alice")
    assert wallet.position_im == D("500")  # 0.1 x 50000 / 10
    assert (wallet.equity, wallet.available) == (D("10000"), D("9500"))
    engine.set_mark("BTCUSDT", D("52000"))
    wallet = engine.wallet("alice")
    assert wallet.unrealized_pnl == D("200")  # 0.1 x (52000 - 50000)
    assert (wallet.equity, wallet.available) == (D("10200"), D("9700"))


def test_leverage_change_changes_im(engine):
    market(engine, Side.BUY, "0.1")
    assert engine.set_leverage("alice", "BTCUSDT", D("20")) is True
    assert engine.wallet("alice").position_im == D("250")
    assert engine.set_leverage("alice", "BTCUSDT", D("20")) is False  # not modified


def test_refusal_when_added_im_exceeds_available():
    engine = make_engine()
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("bob", D("1000"))
    with pytest.raises(OrderRejected) as refused:
        market(engine, Side.BUY, "0.201", account="bob")  # IM 1005 > 1000
    assert refused.value.kind is RejectionKind.INSUFFICIENT_MARGIN
    assert refused.value.details == {"required": "1005", "available": "1000"}
    market(engine, Side.BUY, "0.2", account="bob")  # IM 1000 == available: accepted
    assert engine.wallet("bob").available == 0


def test_resting_limit_holds_margin(engine):
    engine.place_order(
        "alice",
        symbol="BTCUSDT",
        side=Side.BUY,
        qty=D("0.1"),
        order_type=OrderType.LIMIT,
        price=D("49000"),
        time_in_force=TimeInForce.GTC,
    )
    wallet = engine.wallet("alice")
    assert wallet.order_im == D("490")
    assert wallet.available == D("9510")


def test_partial_close_moves_realized_pnl_to_wallet(engine):
    market(engine, Side.BUY, "0.2")
    engine.set_mark("BTCUSDT", D("52000"))
    market(engine, Side.SELL, "0.05")
    wallet = engine.wallet("alice")
    assert wallet.wallet_balance == D("10100")  # 0.05 x 2000
    [position] = engine.positions("alice")
    assert (position.size, position.entry_price, position.realized_pnl) == (D("0.15"), D("50000"), D("100"))
    assert position.im == D("750")  # 0.15 x 50000 / 10 (entry, not mark)


def test_weighted_entry_on_increase(engine):
    market(engine, Side.BUY, "0.1")
    engine.set_mark("BTCUSDT", D("53000"))
    market(engine, Side.BUY, "0.2")
    [position] = engine.positions("alice")
    assert position.entry_price == D("52000")  # (0.1 x 50000 + 0.2 x 53000) / 0.3
    assert position.im == D("1560")


def test_one_way_flip(engine):
    market(engine, Side.BUY, "0.1")
    engine.set_mark("BTCUSDT", D("49000"))
    market(engine, Side.SELL, "0.3")
    [position] = engine.positions("alice")
    assert (position.side, position.size, position.entry_price) == (Side.SELL, D("0.2"), D("49000"))
    assert engine.wallet("alice").wallet_balance == D("9900")


def test_hedge_legs_are_independent():
    engine = make_engine()
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("h", D("10000"), PositionMode.HEDGE)
    market(engine, Side.BUY, "0.1", account="h", idx=1)
    market(engine, Side.SELL, "0.2", account="h", idx=2)
    legs = {p.position_idx: p for p in engine.positions("h")}
    assert legs[1].signed_size == D("0.1") and legs[2].signed_size == D("-0.2")
    assert engine.wallet("h").position_im == D("1500")
    engine.set_mark("BTCUSDT", D("51000"))
    assert engine.wallet("h").unrealized_pnl == D("-100")  # +100 long, -200 short
    market(engine, Side.SELL, "0.1", account="h", idx=1)  # a Sell on the long leg closes it
    legs = {p.position_idx: p for p in engine.positions("h")}
    assert list(legs) == [2]
    assert engine.wallet("h").wallet_balance == D("10100")
    with pytest.raises(OrderRejected) as refused:
        market(engine, Side.BUY, "0.1", account="h", idx=0)
    assert refused.value.kind is RejectionKind.POSITION_IDX_MISMATCH


def test_taker_fee_is_charged_to_the_wallet():
    engine = make_engine(taker_fee_rate=D("0.001"))
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("f", D("10000"))
    market(engine, Side.BUY, "0.1", account="f")
    [fill] = engine.account("f").fills
    assert fill.fee == D("5")  # 0.1 x 50000 x 0.001
    assert engine.wallet("f").wallet_balance == D("9995")


def test_leverage_is_capped_by_default_and_range_checked(engine):
    assert engine.leverage("alice", "1000PEPEUSDT") == D("10")
    with pytest.raises(OrderRejected) as refused:
        engine.set_leverage("alice", "1000PEPEUSDT", D("26"))  # max 25 on Bybit
    assert refused.value.kind is RejectionKind.LEVERAGE_OUT_OF_RANGE


def test_mode_switch_refused_with_position_then_allowed(engine):
    market(engine, Side.BUY, "0.1")
    with pytest.raises(OrderRejected) as refused:
        engine.set_position_mode("alice", PositionMode.HEDGE)
    assert refused.value.kind is RejectionKind.MODE_CHANGE_WITH_POSITION
    market(engine, Side.SELL, "0.1", reduce_only=True)
    assert engine.set_position_mode("alice", PositionMode.HEDGE) is True
    assert engine.set_position_mode("alice", PositionMode.HEDGE) is False
