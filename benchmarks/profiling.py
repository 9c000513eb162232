"""Where an engine cycle's time goes: the zero-latency engine run under cProfile, own time grouped by part.

cProfile slows Python code down (about 1.5x here) and not C code, so read the shares, not the seconds.
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.master_changes import master_cycles
from benchmarks.population import follower_specs
from benchmarks.runs import run_engine
from benchmarks.world import WorldSettings, build_world

# (path fragment or C-function name fragment, part), first match wins
_PARTS: tuple[tuple[str, str], ...] = (
    ("sqlite3", "store: SQLite statements and commits"),
    ("runtime/adapters/sqlite_", "store: SqliteStore and its pool"),
    ("runtime/adapters/paper/", "paper venue (in-process)"),
    ("runtime/sim/", "paper venue (in-process)"),
    ("uuid", "paper venue (in-process)"),
    ("runtime/services/workers.py", "engine: workers"),
    ("runtime/services/dispatcher.py", "engine: dispatcher"),
    ("runtime/services/", "engine: executor and its modules"),
    ("runtime/domain/", "engine: domain (sizing, planning, shaping, ids, risk)"),
    ("runtime/", "engine: other runtime code"),
    ("asyncio", "asyncio event loop"),
    ("dataclasses", "dataclasses.replace (frozen records)"),
    ("json", "json (store rows)"),
    ("benchmarks/", "benchmark harness"),
)


@dataclass(frozen=True)
class ProfileShare:
    name: str
    seconds: float
    share: float


def _part(filename: str, function: str) -> str:
    where = filename if filename != "~" else function
    for fragment, part in _PARTS:
        if fragment in where:
            return part
    return "other (builtins, stdlib)"


def _module(filename: str, function: str) -> str:
    if filename == "~":
        return function
    marker = next((m for m in ("/runtime/", "/benchmarks/") if m in filename), None)
    if marker is not None:
        return filename[filename.index(marker) + 1 :]
    return "stdlib/" + Path(filename).name


def _shares(totals: dict[str, float], total: float, top: int) -> list[ProfileShare]:
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return [ProfileShare(name, round(seconds, 4), round(seconds / total, 4)) for name, seconds in ranked]


async def profile_engine(
    followers: int, settings: WorldSettings, cycles: int, *, top: int = 20
) -> tuple[list[ProfileShare], list[ProfileShare]]:
    """(own time by part, own time by module) of ``cycles`` engine cycles for ``followers`` followers."""
    with tempfile.TemporaryDirectory(prefix="copytrader-profile-") as directory:
        world = build_world(follower_specs(followers, settings.seed), settings, Path(directory))
        try:
            await world.warm_up()
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                await run_engine(world, master_cycles(cycles))
            finally:
                profiler.disable()
        finally:
            world.close()
    by_part: dict[str, float] = defaultdict(float)
    by_module: dict[str, float] = defaultdict(float)
    stats = pstats.Stats(profiler)
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        own_time = row[2]
        by_part[_part(filename, function)] += own_time
        by_module[_module(filename, function)] += own_time
    total = sum(by_part.values()) or 1.0
    return _shares(by_part, total, len(by_part)), _shares(by_module, total, top)
