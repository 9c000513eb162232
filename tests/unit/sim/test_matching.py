"""Matching: prices, IOC and GTC behaviour, every rejection kind, look-ups, liquidation and ADL events."""

from decimal import Decimal as D
from typing import Any

import pytest

from runtime.domain.instruments import InstrumentRules
from runtime.domain.values import PositionMode, Side, Venue
from runtime.sim.catalogue import Catalogue, SimInstrument
from runtime.sim.events import FillEvent, OrderChange, OrderEvent, PositionChange, PositionEvent, WalletEvent
from runtime.sim.matching import MatchingEngine
from runtime.sim.model import (
    DuplicateScope,
    ExecType,
    Order,
    OrderRejected,
    OrderStatus,
    OrderType,
    ReduceOnlyPolicy,
    RejectionKind,
    TimeInForce,
)
from tests.unit.sim.conftest import Recorder, make_engine

MKT, LMT = OrderType.MARKET, OrderType.LIMIT


def order(
    engine: MatchingEngine,
    side: Side,
    qty: str,
    *,
    account: str = "alice",
    symbol: str = "BTCUSDT",
    kind: OrderType = MKT,
    price: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
    reduce_only: bool = False,
    idx: int = 0,
    client_id: str = "",
) -> Order:
    return engine.place_order(
        account,
        symbol=symbol,
        side=side,
        qty=D(qty),
        order_type=kind,
        price=None if price is None else D(price),
        time_in_force=tif,
        reduce_only=reduce_only,
        position_idx=idx,
        client_id=client_id,
    )


def test_market_fills_at_mark_plus_slippage_rounded_away_from_taker():
    engine = make_engine(slippage_bps=D("10"))
    engine.set_mark("BTCUSDT", D("50000"))
    engine.set_mark("ETHUSDT", D("3000.01"))
    engine.create_account("a", D("100000"))
    assert order(engine, Side.BUY, "0.1", account="a").avg_price == D("50050")
    assert order(engine, Side.SELL, "0.2", account="a").avg_price == D("49950")
    # 3000.01 x 1.001 = 3003.01001 -> up to the 0.01 tick for a buy
    assert order(engine, Side.BUY, "1", account="a", symbol="ETHUSDT").avg_price == D("3003.02")


def test_market_fill_publishes_one_batch_sharing_seq(engine, events):
    placed = order(engine, Side.BUY, "0.1", client_id="c1")
    assert placed.status is OrderStatus.FILLED and placed.filled_qty == D("0.1")
    batch = events.batches[-1]
    assert events.kinds() == ["OrderEvent", "FillEvent", "OrderEvent", "PositionEvent", "WalletEvent"]
    created, fill_event, filled, position, wallet = batch
    assert isinstance(created, OrderEvent) and created.change is OrderChange.CREATED
    assert isinstance(filled, OrderEvent) and filled.change is OrderChange.FILLED
    assert isinstance(fill_event, FillEvent) and isinstance(position, PositionEvent)
    assert isinstance(wallet, WalletEvent) and wallet.wallet.available == D("9500")
    fill = fill_event.fill
    assert (fill.exec_type, fill.price, fill.qty, fill.client_id, fill.closed_size) == (
        ExecType.TRADE,
        D("50000"),
        D("0.1"),
        "c1",
        D(0),
    )
    assert fill.seq == position.position.seq == 1
    assert position.change is PositionChange.FILL and fill.position.signed_size == D("0.1")
    order(engine, Side.SELL, "0.05")
    second = events.batches[-1][1]
    assert isinstance(second, FillEvent) and second.fill.seq == 2 and second.fill.closed_size == D("0.05")


def test_ioc_limit_that_does_not_cross_is_cancelled(engine, events):
    placed = order(engine, Side.BUY, "0.1", kind=LMT, price="49000", tif=TimeInForce.IOC)
    assert placed.status is OrderStatus.CANCELLED
    assert placed.cancel_reason is RejectionKind.IOC_NOT_MATCHED
    assert engine.positions("alice") == []
    assert [e.change for e in events.batches[-1] if isinstance(e, OrderEvent)] == [
        OrderChange.CREATED,
        OrderChange.CANCELLED,
    ]
    crossing = order(engine, Side.BUY, "0.1", kind=LMT, price="50100", tif=TimeInForce.IOC)
    assert crossing.status is OrderStatus.FILLED and crossing.avg_price == D("50000")


def test_gtc_limit_rests_until_the_mark_crosses(engine, events):
    resting = order(engine, Side.BUY, "0.1", kind=LMT, price="49000.5")
    assert resting.status is OrderStatus.NEW
    touch = events.batches[-1]
    assert [type(e).__name__ for e in touch] == ["OrderEvent", "PositionEvent", "WalletEvent"]
    assert isinstance(touch[1], PositionEvent) and touch[1].change is PositionChange.TOUCH
    assert engine.set_mark("BTCUSDT", D("49500")) == []
    [fill] = engine.set_mark("BTCUSDT", D("49000"))
    assert (fill.price, fill.is_maker) == (D("49000.5"), True)
    assert engine.find_order("alice", order_id=resting.order_id).status is OrderStatus.FILLED
    assert engine.wallet("alice").unrealized_pnl == D("-0.05")  # 0.1 x (49000 - 49000.5)


def test_gtc_limit_crossing_at_placement_takes_at_the_mark(engine):
    placed = order(engine, Side.BUY, "0.1", kind=LMT, price="51000")
    assert placed.status is OrderStatus.FILLED and placed.avg_price == D("50000")


def test_resting_reduce_only_is_capped_or_cancelled_at_fill(engine):
    order(engine, Side.BUY, "0.1")
    resting = order(engine, Side.SELL, "0.1", kind=LMT, price="51000", reduce_only=True)
    order(engine, Side.SELL, "0.1", reduce_only=True)  # position closed meanwhile
    assert engine.set_mark("BTCUSDT", D("51000")) == []
    cancelled = engine.find_order("alice", order_id=resting.order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.cancel_reason is RejectionKind.REDUCE_ONLY_ZERO_POSITION


REJECTIONS: list[tuple[RejectionKind, dict[str, Any], dict[str, Any]]] = [
    # (kind, engine settings, venue, setup orders, the refused order kwargs)
    (RejectionKind.UNKNOWN_SYMBOL, {}, dict(symbol="NOPEUSDT")),
    (RejectionKind.QTY_NOT_POSITIVE, {}, dict(qty="0")),
    (RejectionKind.QTY_NOT_ON_STEP, {}, dict(qty="0.0015")),
    (RejectionKind.ABOVE_MAX_MARKET_QTY, {}, dict(qty="501")),
    (RejectionKind.ABOVE_MAX_QTY, {}, dict(qty="1191", kind=LMT, price="40000")),
    (RejectionKind.BELOW_MIN_NOTIONAL, {}, dict(symbol="DOGEUSDT", qty="10")),
    (RejectionKind.PRICE_REQUIRED, {}, dict(kind=LMT)),
    (RejectionKind.PRICE_NOT_POSITIVE, {}, dict(kind=LMT, price="0")),
    (RejectionKind.PRICE_NOT_ON_TICK, {}, dict(kind=LMT, price="50000.05")),
    (RejectionKind.REDUCE_ONLY_ZERO_POSITION, {}, dict(reduce_only=True)),
    (RejectionKind.POSITION_IDX_MISMATCH, {}, dict(idx=1)),
    (RejectionKind.INSUFFICIENT_MARGIN, {}, dict(qty="2.1")),
    (RejectionKind.UNKNOWN_ACCOUNT, {}, dict(account="nobody")),
]


@pytest.mark.parametrize(("kind", "settings", "kwargs"), REJECTIONS, ids=[r[0].value for r in REJECTIONS])
def test_rule_rejections(kind, settings, kwargs):
    engine = make_engine(**settings)
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("alice", D("10000"))
    args = dict(side=Side.BUY, qty="0.001") | kwargs
    side, qty = args.pop("side"), args.pop("qty")
    with pytest.raises(OrderRejected) as refused:
        order(engine, side, qty, **args)
    assert refused.value.kind is kind
    assert refused.value.message


def test_qty_step_rejection_carries_the_numbers(engine):
    with pytest.raises(OrderRejected) as refused:
        order(engine, Side.BUY, "0.0015")
    assert refused.value.details == {"qty": "0.0015", "step": "0.001"}


def test_reduce_only_would_increase_and_exceeds_position():
    engine = make_engine(reduce_only_policy=ReduceOnlyPolicy.REJECT)
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("alice", D("10000"))
    order(engine, Side.BUY, "0.1")
    with pytest.raises(OrderRejected) as increase:
        order(engine, Side.BUY, "0.1", reduce_only=True)
    assert increase.value.kind is RejectionKind.REDUCE_ONLY_WOULD_INCREASE
    with pytest.raises(OrderRejected) as exceeds:
        order(engine, Side.SELL, "0.2", reduce_only=True)
    assert exceeds.value.kind is RejectionKind.REDUCE_ONLY_EXCEEDS_POSITION


def test_reduce_only_larger_than_position_is_capped_by_default(engine):
    order(engine, Side.BUY, "0.1")
    capped = order(engine, Side.SELL, "0.5", reduce_only=True)
    assert capped.filled_qty == D("0.1")
    assert engine.positions("alice") == []


def test_min_notional_exempts_reduce_only_on_binance():
    engine = make_engine(Venue.BINANCE)
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("alice", D("10000"))
    with pytest.raises(OrderRejected) as refused:
        order(engine, Side.BUY, "0.001")  # 50 < 100
    assert refused.value.kind is RejectionKind.BELOW_MIN_NOTIONAL
    assert refused.value.details["min_notional"] == "100"
    order(engine, Side.BUY, "0.003")
    closed = order(engine, Side.SELL, "0.001", reduce_only=True)
    assert closed.status is OrderStatus.FILLED


def test_duplicate_client_id_all_orders_scope(engine):
    order(engine, Side.BUY, "0.001", client_id="dup")
    with pytest.raises(OrderRejected) as refused:
        order(engine, Side.BUY, "0.001", client_id="dup")
    assert refused.value.kind is RejectionKind.DUPLICATE_CLIENT_ID
    # Checked before anything else: a retry is recognised even if it would now fail a rule.
    with pytest.raises(OrderRejected) as again:
        order(engine, Side.BUY, "0.0015", client_id="dup")
    assert again.value.kind is RejectionKind.DUPLICATE_CLIENT_ID


def test_duplicate_client_id_open_orders_scope():
    engine = make_engine(duplicate_scope=DuplicateScope.OPEN_ORDERS)
    engine.set_mark("BTCUSDT", D("50000"))
    engine.create_account("alice", D("10000"))
    first = order(engine, Side.BUY, "0.001", client_id="dup")
    second = order(engine, Side.BUY, "0.001", client_id="dup")  # the first is filled: reuse allowed
    assert engine.find_order("alice", client_id="dup").order_id == second.order_id != first.order_id
    order(engine, Side.BUY, "0.001", kind=LMT, price="40000", client_id="rest")
    with pytest.raises(OrderRejected) as refused:
        order(engine, Side.BUY, "0.001", client_id="rest")
    assert refused.value.kind is RejectionKind.DUPLICATE_CLIENT_ID


def test_lookup_cancel_and_not_found(engine, events):
    resting = order(engine, Side.BUY, "0.01", kind=LMT, price="45000", client_id="look")
    assert engine.find_order("alice", client_id="look") == resting
    assert engine.open_orders("alice", "BTCUSDT") == [resting]
    cancelled = engine.cancel_order("alice", client_id="look")
    assert cancelled.status is OrderStatus.CANCELLED
    assert [type(e).__name__ for e in events.batches[-1]] == ["OrderEvent", "PositionEvent", "WalletEvent"]
    assert engine.wallet("alice").order_im == 0
    with pytest.raises(OrderRejected) as not_open:
        engine.cancel_order("alice", client_id="look")
    with pytest.raises(OrderRejected) as unknown_client_id:
        engine.find_order("alice", client_id="never")
    with pytest.raises(OrderRejected) as unknown_id:
        engine.find_order("alice", order_id=42)
    for refused in (not_open, unknown_client_id, unknown_id):
        assert refused.value.kind is RejectionKind.ORDER_NOT_FOUND


def test_mode_switch_refused_with_open_orders(engine):
    order(engine, Side.BUY, "0.01", kind=LMT, price="45000")
    with pytest.raises(OrderRejected) as refused:
        engine.set_position_mode("alice", PositionMode.HEDGE)
    assert refused.value.kind is RejectionKind.MODE_CHANGE_WITH_ORDERS


def test_liquidation_closes_the_leg_at_the_mark_with_bust_trade(engine, events):
    order(engine, Side.BUY, "0.1")
    engine.set_mark("BTCUSDT", D("46000"))
    fill = engine.liquidate("alice", "BTCUSDT", 0)
    assert (fill.exec_type, fill.side, fill.qty, fill.price) == (ExecType.BUST, Side.SELL, D("0.1"), D("46000"))
    assert fill.seq == 2 and fill.position.size == 0
    kinds = events.kinds()
    assert kinds == ["OrderEvent", "FillEvent", "OrderEvent", "PositionEvent", "WalletEvent"]
    position_event = events.batches[-1][3]
    assert isinstance(position_event, PositionEvent) and position_event.position.seq == fill.seq
    assert engine.wallet("alice").wallet_balance == D("9600")
    with pytest.raises(OrderRejected) as flat:
        engine.liquidate("alice", "BTCUSDT", 0)
    assert flat.value.kind is RejectionKind.NO_POSITION


def test_adl_reduces_by_qty_capped_at_the_position():
    engine = make_engine()
    engine.set_mark("ETHUSDT", D("3000"))
    engine.create_account("h", D("10000"), PositionMode.HEDGE)
    order(engine, Side.SELL, "2", account="h", symbol="ETHUSDT", idx=2)
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    fill = engine.adl("h", "ETHUSDT", D("0.5"), 2)
    assert (fill.exec_type, fill.side, fill.qty, fill.position.signed_size) == (
        ExecType.ADL,
        Side.BUY,
        D("0.5"),
        D("-1.5"),
    )
    assert fill.seq == 2
    assert engine.adl("h", "ETHUSDT", D("9"), 2).qty == D("1.5")
    assert engine.positions("h") == []
    fills = [e for batch in recorder.batches for e in batch if isinstance(e, FillEvent)]
    assert [f.fill.seq for f in fills] == [2, 3]


def test_a_failing_listener_does_not_undo_a_trade(engine):
    def broken(batch):
        raise RuntimeError("boom")

    engine.bus.subscribe(broken)
    assert order(engine, Side.BUY, "0.1").status is OrderStatus.FILLED
    assert engine.positions("alice")[0].size == D("0.1")


def test_below_min_qty_and_its_reduce_only_exemption_flag():
    rules = InstrumentRules(
        venue=Venue.BINANCE,
        symbol="TESTUSDT",
        qty_step=D("1"),
        tick_size=D("0.01"),
        min_qty=D("5"),
        max_qty=D("1000"),
        max_market_qty=D("100"),
        min_notional=D("0"),
        max_leverage=D("20"),
        reduce_only_exempt_min_qty=True,
    )
    engine = MatchingEngine(Catalogue(Venue.BINANCE, [SimInstrument(rules, "TEST", "USDT", D("10"))]))
    engine.create_account("alice", D("1000"))
    with pytest.raises(OrderRejected) as refused:
        order(engine, Side.BUY, "4", symbol="TESTUSDT")
    assert refused.value.kind is RejectionKind.BELOW_MIN_QTY
    assert refused.value.details == {"qty": "4", "min_qty": "5"}
    order(engine, Side.BUY, "5", symbol="TESTUSDT")
    assert order(engine, Side.SELL, "2", symbol="TESTUSDT", reduce_only=True).status is OrderStatus.FILLED
