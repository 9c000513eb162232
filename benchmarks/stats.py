"""Summaries of a run's cycles: percentiles of the cycle time, its ratio to the floors, and throughput."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.runs import CycleResult


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); 0.0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LatencySummary:
    """Cycles run with injected venue latency (model (a) or (b))."""

    cycles: int
    p50_s: float
    p99_s: float
    max_s: float
    orders: int
    refused: int
    failed: int
    order_floor_p50_s: float
    ratio_to_order_floor_p50: float
    ratio_to_order_floor_p99: float
    path_floor_p50_s: float
    ratio_to_path_floor_p50: float
    ratio_to_path_floor_p99: float
    cpu_s: float
    venue_s: float

    @staticmethod
    def of(results: Sequence[CycleResult]) -> LatencySummary:
        times = [r.cycle_s for r in results]
        to_order = [r.ratio_to_order_floor for r in results]
        to_path = [r.ratio_to_path_floor for r in results]
        return LatencySummary(
            cycles=len(results),
            p50_s=percentile(times, 50),
            p99_s=percentile(times, 99),
            max_s=max(times, default=0.0),
            orders=sum(r.orders for r in results),
            refused=sum(r.refused for r in results),
            failed=sum(r.failed for r in results),
            order_floor_p50_s=percentile([r.order_floor_s for r in results], 50),
            ratio_to_order_floor_p50=percentile(to_order, 50),
            ratio_to_order_floor_p99=percentile(to_order, 99),
            path_floor_p50_s=percentile([r.path_floor_s for r in results], 50),
            ratio_to_path_floor_p50=percentile(to_path, 50),
            ratio_to_path_floor_p99=percentile(to_path, 99),
            cpu_s=sum(r.cpu_s for r in results),
            venue_s=sum(r.venue_s for r in results),
        )


@dataclass(frozen=True)
class ThroughputSummary:
    """Cycles run with no injected latency: what the engine itself costs per follower order."""

    cycles: int
    orders: int
    engine_s: float  # master message received -> every job finished, summed over the cycles
    venue_s: float  # of which the in-process paper venues' own work
    store_s: float  # of which the store's calls
    cpu_s: float
    p50_cycle_s: float
    ms_per_order: float
    engine_only_ms_per_order: float  # the venues' share taken out
    store_ms_per_order: float
    venue_ms_per_order: float
    orders_per_s: float

    @staticmethod
    def of(results: Sequence[CycleResult]) -> ThroughputSummary:
        orders = sum(r.orders for r in results)
        engine_s = sum(r.engine_s for r in results)
        venue_s = sum(r.venue_s for r in results)
        store_s = sum(r.store_s for r in results)

        def per_order(seconds: float) -> float:
            return 1000.0 * seconds / orders if orders else 0.0

        return ThroughputSummary(
            cycles=len(results),
            orders=orders,
            engine_s=engine_s,
            venue_s=venue_s,
            store_s=store_s,
            cpu_s=sum(r.cpu_s for r in results),
            p50_cycle_s=percentile([r.engine_s for r in results], 50),
            ms_per_order=per_order(engine_s),
            engine_only_ms_per_order=per_order(engine_s - venue_s),
            store_ms_per_order=per_order(store_s),
            venue_ms_per_order=per_order(venue_s),
            orders_per_s=orders / engine_s if engine_s else 0.0,
        )


def engine_to_sequential(engine: Sequence[CycleResult], sequential: Sequence[CycleResult]) -> float:
    """p50 of (b) over p50 of (a), over the cycles both ran (the sequential model may run fewer)."""
    compared = {r.index for r in sequential}
    b = [r.cycle_s for r in engine if r.index in compared]
    a = [r.cycle_s for r in sequential]
    if not a or not b or percentile(a, 50) == 0:
        return 0.0
    return percentile(b, 50) / percentile(a, 50)


def rounded(value: Any) -> Any:
    """Floats to 6 decimals (microseconds) for the JSON file (timings; nothing here is money)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item) for item in value]
    return value


def as_json(summary: LatencySummary | ThroughputSummary | CycleResult) -> dict[str, Any]:
    data: dict[str, Any] = rounded(asdict(summary))
    return data
