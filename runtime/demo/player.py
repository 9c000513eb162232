"""Playing a scenario's steps against the running world.

The master trades as a real trader would: through pybit's HTTP client against the Bybit simulator (``leverage`` ->
set_leverage, ``order`` -> a market order). Marks and the stream drop go through the simulators' admin API. A step
that fails (the simulator refused the master's order, say) ends the scenario: later steps would not mean what the
author meant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.demo.checks import Checker, CheckResult
from runtime.demo.scenario import (
    CheckStep,
    DisconnectStep,
    LeverageStep,
    MarkStep,
    OrderStep,
    Step,
    WaitStep,
)
from runtime.demo.world import DemoWorld
from runtime.domain.values import PositionIdx, decimal_str


@dataclass(frozen=True)
class StepEvent:
    index: int  # 0-based position in the scenario
    total: int
    text: str
    phase: str  # "start", "done" or "failed"
    elapsed_s: float
    error: str = ""
    check: CheckResult | None = None


StepListener = Callable[[StepEvent], None]


@dataclass
class PlayResult:
    steps: list[StepEvent] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""


def describe(step: Step) -> str:
    """One line for the live view and the report."""
    if isinstance(step, LeverageStep):
        return f"master sets {step.symbol} leverage to {decimal_str(step.leverage)}x"
    if isinstance(step, OrderStep):
        leg = "" if step.position_idx is PositionIdx.ONE_WAY else f" on leg {int(step.position_idx)}"
        reduce = " reduce-only" if step.reduce_only else ""
        return f"master {step.side.value.lower()}s {decimal_str(step.qty)} {step.symbol}{leg}{reduce}"
    if isinstance(step, MarkStep):
        return f"mark of {step.symbol} moves to {decimal_str(step.price)}"
    if isinstance(step, DisconnectStep):
        return "the master's stream is cut (the engine must reconnect and replay the gap)"
    if isinstance(step, WaitStep):
        return f"wait {step.seconds:g} s"
    return f"check{': ' + step.name if step.name else ''}"


class Player:
    def __init__(self, world: DemoWorld, checker: Checker, listener: StepListener | None = None) -> None:
        self.world = world
        self.checker = checker
        self._listener = listener or (lambda event: None)
        self._started = time.monotonic()

    async def play(self) -> PlayResult:
        result = PlayResult()
        steps = self.world.scenario.steps
        self._started = time.monotonic()
        for index, step in enumerate(steps):
            text = describe(step)
            self._emit(result, StepEvent(index, len(steps), text, "start", self._elapsed()))
            try:
                check = await self._run(index, step)
            except Exception as exc:
                error = f"step {index + 1} ({text}) failed: {type(exc).__name__}: {exc}"
                self._emit(result, StepEvent(index, len(steps), text, "failed", self._elapsed(), error=error))
                result.error = error
                return result
            if check is not None:
                result.checks.append(check)
            self._emit(result, StepEvent(index, len(steps), text, "done", self._elapsed(), check=check))
        return result

    async def _run(self, index: int, step: Step) -> CheckResult | None:
        world = self.world
        if isinstance(step, LeverageStep):
            await world.master.set_leverage(step.symbol, step.leverage)
        elif isinstance(step, OrderStep):
            await world.master.market(
                step.symbol, step.side, step.qty, reduce_only=step.reduce_only, position_idx=step.position_idx
            )
        elif isinstance(step, MarkStep):
            await world.set_mark(step.symbol, step.price)
        elif isinstance(step, DisconnectStep):
            await world.drop_master_stream()
        elif isinstance(step, WaitStep):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, CheckStep):
            timeout = step.timeout_s if step.timeout_s is not None else world.scenario.settle_timeout_s
            return await self.checker.check(index, step.name, timeout)
        return None

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _emit(self, result: PlayResult, event: StepEvent) -> None:
        if event.phase != "start":
            result.steps.append(event)
        self._listener(event)
