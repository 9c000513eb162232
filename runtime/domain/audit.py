"""The audit's rules (design brief section 6): is a follower where the master says it should be, and should anyone
be told? Pure functions, Decimal only.

One **comparison** is one follower leg against the master leg(s) it copies: a hedge follower's leg 1 against the
master's leg 1, or a one-way follower's single position against the *net* of a hedge master's two legs (each leg
with its own lifecycle's k). ``expected = sum(master_size x k x unit_ratio)`` is the ideal, unrounded target; the
follower's live size is what the venue says.

Verdicts, in this order:

- any contributing master leg moved less than the grace period ago -> not judged (the copy may be in flight);
- expected 0 and the follower holds anything -> **ExtraPosition** (a master-flat target is closed exactly, so any
  remainder is real exposure the master does not have);
- |actual - expected| within one quantity step -> fine (the engine rounds, so the follower sits up to a step off);
- follower flat -> **MissingPosition**;
- otherwise the deviation |actual - expected| / |expected| in percent above the threshold -> **SizeMismatch**.

Deduplication (``decide_alert``) compares with the ``AlertState`` stored for the same leg: a new discrepancy (or one
whose kind changed) alerts; a known one alerts again only when its deviation moved by at least the re-alert step
(1 percentage point by default) since the last alert; a steady one never repeats; a cleared one sends "resolved".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from runtime.domain.values import ZERO, PositionIdx, decimal_str
from runtime.ports.store import AlertState

HUNDRED = Decimal(100)
DEVIATION_QUANTUM = Decimal("0.01")
DISPLAY_QUANTUM = Decimal("1e-8")  # percent to two decimals: finer is noise, and the 1 pp rule never sees it


class DiscrepancyKind(StrEnum):
    MISSING_POSITION = "MissingPosition"  # master holds, follower flat
    EXTRA_POSITION = "ExtraPosition"  # follower holds, master flat
    SIZE_MISMATCH = "SizeMismatch"  # both hold, deviation beyond the threshold


@dataclass(frozen=True)
class AuditThresholds:
    """The tunables of brief section 6 (``[engine]`` in the config): grace, mismatch threshold, re-alert step.

    Percentages are percent (5 = 5%); the re-alert step is in percentage points.
    """

    grace_ms: int = 60_000
    mismatch_threshold_pct: Decimal = Decimal(5)
    realert_step_pp: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if self.grace_ms < 0:
            raise ValueError(f"audit grace must be >= 0 ms, got {self.grace_ms}")
        if not isinstance(self.mismatch_threshold_pct, Decimal) or self.mismatch_threshold_pct <= 0:
            got = self.mismatch_threshold_pct
            raise ValueError(f"mismatch threshold must be a positive Decimal percent (5 = 5%), got {got!r}")
        if not isinstance(self.realert_step_pp, Decimal) or self.realert_step_pp <= 0:
            raise ValueError(f"re-alert step must be a positive Decimal (in pp), got {self.realert_step_pp!r}")


@dataclass(frozen=True)
class MasterLegInput:
    """One master leg contributing to a comparison: its signed size, the follower's k for the leg's lifecycle
    (ignored when the leg is flat) and when the master last touched it (epoch ms; None = never seen)."""

    position_idx: PositionIdx
    size: Decimal
    k: Decimal
    last_activity_ms: int | None = None


@dataclass(frozen=True)
class LegComparison:
    """One follower leg against the master leg(s) it copies. ``follower_size`` is signed, in venue units;
    ``qty_step`` is the venue's quantity step for ``follower_symbol``."""

    follower_id: str
    symbol: str  # the master's symbol
    follower_symbol: str
    position_idx: PositionIdx  # the follower leg compared (0 = the one-way/net position)
    master_legs: tuple[MasterLegInput, ...]
    unit_ratio: Decimal
    follower_size: Decimal
    qty_step: Decimal

    @property
    def alert_key(self) -> str:
        return alert_key(self.follower_id, self.symbol, self.position_idx)

    @property
    def expected(self) -> Decimal:
        """The ideal follower size: the sum of every contributing leg's ``size x k x unit_ratio``."""
        return sum((leg.size * leg.k * self.unit_ratio for leg in self.master_legs if leg.size != 0), ZERO)


def alert_key(follower_id: str, symbol: str, position_idx: PositionIdx) -> str:
    """The store key of one leg's alert state (one discrepancy per leg; its kind may change)."""
    return f"audit:{follower_id}:{symbol}:{int(position_idx)}"


@dataclass(frozen=True)
class Discrepancy:
    """A judged difference: ``deviation_pct`` is percent of the expected size (100 for a missing or extra
    position; above 100 when the follower is on the wrong side)."""

    kind: DiscrepancyKind
    expected: Decimal
    actual: Decimal
    deviation_pct: Decimal

    @property
    def wrong_side(self) -> bool:
        return self.expected * self.actual < 0


class Verdict(StrEnum):
    FINE = "fine"
    IN_GRACE = "in_grace"
    DISCREPANCY = "discrepancy"


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    discrepancy: Discrepancy | None = None


def in_grace(legs: Iterable[MasterLegInput], now_ms: int, grace_ms: int) -> bool:
    """Whether any contributing master leg moved within the last ``grace_ms`` (the copy may still be in flight)."""
    return any(leg.last_activity_ms is not None and now_ms - leg.last_activity_ms < grace_ms for leg in legs)


def deviation_pct(expected: Decimal, actual: Decimal) -> Decimal:
    """|actual - expected| as percent of |expected|, to 0.01; 100 when expected is 0 and actual is not."""
    if expected == 0:
        return ZERO if actual == 0 else HUNDRED
    raw = abs(actual - expected) / abs(expected) * HUNDRED
    return raw.quantize(DEVIATION_QUANTUM, rounding=ROUND_HALF_UP)


def classify(expected: Decimal, actual: Decimal, qty_step: Decimal, threshold_pct: Decimal) -> Discrepancy | None:
    """The discrepancy between an ideal ``expected`` and a live ``actual`` size, or None when they agree."""
    if qty_step <= 0:
        raise ValueError(f"qty_step must be positive, got {qty_step!r}")
    if expected == 0:
        if actual == 0:
            return None
        return Discrepancy(DiscrepancyKind.EXTRA_POSITION, expected, actual, HUNDRED)
    if abs(actual - expected) <= qty_step:
        return None  # rounding to the step leaves the follower up to one step off: that is the engine's job done
    deviation = deviation_pct(expected, actual)
    if actual == 0:
        return Discrepancy(DiscrepancyKind.MISSING_POSITION, expected, actual, deviation)
    if deviation > threshold_pct:
        return Discrepancy(DiscrepancyKind.SIZE_MISMATCH, expected, actual, deviation)
    return None


def assess(comparison: LegComparison, now_ms: int, thresholds: AuditThresholds) -> Assessment:
    """Grace first (a moving leg is not judged), then ``classify``."""
    if in_grace(comparison.master_legs, now_ms, thresholds.grace_ms):
        return Assessment(Verdict.IN_GRACE)
    found = classify(
        comparison.expected, comparison.follower_size, comparison.qty_step, thresholds.mismatch_threshold_pct
    )
    if found is None:
        return Assessment(Verdict.FINE)
    return Assessment(Verdict.DISCREPANCY, found)


# ----- deduplication ------------------------------------------------------------------------------------------


class AlertAction(StrEnum):
    ALERT = "alerted"  # new, or its kind changed
    REALERT = "realerted"  # moved by at least the re-alert step since the last alert
    SUPPRESS = "suppressed"  # known and (nearly) steady: nothing sent
    RESOLVE = "resolved"  # it cleared: a "resolved" notice


@dataclass(frozen=True)
class AlertDecision:
    """What to send and what to store. ``action`` None = nothing to say. ``store`` is the state to put (None =
    leave the stored one as it is); ``delete`` removes it."""

    action: AlertAction | None
    store: AlertState | None = None
    delete: bool = False


def decide_alert(
    key: str,
    comparison: LegComparison,
    discrepancy: Discrepancy | None,
    previous: AlertState | None,
    now_ms: int,
    realert_step_pp: Decimal,
) -> AlertDecision:
    """The deduplication rule for one judged leg (never call it for a leg in grace: that leg is not judged)."""
    if discrepancy is None:
        if previous is None:
            return AlertDecision(None)
        # Only a discrepancy someone was told about gets a "resolved"; a silent one just goes.
        action = AlertAction.RESOLVE if previous.last_alert_ms is not None else None
        return AlertDecision(action, delete=True)
    if previous is None or previous.kind != discrepancy.kind.value or previous.last_alerted_deviation_pct is None:
        first_seen = previous.first_seen_ms if previous is not None and previous.kind == discrepancy.kind else now_ms
        state = AlertState(
            key=key,
            kind=discrepancy.kind.value,
            follower_id=comparison.follower_id,
            symbol=comparison.symbol,
            position_idx=comparison.position_idx,
            deviation_pct=discrepancy.deviation_pct,
            first_seen_ms=first_seen,
            last_alert_ms=now_ms,
            last_alerted_deviation_pct=discrepancy.deviation_pct,
        )
        return AlertDecision(AlertAction.ALERT, store=state)
    moved = abs(discrepancy.deviation_pct - previous.last_alerted_deviation_pct)
    if moved >= realert_step_pp:
        state = replace(
            previous,
            deviation_pct=discrepancy.deviation_pct,
            last_alert_ms=now_ms,
            last_alerted_deviation_pct=discrepancy.deviation_pct,
            active=True,
        )
        return AlertDecision(AlertAction.REALERT, store=state)
    if previous.deviation_pct == discrepancy.deviation_pct:
        return AlertDecision(AlertAction.SUPPRESS)  # nothing changed: no write either
    return AlertDecision(AlertAction.SUPPRESS, store=replace(previous, deviation_pct=discrepancy.deviation_pct))


def display_size(size: Decimal) -> str:
    """A size for people: at most 8 decimals (an ideal target of k = 1/6 has 28 digits nobody needs to read)."""
    exponent = size.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        size = size.quantize(DISPLAY_QUANTUM, rounding=ROUND_HALF_UP)
    return decimal_str(size)


def describe(kind: DiscrepancyKind, expected: Decimal, actual: Decimal, deviation: Decimal) -> str:
    """One line for a human: what the follower should hold, what it holds, and by how much it is off."""
    if kind is DiscrepancyKind.MISSING_POSITION:
        return f"expected {display_size(expected)}, follower is flat"
    if kind is DiscrepancyKind.EXTRA_POSITION:
        return f"master is flat, follower holds {display_size(actual)}"
    side = " (wrong side)" if expected * actual < 0 else ""
    holds = f"expected {display_size(expected)}, follower holds {display_size(actual)}"
    return f"{holds}: {decimal_str(deviation)}% off{side}"
