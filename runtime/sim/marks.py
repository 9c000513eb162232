"""Scripted mark paths: a list of (delay, price) steps played by an asyncio task against one engine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from runtime.sim.matching import MatchingEngine


@dataclass(frozen=True)
class MarkStep:
    after_ms: int  # wait this long after the previous step (or the start)
    price: Decimal


class MarkPathPlayer:
    """One running path per symbol; a new path or a fixed mark for that symbol replaces the running one."""

    def __init__(self, engine: MatchingEngine) -> None:
        self.engine = engine
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def play(self, symbol: str, steps: Sequence[MarkStep]) -> None:
        self.engine.instrument(symbol)  # refuse an unknown symbol now, not inside the task
        for step in steps:
            if step.after_ms < 0 or step.price <= 0:
                raise ValueError(f"a mark step needs after_ms >= 0 and price > 0, got {step}")
        self.cancel(symbol)
        self._tasks[symbol] = asyncio.create_task(self._run(symbol, list(steps)), name=f"mark-path-{symbol}")

    def running(self, symbol: str) -> bool:
        task = self._tasks.get(symbol)
        return task is not None and not task.done()

    def cancel(self, symbol: str) -> None:
        task = self._tasks.pop(symbol, None)
        if task is not None:
            task.cancel()

    async def stop_all(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, symbol: str, steps: list[MarkStep]) -> None:
        for step in steps:
            await asyncio.sleep(step.after_ms / 1000)
            self.engine.set_mark(symbol, step.price)
