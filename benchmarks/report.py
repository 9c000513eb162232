"""The benchmark's results: one entry per follower count, the issue's targets judged, the machine, the table."""

from __future__ import annotations

import os
import platform
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from benchmarks.runs import CycleResult
from benchmarks.stats import LatencySummary, ThroughputSummary, as_json, engine_to_sequential


@dataclass
class FollowerCountResult:
    """Every run for one follower count. The ``normal_*`` runs repeat (b) with the store's synchronous=NORMAL, to
    show what the per-commit fsync of the default (FULL) costs; they are a comparison, not the headline."""

    followers: int
    synchronous: str  # the store's mode of the headline runs
    engine: list[CycleResult]
    sequential: list[CycleResult]
    zero_latency: list[CycleResult] = field(default_factory=list)
    normal_engine: list[CycleResult] = field(default_factory=list)
    normal_zero_latency: list[CycleResult] = field(default_factory=list)
    # The executor exactly as the engine runs it (concurrent reads, leverage cached), one follower at a time: how
    # much of (b)'s gain is the parallelism across followers alone.
    sequential_as_is: list[CycleResult] = field(default_factory=list)
    # The store's calls per follower order in the zero-latency run (method -> calls, us per call, ms per order).
    store_per_order: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def engine_summary(self) -> LatencySummary:
        return LatencySummary.of(self.engine)

    @property
    def sequential_summary(self) -> LatencySummary:
        return LatencySummary.of(self.sequential)

    @property
    def throughput(self) -> ThroughputSummary:
        return ThroughputSummary.of(self.zero_latency)

    @property
    def engine_to_sequential(self) -> float:
        return engine_to_sequential(self.engine, self.sequential)


@dataclass(frozen=True)
class Target:
    followers: int
    name: str
    limit: str
    measured: float
    met: bool


def targets(result: FollowerCountResult) -> list[Target]:
    """The issue's targets that apply to this follower count."""
    n, engine = result.followers, result.engine_summary
    found: list[Target] = []
    if n == 15 and result.sequential:
        ratio = result.engine_to_sequential
        found.append(Target(n, "(b)/(a), p50 cycle", "<= 0.1", ratio, ratio <= 0.1))
    if n == 100:
        found.append(
            Target(
                n,
                "(b) / slowest order call, p50",
                "<= 1.5",
                engine.ratio_to_order_floor_p50,
                engine.ratio_to_order_floor_p50 <= 1.5,
            )
        )
    if n == 1000:
        found.append(
            Target(
                n,
                "(b) / slowest order call, p50",
                "<= 3",
                engine.ratio_to_order_floor_p50,
                engine.ratio_to_order_floor_p50 <= 3.0,
            )
        )
        if result.zero_latency:
            rate = result.throughput.orders_per_s
            found.append(Target(n, "follower orders per second, zero latency", ">= 500", rate, rate >= 500))
    return found


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def _latency(cycles: list[CycleResult]) -> dict[str, Any] | None:
    return as_json(LatencySummary.of(cycles)) if cycles else None


def _throughput(cycles: list[CycleResult]) -> dict[str, Any] | None:
    return as_json(ThroughputSummary.of(cycles)) if cycles else None


def document(
    results: list[FollowerCountResult], settings: dict[str, Any], profile: dict[str, Any] | None = None
) -> dict[str, Any]:
    runs = []
    for result in results:
        entry: dict[str, Any] = {
            "followers": result.followers,
            "engine": _latency(result.engine),
            "sequential": _latency(result.sequential),
            "engine_to_sequential_p50": round(result.engine_to_sequential, 6),
            "sequential_as_is": _latency(result.sequential_as_is),
            "engine_to_sequential_as_is_p50": round(engine_to_sequential(result.engine, result.sequential_as_is), 6),
            "zero_latency": _throughput(result.zero_latency),
            "zero_latency_store_per_order": result.store_per_order,
            "store_synchronous_normal": {
                "engine": _latency(result.normal_engine),
                "zero_latency": _throughput(result.normal_zero_latency),
            },
            "targets": [target.__dict__ for target in targets(result)],
            "cycles": {
                "engine": [as_json(cycle) for cycle in result.engine],
                "sequential": [as_json(cycle) for cycle in result.sequential],
                "sequential_as_is": [as_json(cycle) for cycle in result.sequential_as_is],
                "zero_latency": [as_json(cycle) for cycle in result.zero_latency],
            },
        }
        runs.append(entry)
    doc: dict[str, Any] = {"benchmark": "copy_cycle", "machine": machine(), "settings": settings, "runs": runs}
    if profile is not None:
        doc["profile"] = profile
    return doc


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def markdown_table(results: list[FollowerCountResult]) -> str:
    """The headline table (times in ms, p50 / p99 over the cycles)."""
    lines = [
        "| followers | (a) sequential p50 / p99 ms | (b) engine p50 / p99 ms | (b)/(a) | slowest order call p50 ms "
        "| (b) / slowest order p50 / p99 | slowest follower path p50 ms | (b) / path p50 | "
        "zero latency: ms per order (engine only) | orders/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        e, s = result.engine_summary, result.sequential_summary
        seq = f"{_ms(s.p50_s)} / {_ms(s.p99_s)} ({s.cycles} cycles)" if result.sequential else "-"
        ratio = f"{result.engine_to_sequential:.3f}" if result.sequential else "-"
        zero = result.throughput
        overhead = f"{zero.ms_per_order:.2f} ({zero.engine_only_ms_per_order:.2f})" if result.zero_latency else "-"
        rate = f"{zero.orders_per_s:.0f}" if result.zero_latency else "-"
        lines.append(
            f"| {result.followers} | {seq} | {_ms(e.p50_s)} / {_ms(e.p99_s)} | {ratio} | {_ms(e.order_floor_p50_s)} "
            f"| {e.ratio_to_order_floor_p50:.2f} / {e.ratio_to_order_floor_p99:.2f} | {_ms(e.path_floor_p50_s)} "
            f"| {e.ratio_to_path_floor_p50:.2f} | {overhead} | {rate} |"
        )
    return "\n".join(lines)


def as_is_lines(results: list[FollowerCountResult]) -> str:
    """The (a') comparison: the engine's executor as is, one follower at a time."""
    lines = []
    for result in results:
        if result.sequential_as_is:
            summary = LatencySummary.of(result.sequential_as_is)
            ratio = engine_to_sequential(result.engine, result.sequential_as_is)
            lines.append(
                f"(a') {result.followers} followers, the executor as is (concurrent reads, leverage cached), one "
                f"follower at a time: p50 {_ms(summary.p50_s)} ms over {summary.cycles} cycles; (b)/(a') = {ratio:.3f}"
            )
    return "\n".join(lines)


def cost_table(results: list[FollowerCountResult]) -> str:
    """Zero injected latency: where each follower order's time goes, with the default store and with NORMAL."""
    lines = [
        "| followers | store synchronous | ms per order | of which store | of which paper venue | rest of the engine "
        "| orders/s | (b) p50 ms with latency | (b) / slowest order p50 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        runs = (
            (result.synchronous, result.zero_latency, result.engine),
            ("NORMAL", result.normal_zero_latency, result.normal_engine),
        )
        for mode, zero_cycles, latency_cycles in runs:
            if not zero_cycles:
                continue
            zero = ThroughputSummary.of(zero_cycles)
            rest = zero.ms_per_order - zero.store_ms_per_order - zero.venue_ms_per_order
            latency = LatencySummary.of(latency_cycles) if latency_cycles else None
            p50 = _ms(latency.p50_s) if latency else "-"
            ratio = f"{latency.ratio_to_order_floor_p50:.2f}" if latency else "-"
            lines.append(
                f"| {result.followers} | {mode} | {zero.ms_per_order:.3f} | {zero.store_ms_per_order:.3f} "
                f"| {zero.venue_ms_per_order:.3f} | {rest:.3f} | {zero.orders_per_s:.0f} | {p50} | {ratio} |"
            )
    return "\n".join(lines)


def store_table(results: list[FollowerCountResult]) -> str:
    """The store's work per follower order (zero latency, the headline store mode), at the largest count."""
    largest = max(results, key=lambda result: result.followers)
    lines = [
        f"| store call ({largest.followers} followers, {largest.synchronous}) | calls per order | us per call "
        "| ms per order |",
        "|---|---:|---:|---:|",
    ]
    for name, use in largest.store_per_order.items():
        lines.append(
            f"| {name} | {use['calls_per_order']:.2f} | {use['us_per_call']:.0f} | {use['ms_per_order']:.3f} |"
        )
    return "\n".join(lines)


def targets_table(results: list[FollowerCountResult]) -> str:
    lines = ["| followers | target | limit | measured | met |", "|---:|---|---|---:|---|"]
    for result in results:
        for target in targets(result):
            met = "yes" if target.met else "**no**"
            lines.append(f"| {target.followers} | {target.name} | {target.limit} | {target.measured:.3f} | {met} |")
    return "\n".join(lines)
