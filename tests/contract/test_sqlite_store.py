"""The SQLite store against the store contract, plus what only SQLite has: WAL, TEXT decimals, the pool."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from runtime.adapters.sqlite_pool import SqlitePool
from runtime.adapters.sqlite_schema import SCHEMA_VERSION
from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.values import PositionIdx
from runtime.ports.store import StateStore, StoreError
from tests.contract.store_contract import StoreContract, make_claim, make_log, make_snapshot, race


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[StateStore]:
        # synchronous=NORMAL keeps the suite fast; durability settings do not change any contract.
        with SqliteStore(tmp_path / "state.db", synchronous="NORMAL") as store:
            yield store


def test_satisfies_the_port_protocol(tmp_path: Path) -> None:
    store: StateStore = SqliteStore(tmp_path / "s.db")  # mypy checks the structural match
    store.close()


def test_wal_mode_and_decimals_stored_as_text(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.claim(make_claim("a", qty=Decimal("0.00000001")))
        store.get_or_set_ratio("alice", "L", Decimal("123456789.123456789"))
        store.put_master_snapshot(make_snapshot(5))
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT qty, typeof(qty) FROM claims").fetchone() == ("0.00000001", "text")
        assert raw.execute("SELECT k, typeof(k) FROM ratios").fetchone() == ("123456789.123456789", "text")
        assert raw.execute("SELECT typeof(size), typeof(position_im) FROM master_snapshots").fetchone() == (
            "text",
            "text",
        )
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.claim(make_claim("a"))
        store.set_follower_paused("alice", True)
    with SqliteStore(path) as reopened:
        assert reopened.get_claim("a") is not None
        assert reopened.claim(make_claim("a")) is False
        assert reopened.is_follower_paused("alice") is True


def test_two_stores_on_one_file_share_claims(tmp_path: Path) -> None:
    # Two processes (or a restarted one beside the old) see the same claims: the conditional write is SQLite's.
    path = tmp_path / "s.db"
    with SqliteStore(path) as one, SqliteStore(path) as two:
        outcomes = race(16, lambda i: (one if i % 2 else two).claim(make_claim("shared")))
        assert outcomes.count(True) == 1


def test_many_stores_opening_a_new_file_at_once(tmp_path: Path) -> None:
    # Several processes starting together race to switch the new file to WAL and create the schema.
    path = tmp_path / "fresh.db"
    stores = race(8, lambda i: SqliteStore(path, pool_size=2))
    try:
        assert race(8, lambda i: stores[i].claim(make_claim("first"))).count(True) == 1
    finally:
        for store in stores:
            store.close()


def test_memory_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="temp file"):
        SqliteStore(":memory:")


def test_missing_directory_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no-such-dir"):
        SqliteStore(tmp_path / "no-such-dir" / "s.db")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match="newer"):
        SqliteStore(path)


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_claim("a")


def test_non_finite_decimal_is_refused(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store, pytest.raises(ValueError, match="finite"):
        store.claim(make_claim("a", qty=Decimal("NaN")))
    with SqliteStore(tmp_path / "s.db") as store:
        assert store.get_claim("a") is None


def test_pool_of_one_serves_many_threads(tmp_path: Path) -> None:
    # A connection is held only for SQL, so even one connection serves many concurrent callers without deadlock.
    with SqliteStore(tmp_path / "s.db", pool_size=1, synchronous="NORMAL") as store:
        outcomes = race(16, lambda i: store.claim(make_claim(f"id-{i}")))
        assert all(outcomes)
        store.append_order_log(make_log("x"))
        assert store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY) is None


def test_pool_never_opens_more_than_its_size(tmp_path: Path) -> None:
    pool = SqlitePool(tmp_path / "p.db", max_size=2)
    opened: list[int] = []
    lock = threading.Lock()
    active = 0

    def work(_: int) -> None:
        nonlocal active
        with pool.connection() as conn:
            with lock:
                active += 1
                opened.append(active)
            conn.execute("SELECT 1").fetchone()
            time.sleep(0.01)
            with lock:
                active -= 1

    race(8, work)
    pool.close()
    assert max(opened) <= 2


def test_slow_pool_wait_logs_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pool = SqlitePool(tmp_path / "p.db", max_size=1, warn_after_s=0.05)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with pool.connection():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(0.15, release.set).start()
    with caplog.at_level(logging.WARNING, logger="runtime.adapters.sqlite_pool"), pool.connection() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    holder.join(5)
    pool.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "pool size 1" in warnings[0]


def test_exhausted_pool_raises_after_its_timeout(tmp_path: Path) -> None:
    pool = SqlitePool(tmp_path / "p.db", max_size=1, acquire_timeout_s=0.05)
    with pool.connection(), pytest.raises(StoreError, match="pool size 1"), pool.connection():
        pass
    pool.close()


def test_failed_transaction_rolls_back_and_keeps_the_pool_usable(tmp_path: Path) -> None:
    pool = SqlitePool(tmp_path / "p.db", max_size=1)
    with pool.connection() as conn:
        conn.execute("CREATE TABLE t (v INTEGER)")
    with pytest.raises(RuntimeError), pool.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    with pytest.raises(StoreError, match="no such table"), pool.transaction() as conn:
        conn.execute("INSERT INTO missing VALUES (1)")
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        assert not conn.in_transaction
    pool.close()
