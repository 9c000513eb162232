"""``SqliteStore`` with a stopwatch on the calls the copy path makes, so a cycle's store time can be separated from
the engine's other work. The timing costs well under a microsecond a call; the statements are unchanged."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.values import PositionIdx
from runtime.ports.store import ClaimRecord, ClaimStatus, MasterSnapshot, OrderLogEntry


class TimedSqliteStore(SqliteStore):
    """``seconds[name]`` and ``calls[name]`` per store method of the copy path, since creation."""

    def __init__(self, path: str | Path, **options: Any) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        super().__init__(path, **options)

    def _timed(self, name: str, started: float) -> None:
        self.seconds[name] += time.perf_counter() - started
        self.calls[name] += 1

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())

    def per_order(self, orders: int) -> dict[str, dict[str, float]]:
        """Each method's calls per follower order, microseconds per call and milliseconds per order."""
        if orders < 1:
            return {}
        return {
            name: {
                "calls_per_order": round(self.calls[name] / orders, 3),
                "us_per_call": round(self.seconds[name] / self.calls[name] * 1e6, 1),
                "ms_per_order": round(self.seconds[name] / orders * 1e3, 4),
            }
            for name in sorted(self.calls, key=lambda name: -self.seconds[name])
        }

    def claim(self, claim: ClaimRecord) -> bool:
        started = time.perf_counter()
        try:
            return super().claim(claim)
        finally:
            self._timed("claim", started)

    def finish_claim(
        self, claim_id: str, status: ClaimStatus, result: Mapping[str, str], *, at_ms: int | None = None
    ) -> None:
        started = time.perf_counter()
        try:
            super().finish_claim(claim_id, status, result, at_ms=at_ms)
        finally:
            self._timed("finish_claim", started)

    def append_order_log(self, entry: OrderLogEntry) -> None:
        started = time.perf_counter()
        try:
            super().append_order_log(entry)
        finally:
            self._timed("append_order_log", started)

    def put_master_snapshot(self, snapshot: MasterSnapshot) -> bool:
        started = time.perf_counter()
        try:
            return super().put_master_snapshot(snapshot)
        finally:
            self._timed("put_master_snapshot", started)

    def get_master_snapshot(self, master_id: str, symbol: str, position_idx: PositionIdx) -> MasterSnapshot | None:
        started = time.perf_counter()
        try:
            return super().get_master_snapshot(master_id, symbol, position_idx)
        finally:
            self._timed("get_master_snapshot", started)

    def get_ratio(self, follower_id: str, lifecycle_id: str) -> Decimal | None:
        started = time.perf_counter()
        try:
            return super().get_ratio(follower_id, lifecycle_id)
        finally:
            self._timed("get_ratio", started)

    def get_or_set_ratio(self, follower_id: str, lifecycle_id: str, k: Decimal) -> Decimal:
        started = time.perf_counter()
        try:
            return super().get_or_set_ratio(follower_id, lifecycle_id, k)
        finally:
            self._timed("get_or_set_ratio", started)

    def is_follower_paused(self, follower_id: str) -> bool:
        started = time.perf_counter()
        try:
            return super().is_follower_paused(follower_id)
        finally:
            self._timed("is_follower_paused", started)
