"""The backend-independent contract every ``StateStore`` must pass.

A backend's test module subclasses ``StoreContract`` and overrides the ``store`` fixture (a fresh, empty store per
test); everything below then runs against it. Concurrency tests race real threads through a barrier, as the async
engine (via ``asyncio.to_thread``) and several Lambda invocations would.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

import pytest

from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.ports.store import (
    AlertState,
    ClaimNotFoundError,
    ClaimRecord,
    ClaimStatus,
    MasterSnapshot,
    OrderLogEntry,
    OrderOutcome,
    StateStore,
)

T = TypeVar("T")

EXACT_DECIMALS = [
    Decimal("0.00000001"),
    Decimal("123456789.123456789"),
    Decimal("-0.5"),
    Decimal("1.10"),
    Decimal("98765432109876543210.0123456789012345678901"),  # more digits than the default context keeps
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def make_claim(claim_id: str = "ct0001", **overrides: object) -> ClaimRecord:
    fields: dict[str, object] = {
        "claim_id": claim_id,
        "follower_id": "alice",
        "venue": Venue.BINANCE,
        "lifecycle_id": "BTCUSDT:0:100",
        "symbol": "BTCUSDT",
        "position_idx": PositionIdx.ONE_WAY,
        "seq": 101,
        "side": Side.BUY,
        "qty": Decimal("0.015"),
        "reduce_only": False,
        "created_ms": now_ms(),
    }
    fields.update(overrides)
    return ClaimRecord(**fields)  # type: ignore[arg-type]


def make_snapshot(seq: int, **overrides: object) -> MasterSnapshot:
    fields: dict[str, object] = {
        "master_id": "master",
        "symbol": "BTCUSDT",
        "position_idx": PositionIdx.ONE_WAY,
        "seq": seq,
        "size": Decimal("0.5"),
        "position_im": Decimal("1500.25"),
        "leverage": Decimal("10"),
        "entry_price": Decimal("60000.5"),
        "lifecycle": Lifecycle("BTCUSDT:0:100", Decimal("1500.25"), Decimal("10000"), 100),
        "updated_ms": 1_700_000_000_000 + seq,
        "last_activity_ms": 1_700_000_000_000 + seq,
    }
    fields.update(overrides)
    return MasterSnapshot(**fields)  # type: ignore[arg-type]


def make_alert(key: str = "alice:BTCUSDT:0:size_mismatch", **overrides: object) -> AlertState:
    fields: dict[str, object] = {
        "key": key,
        "kind": "size_mismatch",
        "follower_id": "alice",
        "symbol": "BTCUSDT",
        "position_idx": PositionIdx.ONE_WAY,
        "deviation_pct": Decimal("7.25"),
        "first_seen_ms": 1_700_000_000_000,
    }
    fields.update(overrides)
    return AlertState(**fields)  # type: ignore[arg-type]


def make_log(client_order_id: str, follower_id: str = "alice", **overrides: object) -> OrderLogEntry:
    fields: dict[str, object] = {
        "client_order_id": client_order_id,
        "follower_id": follower_id,
        "venue": Venue.BYBIT,
        "symbol": "ETHUSDT",
        "side": Side.SELL,
        "qty": Decimal("1.25"),
        "outcome": OrderOutcome.PLACED,
        "logged_ms": now_ms(),
    }
    fields.update(overrides)
    return OrderLogEntry(**fields)  # type: ignore[arg-type]


def race(workers: int, task: Callable[[int], T]) -> list[T]:
    """Run ``task(i)`` for i in range(workers) on that many threads released together by a barrier."""
    barrier = threading.Barrier(workers)

    def run(i: int) -> T:
        barrier.wait(timeout=10)
        return task(i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(workers)))


class StoreContract:
    """Subclass and override ``store`` to yield a fresh, empty store of your backend."""

    @pytest.fixture
    def store(self) -> Iterator[StateStore]:
        raise NotImplementedError("a backend's contract test must override the store fixture")

    # --- claims -----------------------------------------------------------------------------------------------
    def test_claim_once_then_refused(self, store: StateStore) -> None:
        claim = make_claim(result={"note": "first"})
        assert store.claim(claim) is True
        assert store.claim(make_claim(qty=Decimal("9"))) is False
        assert store.get_claim(claim.claim_id) == claim  # the loser did not overwrite anything

    def test_get_claim_unknown_is_none(self, store: StateStore) -> None:
        assert store.get_claim("nope") is None

    def test_claim_round_trips_every_field(self, store: StateStore) -> None:
        claim = make_claim(
            "0x" + "ab" * 16,
            venue=Venue.HYPERLIQUID,
            position_idx=PositionIdx.HEDGE_SHORT,
            side=Side.SELL,
            qty=Decimal("123456789.123456789"),
            reduce_only=True,
            seq=2**40,
            created_ms=1_700_000_000_123,
        )
        store.claim(claim)
        loaded = store.get_claim(claim.claim_id)
        assert loaded == claim
        assert loaded is not None and loaded.updated_ms == 1_700_000_000_123 and loaded.status is ClaimStatus.CLAIMED

    def test_finish_claim_records_outcome(self, store: StateStore) -> None:
        store.claim(make_claim("a"))
        store.finish_claim("a", ClaimStatus.PLACED, {"venue_order_id": "123", "avg_price": "60000.1"}, at_ms=42)
        loaded = store.get_claim("a")
        assert loaded is not None
        assert loaded.status is ClaimStatus.PLACED and loaded.is_finished
        assert dict(loaded.result) == {"venue_order_id": "123", "avg_price": "60000.1"}
        assert loaded.updated_ms == 42
        store.finish_claim("a", ClaimStatus.RECONCILED, {"venue_order_id": "123"})
        again = store.get_claim("a")
        assert again is not None and again.status is ClaimStatus.RECONCILED and again.updated_ms > 42

    def test_finish_unknown_claim_raises(self, store: StateStore) -> None:
        with pytest.raises(ClaimNotFoundError, match="missing-id"):
            store.finish_claim("missing-id", ClaimStatus.FAILED, {})

    def test_finish_claim_refuses_claimed_status(self, store: StateStore) -> None:
        store.claim(make_claim("a"))
        with pytest.raises(ValueError, match="outcome"):
            store.finish_claim("a", ClaimStatus.CLAIMED, {})

    def test_unfinished_claims(self, store: StateStore) -> None:
        now = now_ms()
        store.claim(make_claim("old", created_ms=now - 600_000))
        store.claim(make_claim("older", created_ms=now - 900_000))
        store.claim(make_claim("fresh", created_ms=now))
        store.claim(make_claim("done", created_ms=now - 900_000))
        store.finish_claim("done", ClaimStatus.REFUSED, {"reason": "min_notional"})
        assert [c.claim_id for c in store.unfinished_claims()] == ["older", "old", "fresh"]
        assert [c.claim_id for c in store.unfinished_claims(older_than_ms=60_000)] == ["older", "old"]
        assert store.unfinished_claims(older_than_ms=3_600_000) == []

    def test_concurrent_claims_of_one_id_have_one_winner(self, store: StateStore) -> None:
        outcomes = race(32, lambda i: store.claim(make_claim("same-id", follower_id=f"f{i}")))
        assert outcomes.count(True) == 1
        winner = outcomes.index(True)
        stored = store.get_claim("same-id")
        assert stored is not None and stored.follower_id == f"f{winner}"

    def test_concurrent_claims_of_different_ids_all_win(self, store: StateStore) -> None:
        outcomes = race(32, lambda i: store.claim(make_claim(f"id-{i}")))
        assert outcomes == [True] * 32
        assert len(store.unfinished_claims()) == 32

    # --- master snapshots -------------------------------------------------------------------------------------
    def test_snapshot_round_trip_and_seq_guard(self, store: StateStore) -> None:
        first = make_snapshot(100)
        assert store.put_master_snapshot(first) is True
        assert store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY) == first
        assert store.put_master_snapshot(make_snapshot(100, size=Decimal("9"))) is False  # same seq: a duplicate
        assert store.put_master_snapshot(make_snapshot(99, size=Decimal("9"))) is False  # older: stale
        assert store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY) == first
        newer = make_snapshot(105, size=Decimal("-0.25"), lifecycle=None)
        assert store.put_master_snapshot(newer) is True
        assert store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY) == newer

    def test_snapshot_same_seq_leverage_change_is_applied(self, store: StateStore) -> None:
        # Bybit reports a leverage change on the leg's unchanged seq: it must reach the followers.
        first = make_snapshot(100)
        assert store.put_master_snapshot(first) is True
        relevered = replace(first, leverage=first.leverage + 5)
        assert store.put_master_snapshot(relevered) is True
        assert store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY) == relevered
        assert store.put_master_snapshot(relevered) is False  # the same message again: a duplicate
        assert store.put_master_snapshot(replace(first, size=first.size + 1, leverage=Decimal(50))) is False

    def test_snapshot_unknown_leg_is_none(self, store: StateStore) -> None:
        store.put_master_snapshot(make_snapshot(1))
        assert store.get_master_snapshot("master", "BTCUSDT", PositionIdx.HEDGE_LONG) is None
        assert store.get_master_snapshot("other", "BTCUSDT", PositionIdx.ONE_WAY) is None

    def test_list_master_snapshots_by_master(self, store: StateStore) -> None:
        legs = [
            ("ETHUSDT", PositionIdx.HEDGE_SHORT),
            ("BTCUSDT", PositionIdx.HEDGE_SHORT),
            ("ETHUSDT", PositionIdx.HEDGE_LONG),
        ]
        for symbol, idx in legs:
            store.put_master_snapshot(make_snapshot(10, symbol=symbol, position_idx=idx))
        store.put_master_snapshot(make_snapshot(10, master_id="someone-else"))
        listed = store.list_master_snapshots("master")
        assert [(s.symbol, s.position_idx) for s in listed] == [
            ("BTCUSDT", PositionIdx.HEDGE_SHORT),
            ("ETHUSDT", PositionIdx.HEDGE_LONG),
            ("ETHUSDT", PositionIdx.HEDGE_SHORT),
        ]
        assert store.list_master_snapshots("nobody") == []

    def test_concurrent_snapshot_writers_keep_the_highest_seq(self, store: StateStore) -> None:
        seqs = list(range(1, 65))
        random.Random(7).shuffle(seqs)
        applied = race(len(seqs), lambda i: store.put_master_snapshot(make_snapshot(seqs[i], size=Decimal(seqs[i]))))
        stored = store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY)
        assert stored is not None and stored.seq == 64 and stored.size == Decimal(64)
        assert applied[seqs.index(64)] is True  # the highest always applies
        assert 1 <= applied.count(True) <= len(seqs)

    def test_lifecycle_is_kept_after_the_leg_goes_flat(self, store: StateStore) -> None:
        lifecycle = Lifecycle("BTCUSDT:0:100", Decimal("0.00000001"), Decimal("123456789.123456789"), 100)
        store.put_master_snapshot(make_snapshot(100, lifecycle=lifecycle))
        store.put_master_snapshot(make_snapshot(120, size=Decimal(0), lifecycle=None))
        assert store.get_lifecycle("master", "BTCUSDT:0:100") == lifecycle
        assert store.get_lifecycle("master", "BTCUSDT:0:999") is None
        assert store.get_lifecycle("other", "BTCUSDT:0:100") is None

    # --- ratios -----------------------------------------------------------------------------------------------
    def test_ratio_first_writer_wins(self, store: StateStore) -> None:
        assert store.get_ratio("alice", "L1") is None
        assert store.get_or_set_ratio("alice", "L1", Decimal("0.25")) == Decimal("0.25")
        assert store.get_or_set_ratio("alice", "L1", Decimal("0.5")) == Decimal("0.25")
        assert store.get_ratio("alice", "L1") == Decimal("0.25")
        assert store.get_or_set_ratio("bob", "L1", Decimal("0.5")) == Decimal("0.5")  # per follower
        assert store.get_or_set_ratio("alice", "L2", Decimal("3")) == Decimal("3")  # per lifecycle

    def test_concurrent_ratio_writers_agree(self, store: StateStore) -> None:
        results = race(24, lambda i: store.get_or_set_ratio("alice", "L1", Decimal(i + 1) / 1000))
        assert len(set(results)) == 1
        assert results[0] in {Decimal(i + 1) / 1000 for i in range(24)}
        assert store.get_ratio("alice", "L1") == results[0]

    # --- Decimal exactness ------------------------------------------------------------------------------------
    @pytest.mark.parametrize("value", EXACT_DECIMALS, ids=str)
    def test_decimals_round_trip_exactly(self, store: StateStore, value: Decimal) -> None:
        store.claim(make_claim("d", qty=value))
        store.put_master_snapshot(make_snapshot(1, size=value, position_im=value, leverage=value, entry_price=value))
        store.get_or_set_ratio("alice", "L", value)
        store.put_alert(make_alert("a", deviation_pct=value, last_alerted_deviation_pct=value))
        store.append_order_log(make_log("o", qty=value, price=value, filled_qty=value))
        claim = store.get_claim("d")
        snapshot = store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY)
        alert = store.get_alert("a")
        logged = store.list_order_log()[0]
        assert claim is not None and snapshot is not None and alert is not None
        read = [
            claim.qty,
            snapshot.size,
            snapshot.position_im,
            snapshot.leverage,
            snapshot.entry_price,
            store.get_ratio("alice", "L"),
            alert.deviation_pct,
            alert.last_alerted_deviation_pct,
            logged.qty,
            logged.price,
            logged.filled_qty,
        ]
        for number in read:
            assert isinstance(number, Decimal)
            assert number == value and str(number) == str(value)

    # --- alerts -----------------------------------------------------------------------------------------------
    def test_alert_crud(self, store: StateStore) -> None:
        assert store.get_alert("k") is None
        fresh = make_alert("k")
        store.put_alert(fresh)
        assert store.get_alert("k") == fresh
        alerted = make_alert(
            "k", last_alert_ms=1_700_000_060_000, last_alerted_deviation_pct=Decimal("7.25"), active=True
        )
        store.put_alert(alerted)
        assert store.get_alert("k") == alerted
        resolved = make_alert("k", active=False, deviation_pct=Decimal(0))
        store.put_alert(resolved)
        assert store.get_alert("k") == resolved
        store.put_alert(make_alert("a-first", kind="missing_position", position_idx=PositionIdx.HEDGE_LONG))
        assert [a.key for a in store.list_alerts()] == ["a-first", "k"]
        assert store.delete_alert("k") is True
        assert store.delete_alert("k") is False
        assert [a.key for a in store.list_alerts()] == ["a-first"]

    # --- order log --------------------------------------------------------------------------------------------
    def test_order_log_round_trips_every_outcome(self, store: StateStore) -> None:
        entries = [
            make_log(
                "c1",
                price=Decimal("3000.5"),
                venue_order_id="v1",
                filled_qty=Decimal("1.25"),
                master_seq=7,
                lifecycle_id="ETHUSDT:0:5",
                hops={"master_event": 1.5, "sent": 12.25, "acked": 40.125},
            ),
            make_log(
                "c2",
                outcome=OrderOutcome.REFUSED,
                reason_code="min_notional",
                message="5 USDT below the minimum notional",
            ),
            make_log(
                "c3",
                outcome=OrderOutcome.FAILED,
                error_kind="temporary",
                message="timeout",
                position_idx=PositionIdx.HEDGE_LONG,
                reduce_only=True,
            ),
            make_log("c4", outcome=OrderOutcome.RECONCILED, venue=Venue.HYPERLIQUID, side=Side.BUY),
        ]
        for entry in entries:
            store.append_order_log(entry)
        assert store.list_order_log() == list(reversed(entries))

    def test_order_log_newest_first_with_filter_and_limit(self, store: StateStore) -> None:
        for i in range(6):
            store.append_order_log(make_log(f"c{i}", follower_id="alice" if i % 2 == 0 else "bob", logged_ms=1000))
        assert [e.client_order_id for e in store.list_order_log()] == ["c5", "c4", "c3", "c2", "c1", "c0"]
        assert [e.client_order_id for e in store.list_order_log(follower_id="alice")] == ["c4", "c2", "c0"]
        assert [e.client_order_id for e in store.list_order_log(follower_id="bob", limit=2)] == ["c5", "c3"]
        assert [e.client_order_id for e in store.list_order_log(limit=1)] == ["c5"]
        assert store.list_order_log(follower_id="carol") == []

    def test_order_log_appends_from_many_threads(self, store: StateStore) -> None:
        race(16, lambda i: store.append_order_log(make_log(f"c{i}", follower_id=f"f{i % 4}")))
        assert sorted(e.client_order_id for e in store.list_order_log(limit=100)) == sorted(f"c{i}" for i in range(16))
        assert len(store.list_order_log(follower_id="f1")) == 4

    # --- follower control -------------------------------------------------------------------------------------
    def test_pause_flags(self, store: StateStore) -> None:
        assert store.is_follower_paused("alice") is False
        store.set_follower_paused("alice", True)
        store.set_follower_paused("bob", True)
        assert store.is_follower_paused("alice") is True
        assert store.list_paused_followers() == ["alice", "bob"]
        store.set_follower_paused("alice", False)
        assert store.is_follower_paused("alice") is False
        assert store.list_paused_followers() == ["bob"]
