"""The scenario's building blocks: exact numbers, timings, and one model per step kind (docs/scenarios.md).

Numbers are strings (``"0.5"``) so nothing is rounded on the way in; a JSON float is refused with a message saying
how to quote it. Only timings (``seconds``, ``timeout_s``, ``grace_s``) may be plain JSON numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from runtime.domain.values import PositionIdx, Side, to_decimal


def _exact_number(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "must be a number written as a string, not true/false")
    if isinstance(value, float):
        raise PydanticCustomError(
            "float_number",
            'is a JSON float ({value}); numbers are strings in scenarios so no digit is lost: write "{value}"',
            {"value": repr(value)},
        )
    if isinstance(value, (str, int, Decimal)):
        try:
            return to_decimal(value)
        except (TypeError, ValueError):
            raise PydanticCustomError("number_parsing", 'is not a number; write e.g. "0.5"') from None
    raise PydanticCustomError("number_type", 'must be a number written as a string, e.g. "0.5"')


def _seconds(value: object) -> object:
    # A duration is a timing, not money: a JSON number is fine here, and so is a string.
    if isinstance(value, bool):
        raise PydanticCustomError("seconds_type", "must be a number of seconds, not true/false")
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise PydanticCustomError("seconds_parsing", 'must be a number of seconds, e.g. "1.5"') from None
    return value


Amount = Annotated[Decimal, BeforeValidator(_exact_number), Field(gt=0)]
Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0, le=600)]


class ScenarioModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LeverageStep(ScenarioModel):
    do: Literal["leverage"]
    symbol: str
    leverage: Amount


class OrderStep(ScenarioModel):
    do: Literal["order"]
    symbol: str
    side: Side
    qty: Amount
    reduce_only: bool = False
    position_idx: PositionIdx = PositionIdx.ONE_WAY


class MarkStep(ScenarioModel):
    do: Literal["mark"]
    symbol: str
    price: Amount


class DisconnectStep(ScenarioModel):
    do: Literal["disconnect"]


class WaitStep(ScenarioModel):
    do: Literal["wait"]
    seconds: Seconds


class CheckStep(ScenarioModel):
    do: Literal["check"]
    name: str = ""  # extension: a label shown in the report and the summary
    timeout_s: Seconds | None = None  # extension: how long to wait for the followers to settle


class AuditStep(ScenarioModel):
    """One audit pass now (docs/audit.md), its findings recorded in the report."""

    do: Literal["audit"]
    name: str = ""
    grace_s: Seconds | None = None  # default: the scenario's audit_grace_s


class FollowerOrderStep(ScenarioModel):
    """A trade on a follower's account behind the engine's back (the follower's owner trading by hand)."""

    do: Literal["follower_order"]
    follower: str
    symbol: str  # the master's name; placed on the follower's venue under its own name
    side: Side
    qty: Amount  # in the follower venue's units
    reduce_only: bool = False
    position_idx: PositionIdx = PositionIdx.ONE_WAY  # 1 or 2 for a hedge-mode follower


class PauseStep(ScenarioModel):
    """The kill switch: no new copies for the follower; closes and reductions still go through."""

    do: Literal["pause"]
    follower: str


class ResumeStep(ScenarioModel):
    do: Literal["resume"]
    follower: str


class CloseAllStep(ScenarioModel):
    """The kill switch's close-all: pause the follower, then close everything it holds (reduce-only)."""

    do: Literal["close_all"]
    follower: str


KillSwitchStep = PauseStep | ResumeStep | CloseAllStep
Step = Annotated[
    LeverageStep
    | OrderStep
    | MarkStep
    | DisconnectStep
    | WaitStep
    | CheckStep
    | AuditStep
    | FollowerOrderStep
    | PauseStep
    | ResumeStep
    | CloseAllStep,
    Field(discriminator="do"),
]
STEP_KINDS = (
    "leverage", "order", "mark", "disconnect", "wait", "check", "audit", "follower_order", "pause", "resume",
    "close_all",
)  # fmt: skip
