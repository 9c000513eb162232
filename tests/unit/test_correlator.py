"""The two-event correlator: one change per confirmed size change, whatever order the topics arrive in."""

from __future__ import annotations

from decimal import Decimal
from itertools import permutations

import pytest

from runtime.domain.correlator import MasterCorrelator
from runtime.domain.correlator_state import CorrelatorOutput, MasterLegState
from runtime.domain.events import ChangeKind, Lifecycle, MasterPositionChanged
from runtime.domain.master_messages import (
    ExecutionMsg,
    MasterMessage,
    OrderMsg,
    PositionMsg,
    WalletMsg,
    parse_private_frame,
)
from runtime.domain.positions import LegKey
from runtime.domain.values import ZERO, PositionIdx, Side

BTC = "BTCUSDT"
LEG0 = LegKey(BTC, PositionIdx.ONE_WAY)
LONG = LegKey(BTC, PositionIdx.HEDGE_LONG)
SHORT = LegKey(BTC, PositionIdx.HEDGE_SHORT)
TIMEOUT = 5.0


def execution(
    exec_id: str, seq: int, *, order_id: str = "o1", qty: str = "0.01", exec_type: str = "Trade", symbol: str = BTC
) -> ExecutionMsg:
    return ExecutionMsg(
        symbol=symbol,
        exec_id=exec_id,
        order_id=order_id,
        order_link_id="",
        side=Side.BUY,
        exec_qty=Decimal(qty),
        exec_price=Decimal(30000),
        exec_type=exec_type,
        seq=seq,
        exec_time_ms=1_700_000_000_000,
    )


def order(order_id: str = "o1", *, idx: PositionIdx = PositionIdx.ONE_WAY, symbol: str = BTC) -> OrderMsg:
    return OrderMsg(
        order_id=order_id,
        order_link_id="",
        symbol=symbol,
        side=Side.BUY,
        position_idx=idx,
        order_status="Filled",
        qty=Decimal("0.01"),
        cum_exec_qty=Decimal("0.01"),
    )


def position(
    size: str, seq: int, *, idx: PositionIdx = PositionIdx.ONE_WAY, im: str = "30", leverage: str = "10"
) -> PositionMsg:
    signed = Decimal(size)
    side = None if signed == 0 else (Side.BUY if signed > 0 else Side.SELL)
    return PositionMsg(
        symbol=BTC,
        position_idx=idx,
        side=side,
        size=abs(signed),
        position_im=Decimal(im),
        leverage=Decimal(leverage),
        entry_price=Decimal(30000),
        mark_price=Decimal(30010),
        seq=seq,
    )


def seeded(*positions: PositionMsg, equity: str = "1000") -> MasterCorrelator:
    correlator = MasterCorrelator("m1", pending_timeout_s=TIMEOUT)
    correlator.seed(positions or (position("0", 10),), Decimal(equity))
    return correlator


def pending(correlator: MasterCorrelator) -> tuple[str, ...]:
    return correlator.pending_exec_ids


def state(correlator: MasterCorrelator, leg: LegKey) -> MasterLegState:
    known = correlator.leg_state(leg)
    assert known is not None, f"{leg} should be known"
    return known


def changes_of(outputs: list[CorrelatorOutput]) -> list[MasterPositionChanged]:
    return [change for output in outputs for change in output.changes]


def feed(correlator: MasterCorrelator, *messages: MasterMessage, now: float = 1.0) -> list[MasterPositionChanged]:
    return changes_of([correlator.on_message(message, now) for message in messages])


# --- arrival orders --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arrival", list(permutations(["order", "execution", "position"])))
@pytest.mark.parametrize("start", ["seeded one-way", "unseeded"])
def test_every_arrival_order_emits_exactly_one_change(arrival: tuple[str, ...], start: str) -> None:
    correlator = seeded() if start == "seeded one-way" else MasterCorrelator("m1", pending_timeout_s=TIMEOUT)
    messages: dict[str, MasterMessage] = {
        "order": order(),
        "execution": execution("e1", 11),
        "position": position("0.01", 11),
    }

    changes = feed(correlator, *(messages[name] for name in arrival))

    assert len(changes) == 1
    change = changes[0]
    assert (change.kind, change.prev_size, change.new_size, change.seq) == (ChangeKind.OPEN, ZERO, Decimal("0.01"), 11)
    # The fill is attached unless the position message came before it (then the change is emitted at once).
    position_first = arrival.index("position") < arrival.index("execution")
    assert change.exec_ids == (() if position_first else ("e1",))
    assert pending(correlator) == ()
    assert correlator.poll(100.0).fetch_requests == ()


def test_hedge_fill_waits_for_its_order_message_and_is_then_recognised_as_covered() -> None:
    correlator = seeded(position("0", 10, idx=PositionIdx.HEDGE_LONG), position("0", 10, idx=PositionIdx.HEDGE_SHORT))
    assert feed(correlator, execution("e1", 11)) == []
    assert pending(correlator) == ("e1",)  # hedge mode: the leg is unknown until the order message

    changes = feed(correlator, position("0.01", 11, idx=PositionIdx.HEDGE_LONG), order(idx=PositionIdx.HEDGE_LONG))

    assert [(c.leg, c.kind, c.exec_ids) for c in changes] == [(LONG, ChangeKind.OPEN, ())]
    assert pending(correlator) == ()


def test_order_message_moves_a_fill_parked_on_a_leg_guessed_from_the_mode() -> None:
    correlator = seeded()  # the symbol was one-way at start; the master has since switched to hedge mode
    feed(correlator, execution("e1", 11), order(idx=PositionIdx.HEDGE_LONG))

    changes = feed(correlator, position("0.01", 11, idx=PositionIdx.HEDGE_LONG))

    assert [(c.leg, c.exec_ids) for c in changes] == [(LONG, ("e1",))]


# --- dedupe, duplicates and no-ops -----------------------------------------------------------------------------


def test_duplicate_executions_count_once_also_after_a_replay() -> None:
    correlator = seeded()
    changes = feed(correlator, order(), execution("e1", 11), execution("e1", 11), position("0.01", 11))
    assert [c.exec_ids for c in changes] == [("e1",)]

    # A reconnect replays the same fill: already seen, nothing parks, no fetch is ever requested.
    assert feed(correlator, execution("e1", 11), now=2.0) == []
    assert pending(correlator) == ()
    assert correlator.poll(2.0 + TIMEOUT).fetch_requests == ()


def test_late_fill_with_a_new_exec_id_but_covered_seq_emits_nothing() -> None:
    correlator = seeded()
    assert len(feed(correlator, position("0.01", 11))) == 1
    assert feed(correlator, order(), execution("e1", 11)) == []
    assert pending(correlator) == ()


def test_duplicate_position_message_emits_nothing() -> None:
    correlator = seeded()
    assert len(feed(correlator, order(), execution("e1", 11), position("0.01", 11))) == 1
    assert feed(correlator, position("0.01", 11)) == []


def test_position_message_without_size_change_emits_nothing() -> None:
    correlator = seeded(position("0.01", 10))
    assert feed(correlator, position("0.01", 10)) == []  # Bybit sends one on every order create/amend/cancel
    assert state(correlator, LEG0).size == Decimal("0.01")


def test_leverage_only_change_keeps_size_and_lifecycle() -> None:
    correlator = seeded(position("0.01", 10, leverage="10"))
    lifecycle = state(correlator, LEG0).lifecycle

    changes = feed(correlator, position("0.01", 10, leverage="20", im="15"))

    assert len(changes) == 1
    change = changes[0]
    assert change.kind is ChangeKind.LEVERAGE_ONLY
    assert change.prev_size == change.new_size == Decimal("0.01")
    assert change.leverage == Decimal(20)
    assert change.lifecycle == lifecycle
    assert feed(correlator, position("0.01", 10, leverage="20", im="15")) == []  # same leverage again: nothing


def test_fills_netting_out_are_cleared_as_no_ops() -> None:
    correlator = seeded(position("0.01", 10))
    feed(correlator, order(), execution("e1", 11), execution("e2", 12))

    output = correlator.on_position(position("0.01", 12), 1.0)

    assert output.changes == ()
    assert output.cleared_exec_ids == ("e1", "e2")
    assert pending(correlator) == ()


# --- execution types -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exec_type", "new_size", "kind"),
    [("AdlTrade", "0.004", ChangeKind.PARTIAL_CLOSE), ("BustTrade", "0", ChangeKind.FULL_CLOSE)],
)
def test_adl_and_liquidation_fills_are_changes_like_any_other(exec_type: str, new_size: str, kind: ChangeKind) -> None:
    correlator = seeded(position("0.01", 10))
    lifecycle = state(correlator, LEG0).lifecycle

    changes = feed(correlator, execution("x1", 11, exec_type=exec_type, order_id="liq"), order("liq"))
    changes += feed(correlator, position(new_size, 11))

    assert [(c.kind, c.exec_ids, c.exec_types) for c in changes] == [(kind, ("x1",), (exec_type,))]
    assert changes[0].lifecycle == lifecycle


def test_funding_is_ignored() -> None:
    correlator = seeded(position("0.01", 10))
    assert feed(correlator, order(), execution("f1", 11, exec_type="Funding")) == []
    assert pending(correlator) == ()
    assert correlator.poll(1.0 + 10 * TIMEOUT).fetch_requests == ()


def test_several_fills_sharing_one_seq_make_one_change() -> None:
    correlator = seeded()
    changes = feed(
        correlator,
        order(),
        execution("e1", 11, qty="0.004"),
        execution("e2", 11, qty="0.006"),
        position("0.01", 11),
    )
    assert [(c.new_size, c.exec_ids) for c in changes] == [(Decimal("0.01"), ("e1", "e2"))]


# --- timeouts and REST reads -----------------------------------------------------------------------------------


def test_timed_out_fill_is_fetched_over_rest_and_resolved() -> None:
    correlator = seeded()
    feed(correlator, order(), execution("e1", 11), now=100.0)

    assert correlator.poll(100.0 + TIMEOUT - 0.1).fetch_requests == ()
    first = correlator.poll(100.0 + TIMEOUT)
    assert first.fetch_requests == (LEG0,)
    assert first.fetch_symbols == (BTC,)
    assert correlator.poll(100.0 + TIMEOUT + 1).fetch_requests == ()  # not asked again at once...
    assert correlator.poll(100.0 + 2 * TIMEOUT).fetch_requests == (LEG0,)  # ...but again while still unresolved
    assert pending(correlator) == ("e1",)  # never dropped while waiting

    output = correlator.on_rest_position(position("0.01", 11), 111.0)

    assert [(c.kind, c.exec_ids, c.received_at) for c in output.changes] == [(ChangeKind.OPEN, ("e1",), 111.0)]
    assert pending(correlator) == ()
    assert correlator.poll(200.0).fetch_requests == ()


def test_rest_read_with_unchanged_size_clears_the_fill_as_a_no_op() -> None:
    correlator = seeded(position("0.01", 10))
    feed(correlator, order(), execution("e1", 11))
    assert correlator.poll(1.0 + TIMEOUT).fetch_requests == (LEG0,)

    output = correlator.on_rest_position(position("0.01", 11), 7.0)

    assert (output.changes, output.cleared_exec_ids) == ((), ("e1",))
    assert pending(correlator) == ()


def test_rest_read_that_has_not_reached_the_fill_keeps_it_for_one_more_read() -> None:
    correlator = seeded(position("0.01", 10))
    feed(correlator, order(), execution("e1", 12))

    first = correlator.on_rest_position(position("0.01", 10), 7.0)
    assert (first.changes, first.cleared_exec_ids, pending(correlator)) == ((), (), ("e1",))
    second = correlator.on_rest_position(position("0.01", 10), 13.0)
    assert (second.changes, second.cleared_exec_ids, pending(correlator)) == ((), ("e1",), ())


def test_fill_without_order_message_in_hedge_mode_requests_its_symbol() -> None:
    correlator = seeded(position("0", 10, idx=PositionIdx.HEDGE_LONG), position("0", 10, idx=PositionIdx.HEDGE_SHORT))
    feed(correlator, execution("e1", 11))

    assert correlator.poll(1.0 + TIMEOUT).fetch_requests == (BTC,)
    changes = changes_of(
        [
            correlator.on_rest_position(position("0.01", 11, idx=PositionIdx.HEDGE_LONG), 7.0),
            correlator.on_rest_position(position("0", 10, idx=PositionIdx.HEDGE_SHORT), 7.0),
        ]
    )
    assert [(c.leg, c.kind) for c in changes] == [(LONG, ChangeKind.OPEN)]
    assert pending(correlator) == ()


def test_stale_position_message_is_ignored() -> None:
    correlator = seeded()
    feed(correlator, position("0.02", 12))
    assert feed(correlator, position("0.01", 11)) == []
    assert correlator.on_rest_position(position("0.01", 11), 2.0).changes == ()
    assert state(correlator, LEG0).size == Decimal("0.02")


# --- lifecycles ------------------------------------------------------------------------------------------------


def test_open_records_confirmed_im_and_latest_equity_and_keeps_them_for_the_lifecycle() -> None:
    correlator = seeded(equity="1000")
    feed(correlator, WalletMsg(Decimal("2500")))
    opened = feed(correlator, position("0.01", 11, im="30"))[0]
    increased = feed(correlator, position("0.03", 12, im="95"))[0]
    closed = feed(correlator, position("0", 13, im="0"))[0]

    assert opened.lifecycle == Lifecycle(Lifecycle.make_id(LEG0, 11), Decimal(30), Decimal(2500), 11)
    assert increased.kind is ChangeKind.INCREASE
    assert increased.lifecycle == opened.lifecycle and increased.position_im == Decimal(95)
    assert closed.kind is ChangeKind.FULL_CLOSE and closed.lifecycle == opened.lifecycle
    assert state(correlator, LEG0).lifecycle is None
    reopened = feed(correlator, position("0.01", 14))[0]
    assert reopened.lifecycle is not None and opened.lifecycle is not None
    assert reopened.lifecycle.id != opened.lifecycle.id


def test_open_without_wallet_message_uses_seeded_equity() -> None:
    correlator = seeded(equity="1234.5")
    opened = feed(correlator, position("0.01", 11))[0]
    assert opened.lifecycle is not None and opened.lifecycle.open_equity == Decimal("1234.5")


def test_flip_ends_one_lifecycle_and_starts_the_next() -> None:
    correlator = seeded()
    opened = feed(correlator, position("0.01", 11, im="30"))[0]
    flipped = feed(correlator, position("-0.02", 12, im="60"))[0]

    assert flipped.kind is ChangeKind.FLIP
    assert opened.lifecycle is not None and flipped.lifecycle is not None
    assert flipped.previous_lifecycle_id == opened.lifecycle.id
    assert flipped.lifecycle.id == Lifecycle.make_id(LEG0, 12)
    assert flipped.lifecycle.open_im == Decimal(60)


def test_hedge_legs_have_independent_lifecycles() -> None:
    correlator = seeded(position("0", 10, idx=PositionIdx.HEDGE_LONG), position("0", 10, idx=PositionIdx.HEDGE_SHORT))
    feed(correlator, order("a", idx=PositionIdx.HEDGE_LONG), order("b", idx=PositionIdx.HEDGE_SHORT))
    long_open = feed(correlator, execution("e1", 11, order_id="a"), position("0.01", 11, idx=PositionIdx.HEDGE_LONG))
    short_open = feed(correlator, execution("e2", 12, order_id="b"), position("-0.02", 12, idx=PositionIdx.HEDGE_SHORT))
    long_close = feed(correlator, position("0", 13, idx=PositionIdx.HEDGE_LONG))
    short_more = feed(correlator, position("-0.03", 14, idx=PositionIdx.HEDGE_SHORT))

    assert [c.exec_ids for c in long_open + short_open] == [("e1",), ("e2",)]
    long_cycle, short_cycle = long_open[0].lifecycle, short_open[0].lifecycle
    assert long_cycle is not None and short_cycle is not None and long_cycle.id != short_cycle.id
    assert (long_close[0].kind, long_close[0].lifecycle) == (ChangeKind.FULL_CLOSE, long_cycle)
    assert (short_more[0].kind, short_more[0].lifecycle) == (ChangeKind.INCREASE, short_cycle)


def test_seed_adopts_open_positions_and_persisted_lifecycles() -> None:
    persisted = Lifecycle("BTCUSDT:1:3", Decimal(7), Decimal(900), 3)
    correlator = MasterCorrelator("m1", pending_timeout_s=TIMEOUT)
    correlator.seed(
        [position("0.01", 10, im="30"), position("0.02", 8, idx=PositionIdx.HEDGE_LONG)],
        Decimal(1000),
        lifecycles={LONG: persisted},
    )

    adopted = state(correlator, LEG0).lifecycle
    assert adopted == Lifecycle(Lifecycle.make_id(LEG0, 10), Decimal(30), Decimal(1000), 10)
    assert state(correlator, LONG).lifecycle == persisted
    assert [state.leg for state in correlator.snapshot()] == [LEG0, LONG]
    assert correlator.equity == Decimal(1000)


def test_snapshot_reports_confirmed_leg_states() -> None:
    correlator = seeded()
    feed(correlator, position("-0.5", 11, im="1500", leverage="5"))
    (state,) = correlator.snapshot()
    assert (state.leg, state.size, state.seq, state.position_im, state.leverage) == (
        LEG0,
        Decimal("-0.5"),
        11,
        Decimal(1500),
        Decimal(5),
    )
    assert state.lifecycle is not None and state.lifecycle.opened_seq == 11


# --- raw frames end to end -------------------------------------------------------------------------------------


def test_raw_bybit_frames_flow_through_parser_and_correlator() -> None:
    correlator = MasterCorrelator("m1", pending_timeout_s=TIMEOUT)
    correlator.seed([], Decimal(0))
    frames = [
        {"topic": "wallet", "data": [{"accountType": "UNIFIED", "totalEquity": "5000.5"}]},
        {
            "topic": "execution",
            "data": [
                {"category": "linear", "symbol": BTC, "execId": "x-1", "orderId": "o-1", "orderLinkId": "",
                 "side": "Sell", "execQty": "0.002", "execPrice": "30000.5", "execType": "Trade", "seq": 4401,
                 "execTime": "1700"},
            ],
        },
        {
            "topic": "position",
            "data": [
                {"category": "linear", "symbol": BTC, "side": "Sell", "size": "0.002", "positionIdx": 0,
                 "entryPrice": "30000.5", "markPrice": "30001", "leverage": "10", "positionIM": "6.0001",
                 "seq": 4401, "updatedTime": "1701"},
            ],
        },
        {
            "topic": "order",
            "data": [
                {"category": "linear", "orderId": "o-1", "orderLinkId": "", "symbol": BTC, "side": "Sell",
                 "positionIdx": 0, "orderStatus": "Filled", "qty": "0.002", "cumExecQty": "0.002"},
            ],
        },
    ]  # fmt: skip
    outputs = []
    for frame in frames:
        for message in parse_private_frame(frame):
            outputs.extend(feed(correlator, message))

    assert len(outputs) == 1
    change = outputs[0]
    assert (change.new_size, change.position_im, change.exec_ids) == (Decimal("-0.002"), Decimal("6.0001"), ("x-1",))
    assert change.lifecycle is not None and change.lifecycle.open_equity == Decimal("5000.5")
    assert change.prev_size == ZERO
