"""The SQLite state store (the local host's default): stdlib sqlite3, WAL mode, a small bounded connection pool.

Every method is one short statement or one short ``BEGIN IMMEDIATE`` transaction; conditional writes are done by
SQLite itself (``INSERT ... ON CONFLICT DO NOTHING``, ``DO UPDATE ... WHERE excluded.seq > seq``), so many threads
and processes can race on the same claim or leg and exactly one wins. Decimals are stored as TEXT, never REAL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from runtime.adapters.sqlite_pool import (
    DEFAULT_ACQUIRE_TIMEOUT_S,
    DEFAULT_BUSY_TIMEOUT_S,
    DEFAULT_POOL_SIZE,
    DEFAULT_WARN_AFTER_S,
    SqlitePool,
)
from runtime.adapters.sqlite_schema import (
    SCHEMA,
    SCHEMA_VERSION,
    alert_from_row,
    claim_from_row,
    dec_text,
    opt_dec_text,
    order_log_from_row,
    snapshot_from_row,
)
from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx
from runtime.ports.store import (
    DEFAULT_ORDER_LOG_LIMIT,
    AlertState,
    ClaimNotFoundError,
    ClaimRecord,
    ClaimStatus,
    MasterSnapshot,
    OrderLogEntry,
    StoreError,
)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SqliteStore:
    """``StateStore`` on one SQLite file. Opening creates the schema (I/O happens here, never at import).

    ``path`` must be a file (``:memory:`` is one database per connection, so it cannot be pooled). ``pool_size``
    bounds open connections; waits for one over ``warn_after_s`` are logged as warnings.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        acquire_timeout_s: float = DEFAULT_ACQUIRE_TIMEOUT_S,
        warn_after_s: float = DEFAULT_WARN_AFTER_S,
        synchronous: str = "FULL",
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        if str(path) == ":memory:" or str(path).startswith("file::memory:"):
            raise ValueError("SqliteStore needs a file path: ':memory:' is private to one connection; use a temp file")
        self.path = Path(path)
        self._clock_ms = clock_ms
        self._pool = SqlitePool(
            self.path,
            max_size=pool_size,
            busy_timeout_s=busy_timeout_s,
            acquire_timeout_s=acquire_timeout_s,
            warn_after_s=warn_after_s,
            synchronous=synchronous,
        )
        self._create_schema()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    def _create_schema(self) -> None:
        with self._pool.connection() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this copytrader's {SCHEMA_VERSION}: "
                    f"upgrade copytrader or point it at another state file"
                )
            conn.executescript(f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")

    # --- idempotency claims -----------------------------------------------------------------------------------
    def claim(self, claim: ClaimRecord) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "INSERT INTO claims VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (claim_id) DO NOTHING",
                (
                    claim.claim_id,
                    claim.follower_id,
                    claim.venue.value,
                    claim.lifecycle_id,
                    claim.symbol,
                    int(claim.position_idx),
                    claim.seq,
                    claim.side.value,
                    dec_text(claim.qty),
                    int(claim.reduce_only),
                    claim.status.value,
                    claim.created_ms,
                    claim.updated_ms,
                    json.dumps(dict(claim.result), sort_keys=True),
                ),
            )
            return cursor.rowcount == 1

    def get_claim(self, claim_id: str) -> ClaimRecord | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT * FROM claims WHERE claim_id = ?", (claim_id,)).fetchone()
        return None if row is None else claim_from_row(row)

    def finish_claim(
        self, claim_id: str, status: ClaimStatus, result: Mapping[str, str], *, at_ms: int | None = None
    ) -> None:
        if ClaimStatus(status) is ClaimStatus.CLAIMED:
            raise ValueError("finish_claim needs an outcome status (placed, refused, failed, reconciled), not claimed")
        updated = self._clock_ms() if at_ms is None else at_ms
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE claims SET status = ?, result = ?, updated_ms = ? WHERE claim_id = ?",
                (ClaimStatus(status).value, json.dumps(dict(result), sort_keys=True), updated, claim_id),
            )
            if cursor.rowcount == 0:
                raise ClaimNotFoundError(claim_id)

    def unfinished_claims(self, older_than_ms: int | None = None) -> list[ClaimRecord]:
        cutoff = self._clock_ms() - older_than_ms if older_than_ms is not None else None
        query = "SELECT * FROM claims WHERE status = ?"
        params: list[Any] = [ClaimStatus.CLAIMED.value]
        if cutoff is not None:
            query += " AND created_ms <= ?"
            params.append(cutoff)
        with self._pool.connection() as conn:
            rows = conn.execute(query + " ORDER BY created_ms, claim_id", params).fetchall()
        return [claim_from_row(row) for row in rows]

    # --- master snapshots and lifecycles ----------------------------------------------------------------------
    def put_master_snapshot(self, snapshot: MasterSnapshot) -> bool:
        lifecycle = snapshot.lifecycle
        with self._pool.transaction() as conn:
            if lifecycle is not None:
                conn.execute(
                    "INSERT INTO lifecycles VALUES (?,?,?,?,?) ON CONFLICT (master_id, lifecycle_id) DO NOTHING",
                    (
                        snapshot.master_id,
                        lifecycle.id,
                        dec_text(lifecycle.open_im),
                        dec_text(lifecycle.open_equity),
                        lifecycle.opened_seq,
                    ),
                )
            cursor = conn.execute(
                "INSERT INTO master_snapshots VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (master_id, symbol, position_idx) DO UPDATE SET seq = excluded.seq, "
                "size = excluded.size, position_im = excluded.position_im, leverage = excluded.leverage, "
                "entry_price = excluded.entry_price, lifecycle_id = excluded.lifecycle_id, "
                "updated_ms = excluded.updated_ms, last_activity_ms = excluded.last_activity_ms "
                "WHERE excluded.seq > master_snapshots.seq "
                # Bybit reports a leverage change under the leg's unchanged seq: same seq and size, new leverage.
                "OR (excluded.seq = master_snapshots.seq AND excluded.size = master_snapshots.size "
                "AND excluded.leverage <> master_snapshots.leverage)",
                (
                    snapshot.master_id,
                    snapshot.symbol,
                    int(snapshot.position_idx),
                    snapshot.seq,
                    dec_text(snapshot.size),
                    dec_text(snapshot.position_im),
                    dec_text(snapshot.leverage),
                    dec_text(snapshot.entry_price),
                    None if lifecycle is None else lifecycle.id,
                    snapshot.updated_ms,
                    snapshot.last_activity_ms,
                ),
            )
            return cursor.rowcount == 1

    _SNAPSHOT_SELECT = (
        "SELECT s.*, l.open_im, l.open_equity, l.opened_seq FROM master_snapshots s LEFT JOIN lifecycles l "
        "ON l.master_id = s.master_id AND l.lifecycle_id = s.lifecycle_id "
    )

    def get_master_snapshot(self, master_id: str, symbol: str, position_idx: PositionIdx) -> MasterSnapshot | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                self._SNAPSHOT_SELECT + "WHERE s.master_id = ? AND s.symbol = ? AND s.position_idx = ?",
                (master_id, symbol, int(position_idx)),
            ).fetchone()
        return None if row is None else snapshot_from_row(row)

    def list_master_snapshots(self, master_id: str) -> list[MasterSnapshot]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                self._SNAPSHOT_SELECT + "WHERE s.master_id = ? ORDER BY s.symbol, s.position_idx", (master_id,)
            ).fetchall()
        return [snapshot_from_row(row) for row in rows]

    def get_lifecycle(self, master_id: str, lifecycle_id: str) -> Lifecycle | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT * FROM lifecycles WHERE master_id = ? AND lifecycle_id = ?", (master_id, lifecycle_id)
            ).fetchone()
        if row is None:
            return None
        return Lifecycle(row["lifecycle_id"], Decimal(row["open_im"]), Decimal(row["open_equity"]), row["opened_seq"])

    # --- copy ratios ------------------------------------------------------------------------------------------
    def get_or_set_ratio(self, follower_id: str, lifecycle_id: str, k: Decimal) -> Decimal:
        # Ratios never change once written, so insert-if-absent then read needs no transaction around the pair.
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO ratios VALUES (?,?,?,?) ON CONFLICT (follower_id, lifecycle_id) DO NOTHING",
                (follower_id, lifecycle_id, dec_text(k), self._clock_ms()),
            )
            row = conn.execute(
                "SELECT k FROM ratios WHERE follower_id = ? AND lifecycle_id = ?", (follower_id, lifecycle_id)
            ).fetchone()
        return Decimal(row["k"])

    def get_ratio(self, follower_id: str, lifecycle_id: str) -> Decimal | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT k FROM ratios WHERE follower_id = ? AND lifecycle_id = ?", (follower_id, lifecycle_id)
            ).fetchone()
        return None if row is None else Decimal(row["k"])

    # --- alert state ------------------------------------------------------------------------------------------
    def get_alert(self, key: str) -> AlertState | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT * FROM alerts WHERE key = ?", (key,)).fetchone()
        return None if row is None else alert_from_row(row)

    def put_alert(self, state: AlertState) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    state.key,
                    state.kind,
                    state.follower_id,
                    state.symbol,
                    int(state.position_idx),
                    dec_text(state.deviation_pct),
                    state.first_seen_ms,
                    state.last_alert_ms,
                    opt_dec_text(state.last_alerted_deviation_pct),
                    int(state.active),
                ),
            )

    def delete_alert(self, key: str) -> bool:
        with self._pool.connection() as conn:
            return conn.execute("DELETE FROM alerts WHERE key = ?", (key,)).rowcount == 1

    def list_alerts(self) -> list[AlertState]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT * FROM alerts ORDER BY key").fetchall()
        return [alert_from_row(row) for row in rows]

    # --- order log --------------------------------------------------------------------------------------------
    def append_order_log(self, entry: OrderLogEntry) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO order_log (client_order_id, follower_id, venue, symbol, position_idx, side, qty, price, "
                "outcome, reduce_only, master_seq, lifecycle_id, venue_order_id, filled_qty, reason_code, "
                "error_kind, message, hops, logged_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    entry.client_order_id,
                    entry.follower_id,
                    entry.venue.value,
                    entry.symbol,
                    int(entry.position_idx),
                    entry.side.value,
                    dec_text(entry.qty),
                    opt_dec_text(entry.price),
                    entry.outcome.value,
                    int(entry.reduce_only),
                    entry.master_seq,
                    entry.lifecycle_id,
                    entry.venue_order_id,
                    dec_text(entry.filled_qty),
                    entry.reason_code,
                    entry.error_kind,
                    entry.message,
                    json.dumps({name: float(ms) for name, ms in entry.hops.items()}),
                    entry.logged_ms,
                ),
            )

    def list_order_log(
        self, follower_id: str | None = None, limit: int = DEFAULT_ORDER_LOG_LIMIT
    ) -> list[OrderLogEntry]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        with self._pool.connection() as conn:
            if follower_id is None:
                rows = conn.execute("SELECT * FROM order_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM order_log WHERE follower_id = ? ORDER BY id DESC LIMIT ?", (follower_id, limit)
                ).fetchall()
        return [order_log_from_row(row) for row in rows]

    # --- follower control -------------------------------------------------------------------------------------
    def set_follower_paused(self, follower_id: str, paused: bool) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO follower_flags VALUES (?,?,?) ON CONFLICT (follower_id) DO UPDATE SET "
                "paused = excluded.paused, updated_ms = excluded.updated_ms",
                (follower_id, int(paused), self._clock_ms()),
            )

    def is_follower_paused(self, follower_id: str) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT paused FROM follower_flags WHERE follower_id = ?", (follower_id,)).fetchone()
        return row is not None and bool(row["paused"])

    def list_paused_followers(self) -> list[str]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT follower_id FROM follower_flags WHERE paused = 1 ORDER BY follower_id")
            return [str(row["follower_id"]) for row in rows.fetchall()]
