"""Conversions between the port's records and DynamoDB items in the low-level client format ({"S": ...}).

Decimals are stored as strings written with ``format(value, "f")``: a DynamoDB number keeps at most 38 significant
digits and may normalize ("1.10" -> "1.1"), a string keeps every digit, so ``Decimal(text)`` gives back exactly the
number that was stored. Integers (seq, epoch milliseconds, position index) are numbers, so conditions and the
index can compare them.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from runtime.adapters.dynamodb import schema
from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx, Side, Venue
from runtime.ports.store import (
    AlertState,
    ClaimRecord,
    ClaimStatus,
    MasterSnapshot,
    OrderLogEntry,
    OrderOutcome,
)

Item = dict[str, Any]


def exact_text(value: Decimal) -> str:
    """Every digit, no exponent, no context rounding: "0.00000001", "123456789.123456789", "1.10"."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"the store keeps finite Decimals only, got {value!r}")
    return format(value, "f")


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


def dec(value: Decimal) -> dict[str, str]:
    return {"S": exact_text(value)}


def boolean(value: bool) -> dict[str, bool]:
    return {"BOOL": bool(value)}


def string_map(values: Mapping[str, str]) -> dict[str, Any]:
    return {"M": {str(key): {"S": str(text)} for key, text in values.items()}}


def read_s(item: Item, name: str) -> str:
    return str(item[name]["S"])


def read_int(item: Item, name: str) -> int:
    return int(item[name]["N"])


def read_opt_int(item: Item, name: str) -> int | None:
    return read_int(item, name) if name in item else None


def read_dec(item: Item, name: str) -> Decimal:
    return Decimal(item[name]["S"])


def read_opt_dec(item: Item, name: str) -> Decimal | None:
    return read_dec(item, name) if name in item else None


def read_bool(item: Item, name: str) -> bool:
    return bool(item[name]["BOOL"]) if name in item else False


def read_string_map(item: Item, name: str) -> dict[str, str]:
    return {key: str(value["S"]) for key, value in item.get(name, {"M": {}})["M"].items()}


# --- claims ---------------------------------------------------------------------------------------------------------
def claim_item(claim: ClaimRecord) -> Item:
    item: Item = {
        schema.CLAIM_ID: s(claim.claim_id),
        "follower_id": s(claim.follower_id),
        "venue": s(claim.venue.value),
        "lifecycle_id": s(claim.lifecycle_id),
        "symbol": s(claim.symbol),
        "position_idx": n(int(claim.position_idx)),
        "seq": n(claim.seq),
        "side": s(claim.side.value),
        "qty": dec(claim.qty),
        "reduce_only": boolean(claim.reduce_only),
        "status": s(claim.status.value),
        schema.CREATED_MS: n(claim.created_ms),
        "updated_ms": n(claim.updated_ms),
        "result": string_map(claim.result),
    }
    if not claim.is_finished:
        item[schema.PENDING] = s(schema.PENDING_VALUE)  # puts it in the sparse unfinished-claims index
    return item


def claim_from_item(item: Item) -> ClaimRecord:
    return ClaimRecord(
        claim_id=read_s(item, schema.CLAIM_ID),
        follower_id=read_s(item, "follower_id"),
        venue=Venue(read_s(item, "venue")),
        lifecycle_id=read_s(item, "lifecycle_id"),
        symbol=read_s(item, "symbol"),
        position_idx=PositionIdx(read_int(item, "position_idx")),
        seq=read_int(item, "seq"),
        side=Side(read_s(item, "side")),
        qty=read_dec(item, "qty"),
        reduce_only=read_bool(item, "reduce_only"),
        status=ClaimStatus(read_s(item, "status")),
        created_ms=read_int(item, schema.CREATED_MS),
        updated_ms=read_int(item, "updated_ms"),
        result=read_string_map(item, "result"),
    )


# --- master state ---------------------------------------------------------------------------------------------------
def lifecycle_values(lifecycle: Lifecycle) -> Item:
    return {
        ":open_im": dec(lifecycle.open_im),
        ":open_equity": dec(lifecycle.open_equity),
        ":opened_seq": n(lifecycle.opened_seq),
    }


def lifecycle_from_item(lifecycle_id: str, item: Item) -> Lifecycle:
    return Lifecycle(
        lifecycle_id, read_dec(item, "open_im"), read_dec(item, "open_equity"), read_int(item, "opened_seq")
    )


def snapshot_item(snapshot: MasterSnapshot, lifecycle: Lifecycle | None) -> Item:
    """``lifecycle`` is the stored one (the first writer's figures), embedded so one read returns the whole leg."""
    item: Item = {
        schema.MASTER_ID: s(snapshot.master_id),
        schema.ITEM_KEY: s(schema.snapshot_item_key(snapshot.symbol, snapshot.position_idx)),
        "symbol": s(snapshot.symbol),
        "position_idx": n(int(snapshot.position_idx)),
        "seq": n(snapshot.seq),
        "size": dec(snapshot.size),
        "position_im": dec(snapshot.position_im),
        "leverage": dec(snapshot.leverage),
        "entry_price": dec(snapshot.entry_price),
        "updated_ms": n(snapshot.updated_ms),
        "last_activity_ms": n(snapshot.last_activity_ms),
    }
    if lifecycle is not None:
        item["lifecycle_id"] = s(lifecycle.id)
        item["open_im"] = dec(lifecycle.open_im)
        item["open_equity"] = dec(lifecycle.open_equity)
        item["opened_seq"] = n(lifecycle.opened_seq)
    return item


def snapshot_from_item(item: Item) -> MasterSnapshot:
    lifecycle = lifecycle_from_item(read_s(item, "lifecycle_id"), item) if "lifecycle_id" in item else None
    return MasterSnapshot(
        master_id=read_s(item, schema.MASTER_ID),
        symbol=read_s(item, "symbol"),
        position_idx=PositionIdx(read_int(item, "position_idx")),
        seq=read_int(item, "seq"),
        size=read_dec(item, "size"),
        position_im=read_dec(item, "position_im"),
        leverage=read_dec(item, "leverage"),
        entry_price=read_dec(item, "entry_price"),
        lifecycle=lifecycle,
        updated_ms=read_int(item, "updated_ms"),
        last_activity_ms=read_int(item, "last_activity_ms"),
    )


# --- alerts ---------------------------------------------------------------------------------------------------------
def alert_item(state: AlertState) -> Item:
    item: Item = {
        schema.ALERT_KEY: s(state.key),
        "kind": s(state.kind),
        "follower_id": s(state.follower_id),
        "symbol": s(state.symbol),
        "position_idx": n(int(state.position_idx)),
        "deviation_pct": dec(state.deviation_pct),
        "first_seen_ms": n(state.first_seen_ms),
        "active": boolean(state.active),
    }
    if state.last_alert_ms is not None:
        item["last_alert_ms"] = n(state.last_alert_ms)
    if state.last_alerted_deviation_pct is not None:
        item["last_alerted_deviation_pct"] = dec(state.last_alerted_deviation_pct)
    return item


def alert_from_item(item: Item) -> AlertState:
    return AlertState(
        key=read_s(item, schema.ALERT_KEY),
        kind=read_s(item, "kind"),
        follower_id=read_s(item, "follower_id"),
        symbol=read_s(item, "symbol"),
        position_idx=PositionIdx(read_int(item, "position_idx")),
        deviation_pct=read_dec(item, "deviation_pct"),
        first_seen_ms=read_int(item, "first_seen_ms"),
        last_alert_ms=read_opt_int(item, "last_alert_ms"),
        last_alerted_deviation_pct=read_opt_dec(item, "last_alerted_deviation_pct"),
        active=read_bool(item, "active"),
    )


# --- order log ------------------------------------------------------------------------------------------------------
class LogKeys:
    """Order-log sort keys: append time in nanoseconds, strictly increasing within a process, plus a random tag so
    two processes (two Lambdas) never write the same key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ns = 0

    def next(self) -> str:
        with self._lock:
            self._last_ns = max(time.time_ns(), self._last_ns + 1)
            stamp = self._last_ns
        return f"{stamp:020d}#{secrets.token_hex(4)}"


def order_log_item(entry: OrderLogEntry, log_key: str, expires_at_s: int) -> Item:
    # Hops are timings: JSON keeps each float exactly (repr round-trips); a non-finite one is not a time, so it is
    # left out rather than failing the write of an order's outcome.
    hops = {name: float(ms) for name, ms in entry.hops.items() if math.isfinite(float(ms))}
    item: Item = {
        schema.FOLLOWER_ID: s(entry.follower_id),
        schema.LOG_KEY: s(log_key),
        schema.LOG_PARTITION: s(schema.ALL_ENTRIES),
        schema.EXPIRES_AT: n(expires_at_s),
        "client_order_id": s(entry.client_order_id),
        "venue": s(entry.venue.value),
        "symbol": s(entry.symbol),
        "position_idx": n(int(entry.position_idx)),
        "side": s(entry.side.value),
        "qty": dec(entry.qty),
        "outcome": s(entry.outcome.value),
        "reduce_only": boolean(entry.reduce_only),
        "lifecycle_id": s(entry.lifecycle_id),
        "venue_order_id": s(entry.venue_order_id),
        "filled_qty": dec(entry.filled_qty),
        "reason_code": s(entry.reason_code),
        "error_kind": s(entry.error_kind),
        "message": s(entry.message),
        "hops": s(json.dumps(hops)),
        "logged_ms": n(entry.logged_ms),
    }
    if entry.price is not None:
        item["price"] = dec(entry.price)
    if entry.master_seq is not None:
        item["master_seq"] = n(entry.master_seq)
    return item


def order_log_from_item(item: Item) -> OrderLogEntry:
    return OrderLogEntry(
        client_order_id=read_s(item, "client_order_id"),
        follower_id=read_s(item, schema.FOLLOWER_ID),
        venue=Venue(read_s(item, "venue")),
        symbol=read_s(item, "symbol"),
        side=Side(read_s(item, "side")),
        qty=read_dec(item, "qty"),
        outcome=OrderOutcome(read_s(item, "outcome")),
        logged_ms=read_int(item, "logged_ms"),
        price=read_opt_dec(item, "price"),
        position_idx=PositionIdx(read_int(item, "position_idx")),
        reduce_only=read_bool(item, "reduce_only"),
        master_seq=read_opt_int(item, "master_seq"),
        lifecycle_id=read_s(item, "lifecycle_id"),
        venue_order_id=read_s(item, "venue_order_id"),
        filled_qty=read_dec(item, "filled_qty"),
        reason_code=read_s(item, "reason_code"),
        error_kind=read_s(item, "error_kind"),
        message=read_s(item, "message"),
        hops={str(name): float(ms) for name, ms in json.loads(read_s(item, "hops")).items()},
    )
