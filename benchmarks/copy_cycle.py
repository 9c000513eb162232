"""The copy-cycle benchmark of issue 5 (``make bench``; docs/benchmarks.md explains the method).

For each follower count, with the same seed: (b) the engine (dispatcher + per-follower workers) and (a) the original
sequential model (the same executor, one follower after another, one venue call at a time) carry the master's
changes to every follower over in-process paper venues whose calls take uniform(1, 9) s x ``--scale``; then (b)
again with no injected latency, for the engine's own cost per follower order. Writes ``--out`` (JSON) and prints
the markdown tables.

    python -m benchmarks.copy_cycle --followers 15,100,1000 --scale 0.01 --seed 7 --cycles 20
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from benchmarks.master_changes import MasterCycle, master_cycles
from benchmarks.population import follower_specs
from benchmarks.profiling import profile_engine
from benchmarks.report import (
    FollowerCountResult,
    as_is_lines,
    cost_table,
    document,
    markdown_table,
    store_table,
    targets_table,
)
from benchmarks.runs import CycleResult, run_engine, run_sequential
from benchmarks.world import World, WorldSettings, build_world

DEFAULT_OUT = Path("docs/benchmarks/results.json")
PROFILE_CYCLES = 3
BUSY_LOAD = 0.5  # 1-minute load average above which other work on the machine skews the timings


def _counts(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or any(value < 0 for value in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 0, got {text!r}")
    return values


def _scale(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"the scale is a number such as 0.01, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"the scale must be >= 0, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.copy_cycle", description="The copy-cycle benchmark of issue 5 (docs/benchmarks.md)."
    )
    parser.add_argument("--followers", type=_counts, default=[15, 100, 1000], help="follower counts (15,100,1000)")
    parser.add_argument("--scale", type=_scale, default=Decimal("0.01"), help="latency scale (0.01: 10-90 ms a call)")
    parser.add_argument("--seed", type=int, default=7, help="seeds the followers and every venue's latency")
    parser.add_argument("--cycles", type=int, default=20, help="master changes per engine run (20)")
    parser.add_argument(
        "--sequential-cycles",
        type=_counts,
        default=[5, 5, 1],
        help="master changes for the sequential model, one per follower count (5,5,1: it is slow by nature; 0 skips)",
    )
    parser.add_argument("--zero-latency-cycles", type=int, default=10, help="engine cycles with no latency (10)")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="the SQLite store's synchronous mode (FULL, the engine's default; NORMAL only to compare)",
    )
    parser.add_argument(
        "--compare-normal",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run (b) with the store's synchronous=NORMAL, to show what FULL's fsync per commit costs",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="profile 3 zero-latency engine cycles at the largest follower count (cProfile, own time by part)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the JSON results ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if len(args.sequential_cycles) == 1:
        args.sequential_cycles = args.sequential_cycles * len(args.followers)
    if len(args.sequential_cycles) != len(args.followers):
        parser.error("--sequential-cycles needs one number per follower count (or a single number for all)")
    if args.cycles < 1 or args.zero_latency_cycles < 0:
        parser.error("--cycles must be >= 1 and --zero-latency-cycles >= 0")
    return args


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


Runner = Callable[[World, list[MasterCycle]], Awaitable[list[CycleResult]]]


async def _measure(
    followers: int,
    settings: WorldSettings,
    cycles: list[MasterCycle],
    runner: Runner,
    label: str,
    store_use: dict[str, dict[str, float]] | None = None,
) -> list[CycleResult]:
    """Run ``cycles`` in a fresh world; ``store_use`` (when given) receives the store's calls per order."""
    if not cycles:
        return []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="copytrader-bench-") as directory:
        world = build_world(follower_specs(followers, settings.seed), settings, Path(directory))
        try:
            await world.warm_up()
            results = await runner(world, cycles)
            if store_use is not None:
                store_use.update(world.store.per_order(sum(result.orders for result in results)))
        finally:
            world.close()
    _say(f"  {label}: {len(cycles)} cycles in {time.monotonic() - started:.1f} s")
    return results


async def run(args: argparse.Namespace) -> list[FollowerCountResult]:
    results: list[FollowerCountResult] = []
    for followers, sequential_count in zip(args.followers, args.sequential_cycles, strict=True):
        _say(f"{followers} followers")
        latency = WorldSettings(args.seed, args.scale, args.sqlite_synchronous)
        engine = await _measure(followers, latency, master_cycles(args.cycles), run_engine, "(b) engine")
        serial = WorldSettings(args.seed, args.scale, args.sqlite_synchronous, serial_calls=True)
        sequential = await _measure(
            followers, serial, master_cycles(sequential_count), run_sequential, "(a) sequential model"
        )
        zero = WorldSettings(args.seed, Decimal(0), args.sqlite_synchronous)
        store_use: dict[str, dict[str, float]] = {}
        throughput = await _measure(
            followers, zero, master_cycles(args.zero_latency_cycles), run_engine, "(b) engine, zero latency", store_use
        )
        result = FollowerCountResult(followers, args.sqlite_synchronous, engine, sequential, throughput)
        result.store_per_order = store_use
        if followers == min(args.followers):
            result.sequential_as_is = await _measure(
                followers,
                latency,
                master_cycles(sequential_count),
                functools.partial(run_sequential, forget_leverage=False),
                "(a') the engine's executor as is, one follower at a time",
            )
        if args.compare_normal and args.sqlite_synchronous != "NORMAL":
            normal = WorldSettings(args.seed, args.scale, "NORMAL")
            result.normal_engine = await _measure(
                followers, normal, master_cycles(args.cycles), run_engine, "(b) engine, store NORMAL"
            )
            normal_zero = WorldSettings(args.seed, Decimal(0), "NORMAL")
            result.normal_zero_latency = await _measure(
                followers,
                normal_zero,
                master_cycles(args.zero_latency_cycles),
                run_engine,
                "(b) engine, zero latency, store NORMAL",
            )
        results.append(result)
    return results


async def profile(args: argparse.Namespace) -> dict[str, Any]:
    followers = max(args.followers)
    started = time.monotonic()
    settings = WorldSettings(args.seed, Decimal(0), args.sqlite_synchronous)
    by_part, by_module = await profile_engine(followers, settings, PROFILE_CYCLES)
    elapsed = time.monotonic() - started
    _say(f"profile: {PROFILE_CYCLES} zero-latency cycles at {followers} followers in {elapsed:.1f} s")
    return {
        "followers": followers,
        "cycles": PROFILE_CYCLES,
        "store_synchronous": args.sqlite_synchronous,
        "note": "cProfile own time; Python code runs ~1.5x slower under the profiler, C code does not: read shares",
        "by_part": [share.__dict__ for share in by_part],
        "by_module": [share.__dict__ for share in by_module],
    }


def profile_table(data: dict[str, Any]) -> str:
    lines = ["| part | share of own time |", "|---|---:|"]
    lines += [f"| {row['name']} | {row['share'] * 100:.1f}% |" for row in data["by_part"]]
    return "\n".join(lines)


def _load() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_at_start = _load()
    if load_at_start > BUSY_LOAD:
        _say(f"warning: the machine is busy (load average {load_at_start}); the timings will be noisy")
    results = asyncio.run(run(args))
    profiled = asyncio.run(profile(args)) if args.profile else None
    settings = {
        "seed": args.seed,
        "scale": str(args.scale),
        "latency": "uniform(1, 9) s x scale per venue call, each venue its own seeded RNG",
        "cycles": args.cycles,
        "sequential_cycles": dict(zip(map(str, args.followers), args.sequential_cycles, strict=True)),
        "zero_latency_cycles": args.zero_latency_cycles,
        "sqlite_synchronous": args.sqlite_synchronous,
        "wall_time_s": round(time.monotonic() - started, 1),
        "load_average_1m": {"start": load_at_start, "end": _load()},
        "command": "python -m benchmarks.copy_cycle " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document(results, settings, profiled), indent=2) + "\n", encoding="utf-8")
    tables = (markdown_table, as_is_lines, targets_table, cost_table, store_table)
    for table in (render(results) for render in tables):
        print(table, end="\n\n")
    if profiled is not None:
        print(profile_table(profiled))
    _say(f"results written to {args.out} ({settings['wall_time_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
