"""The demo scenario: a JSON file describing the accounts and the master's steps (docs/scenarios.md).

The JSON shape is a contract: fields may be added, never renamed. Numbers are strings (``"0.5"``) so nothing is
rounded on the way in; a JSON float is refused with a message saying how to quote it. ``load_scenario`` returns a
validated ``Scenario`` or raises ``ScenarioError`` listing every problem with its path (``steps[3].qty: ...``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from runtime.config.errors import format_path
from runtime.config.model import SizingConfig
from runtime.demo.scenario_steps import (
    STEP_KINDS,
    Amount,
    AuditStep,
    CheckStep,
    CloseAllStep,
    DisconnectStep,
    FollowerOrderStep,
    KillSwitchStep,
    LeverageStep,
    MarkStep,
    OrderStep,
    PauseStep,
    ResumeStep,
    ScenarioModel,
    Seconds,
    Step,
    WaitStep,
)
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, PositionMode, Venue

# The step models live in scenario_steps; they are re-exported here, where callers have always imported them.
__all__ = [
    "STEP_KINDS", "AuditStep", "CheckStep", "CloseAllStep", "DisconnectStep", "FollowerOrderStep", "KillSwitchStep",
    "LeverageStep", "MarkStep", "OrderStep", "PauseStep", "ResumeStep", "Scenario", "ScenarioError",
    "ScenarioFollower", "ScenarioMaster", "ScenarioSizing", "Step", "WaitStep", "load_scenario", "parse_scenario",
]  # fmt: skip

DOCS = "docs/scenarios.md"


class ScenarioSizing(ScenarioModel):
    """Same fields and rules as a config follower's ``sizing`` (docs/configuration.md)."""

    mode: Literal["margin_ratio", "equity_ratio", "fixed_margin"] = "margin_ratio"
    margin_pct: Amount | None = None
    multiplier: Amount | None = None
    margin_usdt: Amount | None = None

    @model_validator(mode="after")
    def _valid_for_config(self) -> ScenarioSizing:
        try:
            self.to_config()
        except ValidationError as exc:
            detail = exc.errors(include_url=False)[0]
            ctx = dict(detail.get("ctx") or {})
            raise PydanticCustomError(
                "relative_field",
                "{detail}",
                {"field": str(ctx.get("field", "")), "detail": ctx.get("detail", detail["msg"])},
            ) from None
        return self

    def to_config(self) -> SizingConfig:
        return SizingConfig.model_validate(self.model_dump(exclude_none=True))


class ScenarioMaster(ScenarioModel):
    balance: Amount
    position_mode: PositionMode = PositionMode.ONE_WAY


class ScenarioFollower(ScenarioModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    venue: Venue
    balance: Amount
    position_mode: PositionMode = PositionMode.ONE_WAY
    sizing: ScenarioSizing
    leverage: Amount | Literal["follow"] = "follow"  # extension: a fixed follower leverage
    max_leverage: Amount | None = None  # extension: a cap on the leverage set on the follower

    @model_validator(mode="after")
    def _hedge_where_possible(self) -> ScenarioFollower:
        if self.venue is Venue.HYPERLIQUID and self.position_mode is PositionMode.HEDGE:
            raise PydanticCustomError("position_mode", 'hyperliquid has one-way positions only; use "one_way"')
        return self


class Scenario(ScenarioModel):
    name: str = "scenario"  # extension
    description: str = ""  # extension
    settle_timeout_s: Seconds = 15.0  # extension: the default wait of a check
    # The demo's audit: a check before an audit step has already waited for the copies, so no grace is needed.
    audit_grace_s: Seconds = 0.0  # extension: the grace period of an audit step that does not give its own
    heal: bool = False  # extension: the engine's heal mode ([engine] heal): the audit queues a HEAL job per finding
    marks: dict[str, Amount] = Field(default_factory=dict)
    master: ScenarioMaster
    followers: tuple[ScenarioFollower, ...] = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        seen: set[str] = set()
        for index, follower in enumerate(self.followers):
            if follower.id in seen or follower.id == "master":
                raise _at(f"followers[{index}].id", f"'{follower.id}' is used twice (or is 'master'); ids must differ")
            seen.add(follower.id)
        hedge_master = self.master.position_mode is PositionMode.HEDGE
        followers = {follower.id: follower for follower in self.followers}
        for index, step in enumerate(self.steps):
            if isinstance(step, (FollowerOrderStep, PauseStep, ResumeStep, CloseAllStep)):
                _check_follower_step(index, step, followers)
            if isinstance(step, OrderStep):
                if hedge_master and step.position_idx is PositionIdx.ONE_WAY:
                    raise _at(f"steps[{index}].position_idx", "the master is in hedge mode: give 1 (long) or 2 (short)")
                if not hedge_master and step.position_idx is not PositionIdx.ONE_WAY:
                    raise _at(f"steps[{index}].position_idx", "is only for a hedge-mode master; remove it")
        if not any(isinstance(step, CheckStep) for step in self.steps):
            raise _at("steps", 'has no {"do": "check"}: without one the demo verifies nothing; add one at the end')
        return self

    def symbols(self) -> list[str]:
        """Every master symbol the scenario names, in first-mention order."""
        names = list(self.marks)
        names += [
            step.symbol
            for step in self.steps
            if isinstance(step, (LeverageStep, OrderStep, MarkStep, FollowerOrderStep))
        ]
        return list(dict.fromkeys(names))

    def check_symbols(self, symbols: SymbolMap, listed: Mapping[Venue, Sequence[str]]) -> None:
        """Raise ``ScenarioError`` when a symbol has no name on a follower venue or is not listed there."""
        problems: list[str] = []
        venues = {Venue.BYBIT} | {follower.venue for follower in self.followers}
        for symbol in self.symbols():
            for venue in sorted(venues):
                if not symbols.is_mapped(symbol, venue):
                    problems.append(f"{symbol}: no {venue.value} name is known for it")
                    continue
                name = symbols.resolve(symbol, venue).symbol
                if name not in listed.get(venue, ()):
                    known = ", ".join(listed.get(venue, ()))
                    problems.append(
                        f"{symbol}: {venue.value} ({name}) is not listed by the simulator; use one of "
                        f"the master names for {known}"
                    )
        if problems:
            raise ScenarioError(None, problems)


def _check_follower_step(
    index: int, step: FollowerOrderStep | KillSwitchStep, followers: Mapping[str, ScenarioFollower]
) -> None:
    follower = followers.get(step.follower)
    if follower is None:
        known = ", ".join(followers)
        raise _at(f"steps[{index}].follower", f"'{step.follower}' is not one of the followers ({known})")
    if not isinstance(step, FollowerOrderStep):
        return
    hedge = follower.position_mode is PositionMode.HEDGE
    if hedge and step.position_idx is PositionIdx.ONE_WAY:
        raise _at(
            f"steps[{index}].position_idx", f"follower {follower.id} is in hedge mode: give 1 (long) or 2 (short)"
        )
    if not hedge and step.position_idx is not PositionIdx.ONE_WAY:
        raise _at(f"steps[{index}].position_idx", f"is only for a hedge-mode follower; {follower.id} is one-way")


def _at(field: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("scenario_field", "{detail}", {"field": field, "detail": message})


class ScenarioError(Exception):
    """A scenario file cannot be played. The message names the file, each problem's path and what to do."""

    def __init__(self, source: Path | None, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        where = str(source) if source is not None else "scenario"
        if len(self.problems) == 1:
            text = f"{where}: {self.problems[0]}"
        else:
            text = f"{where}: {len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{text}\n(the scenario format is described in {DOCS})")


def parse_scenario(raw: object, *, source: Path | None = None) -> Scenario:
    """Validate already-parsed JSON into a ``Scenario``."""
    if not isinstance(raw, dict):
        raise ScenarioError(source, ["must be a JSON object with master, followers and steps"])
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(detail) for detail in exc.errors(include_url=False)]
        raise ScenarioError(source, list(dict.fromkeys(problems))) from None


def load_scenario(path: str | Path) -> Scenario:
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(source, ["no such file; pass --scenario PATH (examples/scenarios/ has some)"]) from None
    except OSError as exc:
        raise ScenarioError(source, [f"cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ScenarioError(source, ["is not UTF-8 text"]) from None
    try:
        raw = json.loads(text, parse_float=float)
    except json.JSONDecodeError as exc:
        raise ScenarioError(source, [f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]) from None
    return parse_scenario(raw, source=source)


def _problem(detail: ErrorDetails) -> str:
    loc = list(detail["loc"])
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    if detail["type"] == "scenario_field":
        return f"{ctx['field']}: {ctx['detail']}"
    if detail["type"] == "relative_field":
        return f"{format_path([*loc, ctx['field']] if ctx['field'] else loc)}: {ctx['detail']}"
    # A step's location includes the discriminator value ("steps", 3, "order", "qty"); the tag is noise.
    if len(loc) > 2 and loc[0] == "steps" and loc[2] in STEP_KINDS:
        del loc[2]
    path = format_path(loc) or "scenario"
    kind = detail["type"]
    if kind == "missing":
        return f"{path}: is required but missing"
    if kind == "extra_forbidden":
        return f"{path}: is not a known field (see {DOCS})"
    if kind == "union_tag_invalid":
        return f"{path}.do: must be one of {', '.join(STEP_KINDS)}"
    if kind == "union_tag_not_found":
        return f'{path}: needs "do" (one of {", ".join(STEP_KINDS)})'
    message = detail["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    return f"{path}: {message}"
