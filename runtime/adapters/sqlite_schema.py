"""The SQLite store's schema and the conversions between its rows and the port's records.

Decimals are TEXT written with ``format(value, "f")``: every digit kept, no exponent, no context rounding, so
``Decimal(text)`` gives back exactly the number that was stored.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.ports.store import AlertState, ClaimRecord, ClaimStatus, MasterSnapshot, OrderLogEntry, OrderOutcome

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    claim_id TEXT PRIMARY KEY, follower_id TEXT NOT NULL, venue TEXT NOT NULL, lifecycle_id TEXT NOT NULL,
    symbol TEXT NOT NULL, position_idx INTEGER NOT NULL, seq INTEGER NOT NULL, side TEXT NOT NULL,
    qty TEXT NOT NULL, reduce_only INTEGER NOT NULL, status TEXT NOT NULL, created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL, result TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS claims_by_status ON claims (status, created_ms);
CREATE TABLE IF NOT EXISTS master_snapshots (
    master_id TEXT NOT NULL, symbol TEXT NOT NULL, position_idx INTEGER NOT NULL, seq INTEGER NOT NULL,
    size TEXT NOT NULL, position_im TEXT NOT NULL, leverage TEXT NOT NULL, entry_price TEXT NOT NULL,
    lifecycle_id TEXT, updated_ms INTEGER NOT NULL, last_activity_ms INTEGER NOT NULL,
    PRIMARY KEY (master_id, symbol, position_idx));
CREATE TABLE IF NOT EXISTS lifecycles (
    master_id TEXT NOT NULL, lifecycle_id TEXT NOT NULL, open_im TEXT NOT NULL, open_equity TEXT NOT NULL,
    opened_seq INTEGER NOT NULL, PRIMARY KEY (master_id, lifecycle_id));
CREATE TABLE IF NOT EXISTS ratios (
    follower_id TEXT NOT NULL, lifecycle_id TEXT NOT NULL, k TEXT NOT NULL, created_ms INTEGER NOT NULL,
    PRIMARY KEY (follower_id, lifecycle_id));
CREATE TABLE IF NOT EXISTS alerts (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, follower_id TEXT NOT NULL, symbol TEXT NOT NULL,
    position_idx INTEGER NOT NULL, deviation_pct TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,
    last_alert_ms INTEGER, last_alerted_deviation_pct TEXT, active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS order_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, follower_id TEXT NOT NULL,
    venue TEXT NOT NULL, symbol TEXT NOT NULL, position_idx INTEGER NOT NULL, side TEXT NOT NULL, qty TEXT NOT NULL,
    price TEXT, outcome TEXT NOT NULL, reduce_only INTEGER NOT NULL, master_seq INTEGER, lifecycle_id TEXT NOT NULL,
    venue_order_id TEXT NOT NULL, filled_qty TEXT NOT NULL, reason_code TEXT NOT NULL, error_kind TEXT NOT NULL,
    message TEXT NOT NULL, hops TEXT NOT NULL, logged_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS order_log_by_follower ON order_log (follower_id, id);
CREATE TABLE IF NOT EXISTS follower_flags (
    follower_id TEXT PRIMARY KEY, paused INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
"""


def dec_text(value: Decimal) -> str:
    # format "f" keeps every digit (no context rounding, no exponent): "0.00000001", "123456789.123456789".
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"the store keeps finite Decimals only, got {value!r}")
    return format(value, "f")


def opt_dec_text(value: Decimal | None) -> str | None:
    return None if value is None else dec_text(value)


def read_opt_dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def claim_from_row(row: sqlite3.Row) -> ClaimRecord:
    return ClaimRecord(
        claim_id=row["claim_id"],
        follower_id=row["follower_id"],
        venue=Venue(row["venue"]),
        lifecycle_id=row["lifecycle_id"],
        symbol=row["symbol"],
        position_idx=PositionIdx(row["position_idx"]),
        seq=row["seq"],
        side=Side(row["side"]),
        qty=Decimal(row["qty"]),
        reduce_only=bool(row["reduce_only"]),
        status=ClaimStatus(row["status"]),
        created_ms=row["created_ms"],
        updated_ms=row["updated_ms"],
        result=dict(json.loads(row["result"])),
    )


def snapshot_from_row(row: sqlite3.Row) -> MasterSnapshot:
    lifecycle = None
    if row["lifecycle_id"] is not None:
        lifecycle = Lifecycle(
            row["lifecycle_id"], Decimal(row["open_im"]), Decimal(row["open_equity"]), row["opened_seq"]
        )
    return MasterSnapshot(
        master_id=row["master_id"],
        symbol=row["symbol"],
        position_idx=PositionIdx(row["position_idx"]),
        seq=row["seq"],
        size=Decimal(row["size"]),
        position_im=Decimal(row["position_im"]),
        leverage=Decimal(row["leverage"]),
        entry_price=Decimal(row["entry_price"]),
        lifecycle=lifecycle,
        updated_ms=row["updated_ms"],
        last_activity_ms=row["last_activity_ms"],
    )


def alert_from_row(row: sqlite3.Row) -> AlertState:
    return AlertState(
        key=row["key"],
        kind=row["kind"],
        follower_id=row["follower_id"],
        symbol=row["symbol"],
        position_idx=PositionIdx(row["position_idx"]),
        deviation_pct=Decimal(row["deviation_pct"]),
        first_seen_ms=row["first_seen_ms"],
        last_alert_ms=row["last_alert_ms"],
        last_alerted_deviation_pct=read_opt_dec(row["last_alerted_deviation_pct"]),
        active=bool(row["active"]),
    )


def order_log_from_row(row: sqlite3.Row) -> OrderLogEntry:
    return OrderLogEntry(
        client_order_id=row["client_order_id"],
        follower_id=row["follower_id"],
        venue=Venue(row["venue"]),
        symbol=row["symbol"],
        side=Side(row["side"]),
        qty=Decimal(row["qty"]),
        outcome=OrderOutcome(row["outcome"]),
        logged_ms=row["logged_ms"],
        price=read_opt_dec(row["price"]),
        position_idx=PositionIdx(row["position_idx"]),
        reduce_only=bool(row["reduce_only"]),
        master_seq=row["master_seq"],
        lifecycle_id=row["lifecycle_id"],
        venue_order_id=row["venue_order_id"],
        filled_qty=Decimal(row["filled_qty"]),
        reason_code=row["reason_code"],
        error_kind=row["error_kind"],
        message=row["message"],
        hops={str(name): float(ms) for name, ms in json.loads(row["hops"]).items()},
    )
