"""Playing a scenario's steps against the running world.

The master trades as a real trader would: through pybit's HTTP client against the Bybit simulator (``leverage`` ->
set_leverage, ``order`` -> a market order). Marks and the stream drop go through the simulators' admin API. A
follower's own trades, the kill switch and audit passes go through ``DemoOperator``. A step that fails (the
simulator refused the master's order, say) ends the scenario: later steps would not mean what the author meant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.adapters.common.redaction import SecretRegistry
from runtime.demo.checks import Checker, CheckResult
from runtime.demo.hosts import DemoEngine
from runtime.demo.operator import AuditRun, DemoOperator
from runtime.demo.scenario import (
    AuditStep,
    CheckStep,
    CloseAllStep,
    DisconnectStep,
    FollowerOrderStep,
    LeverageStep,
    MarkStep,
    OrderStep,
    PauseStep,
    ResumeStep,
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
    audit: AuditRun | None = None


StepListener = Callable[[StepEvent], None]


@dataclass
class PlayResult:
    steps: list[StepEvent] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    audits: list[AuditRun] = field(default_factory=list)
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
    if isinstance(step, FollowerOrderStep):
        leg = "" if step.position_idx is PositionIdx.ONE_WAY else f" on leg {int(step.position_idx)}"
        reduce = " reduce-only" if step.reduce_only else ""
        return (
            f"follower {step.follower} {step.side.value.lower()}s {decimal_str(step.qty)} {step.symbol}{leg}{reduce} "
            "behind the engine's back"
        )
    if isinstance(step, PauseStep):
        return f"kill switch: pause {step.follower} (no new copies; closes go through)"
    if isinstance(step, ResumeStep):
        return f"kill switch: resume {step.follower}"
    if isinstance(step, CloseAllStep):
        return f"kill switch: close all of {step.follower} (pause, then reduce-only closes)"
    if isinstance(step, AuditStep):
        return f"audit{': ' + step.name if step.name else ''}"
    return f"check{': ' + step.name if step.name else ''}"


class Player:
    def __init__(
        self,
        world: DemoWorld[DemoEngine],
        checker: Checker,
        listener: StepListener | None = None,
        *,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self.world = world
        self.checker = checker
        self.operator = DemoOperator(world, secrets=secrets)
        self._listener = listener or (lambda event: None)
        self._started = time.monotonic()

    async def play(self) -> PlayResult:
        try:
            return await self._play()
        finally:
            await self.operator.close()

    async def _play(self) -> PlayResult:
        result = PlayResult()
        steps = self.world.scenario.steps
        self._started = time.monotonic()
        for index, step in enumerate(steps):
            text = describe(step)
            self._emit(result, StepEvent(index, len(steps), text, "start", self._elapsed()))
            try:
                done = await self._run(index, step)
            except Exception as exc:
                error = f"step {index + 1} ({text}) failed: {type(exc).__name__}: {exc}"
                self._emit(result, StepEvent(index, len(steps), text, "failed", self._elapsed(), error=error))
                result.error = error
                return result
            check = done if isinstance(done, CheckResult) else None
            audit = done if isinstance(done, AuditRun) else None
            if check is not None:
                result.checks.append(check)
            if audit is not None:
                result.audits.append(audit)
            self._emit(result, StepEvent(index, len(steps), text, "done", self._elapsed(), check=check, audit=audit))
        return result

    async def _run(self, index: int, step: Step) -> CheckResult | AuditRun | None:
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
        elif isinstance(step, AuditStep):
            return await self.operator.audit(index, step)
        elif isinstance(step, FollowerOrderStep):
            await self.operator.follower_order(step)
        elif isinstance(step, (PauseStep, ResumeStep, CloseAllStep)):
            await self.operator.kill_switch(step)
        return None

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _emit(self, result: PlayResult, event: StepEvent) -> None:
        if event.phase != "start":
            result.steps.append(event)
        self._listener(event)
